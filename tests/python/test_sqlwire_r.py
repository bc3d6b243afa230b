"""R with RPostgreSQL (Debian r-base-core, r-cran-dbi, r-cran-rpostgresql; .ci/run installs them) against the
wire endpoint: tests/r/rpostgresql.R lists, reads and queries dev and prod with exact values (ints, doubles,
numerics, unicode text, NULL -> NA, dates, timestamps with and without time zone), writes a table in dev
(CREATE TABLE AS, DROP TABLE) that prod refuses, checks errors, and prints "ok"."""

import os
import shutil
import subprocess
from pathlib import Path

from wire_demo import demo_wire  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[2]


def test_rpostgresql(demo_wire):
    rscript = shutil.which("Rscript")
    assert rscript, "Rscript is not installed (Debian: apt-get install r-base-core r-cran-dbi r-cran-rpostgresql; .ci/run installs them)"
    # A non-UTC time zone, so that a timestamptz read as local time (or the reverse) shows; the C locale, as CI has.
    env = dict(os.environ, STRATA_WIRE_HOST=demo_wire.host, STRATA_WIRE_PORT=str(demo_wire.port), TZ="Asia/Kolkata",
               LANG="C", LC_ALL="C")
    r = subprocess.run([rscript, "--vanilla", str(ROOT / "tests" / "r" / "rpostgresql.R")], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "ok", r.stdout + r.stderr
