"""node-postgres (`pg` from npm, installed by scripts/node-clients, which .ci/run calls) against the wire endpoint:
tests/node/pg_client.js checks exact values, parameters, named prepared statements, uuid/json/arrays, time zones and
errors."""

import os
import shutil
import subprocess
from pathlib import Path

from sqlwire_server import wire  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[2]


def test_node_postgres(wire):
    node = shutil.which("node")
    assert node, "node is not installed (Debian: apt-get install nodejs npm; .ci/run installs it)"
    modules = subprocess.run([str(ROOT / "scripts" / "node-clients")], check=True, capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, NODE_PATH=modules, PGHOST=wire.host, PGPORT=str(wire.port), PGDATABASE="dev",
               PGUSER="node", PGSSLMODE="disable")
    r = subprocess.run([node, str(ROOT / "tests" / "node" / "pg_client.js")], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "ok"
