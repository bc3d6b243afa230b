"""R against the wire endpoint (Debian r-base-core, r-cran-dbi, r-cran-rpostgresql, r-cran-rodbc,
odbc-postgresql; .ci/run installs them). tests/r/rpostgresql.R lists, reads and queries dev and prod with
RPostgreSQL with exact values (ints, doubles, numerics, unicode text, NULL -> NA, dates, timestamps with and
without time zone), writes a table in dev (CREATE TABLE AS, DROP TABLE) that prod refuses, and checks errors;
tests/r/rodbc.R does the same reads with RODBC through psqlODBC. Each script prints "ok"."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wire_demo import demo_wire  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[2]


def run_r(wire, script, locale):
    rscript = shutil.which("Rscript")
    assert rscript, ("Rscript is not installed (Debian: apt-get install r-base-core r-cran-dbi r-cran-rpostgresql "
                     "r-cran-rodbc; .ci/run installs them)")
    # A non-UTC time zone, so that a timestamptz read as local time (or the reverse) shows.
    env = dict(os.environ, STRATA_WIRE_HOST=wire.host, STRATA_WIRE_PORT=str(wire.port), TZ="Asia/Kolkata",
               LANG=locale, LC_ALL=locale)
    r = subprocess.run([rscript, "--vanilla", str(ROOT / "tests" / "r" / script)], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "ok", r.stdout + r.stderr


def test_rpostgresql(demo_wire):
    run_r(demo_wire, "rpostgresql.R", "C")


# In the C locale psqlODBC asks for client_encoding SQL_ASCII (PostgreSQL then converts nothing).
@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_rodbc(demo_wire, locale):
    run_r(demo_wire, "rodbc.R", locale)
