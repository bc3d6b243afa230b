"""A `strata serve --demo` with its PostgreSQL endpoint on, for the R and ODBC client suites.

dev and prod hold the demo tables (prod through release 1; dev has 2,000 more raw.orders rows), and dev also
holds clean.typed, written through the endpoint itself (CREATE TABLE ... AS), so prod does not have it:

    id  small   big                  dbl     amount          name         day         at_tz (UTC)              at_local                    flag
    1   7       9007199254740992     1.5     12.345          'Zoë ✓ 日本' 2026-01-02  2026-07-01 12:00:00.25  2026-01-02 03:04:05.5       true
    2   NULL in every other column
    3   -32768  -9223372036854775808 -0.125  -0.500          ''           1999-12-31  1999-12-31 23:59:59      1999-12-31 23:59:59.999999  false
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import _binary, temp_dir, _free_port

TYPED_SQL = """CREATE TABLE clean.typed AS SELECT * FROM (VALUES
    (1::INTEGER, 7::SMALLINT, 9007199254740992::BIGINT, 1.5::DOUBLE, 12.345::DECIMAL(10,3), 'Zoë ✓ 日本',
     DATE '2026-01-02', TIMESTAMPTZ '2026-07-01 12:00:00.25+00', TIMESTAMP '2026-01-02 03:04:05.5', TRUE),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, -32768, -9223372036854775808, -0.125, -0.5, '', DATE '1999-12-31', TIMESTAMPTZ '1999-12-31 23:59:59+00',
     TIMESTAMP '1999-12-31 23:59:59.999999', FALSE)
) t(id, small, big, dbl, amount, name, day, at_tz, at_local, flag)"""


class DemoWire:
    """Where the endpoint listens; database = environment (dev, prod)."""

    def __init__(self, host, port):
        self.host, self.port = host, port


@pytest.fixture(scope="session")
def demo_wire():
    tmp = temp_dir("strata-wire-demo-")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    env["STRATA_SQLWIRE_ADDR"] = f"127.0.0.1:{port}"
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [_binary(), "serve", "--demo", "--data-dir", str(tmp / "data"), "--addr", f"127.0.0.1:{_free_port()}"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    import psycopg

    dsn = f"postgresql://analyst@127.0.0.1:{port}/dev"
    deadline = time.time() + 120
    while True:
        try:
            conn = psycopg.connect(dsn, autocommit=True, connect_timeout=2)
            break
        except psycopg.OperationalError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("strata serve --demo did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.2)
    with conn:
        conn.execute(TYPED_SQL)
    yield DemoWire("127.0.0.1", port)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
