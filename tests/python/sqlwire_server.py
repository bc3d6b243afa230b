"""A `strata serve` with its PostgreSQL endpoint on, and test data written through that endpoint.

Imported by the test_sqlwire_*.py suites (the fixture `wire` is session-scoped). The data is written with
CREATE TABLE ... AS in dev (the wire's own write path), then read back by each real client.
"""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import _binary, temp_dir


# clean.typed: one row of values, one of NULLs, one of edge cases; clean.big: 100,000 rows; clean.arrays: list
# columns with NULL elements, an empty list and a NULL list.
SEED = [
    """CREATE TABLE clean.typed AS SELECT * FROM (VALUES
        (1::BIGINT, 'Zoë ✓ 日本', 12.345::DECIMAL(10,3), 1.5::DOUBLE, TIMESTAMPTZ '2026-07-01 12:00:00.25+00',
         DATE '2026-01-02', TRUE, TIMESTAMP '2026-01-02 03:04:05.5'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, '', -0.5, 'NaN'::DOUBLE, TIMESTAMPTZ '1999-12-31 23:59:59+00', DATE '1999-12-31', FALSE,
         TIMESTAMP '1999-12-31 23:59:59.999999')
    ) t(id, name, amount, score, at_tz, day, flag, at_local)""",
    "CREATE TABLE clean.big AS SELECT i AS id, 'row ' || i::VARCHAR AS label FROM range(100000) t(i)",
    """CREATE TABLE clean.arrays AS SELECT * FROM (VALUES
        (1, [1, NULL, 3]::INTEGER[], [1.5, NULL]::DOUBLE[], ['a b', NULL, 'x"y', '', 'Zoë']::VARCHAR[], [10000000000]::BIGINT[]),
        (2, NULL, []::DOUBLE[], [NULL]::VARCHAR[], NULL)
    ) t(id, ints, floats, texts, bigs)""",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Wire:
    """The endpoint: dsn(db) for libpq-style clients, host/port for the others."""

    def __init__(self, host, port):
        self.host, self.port = host, port

    def dsn(self, db="dev", user="analyst"):
        return f"postgresql://{user}@{self.host}:{self.port}/{db}"


@pytest.fixture(scope="session")
def wire():
    tmp = temp_dir("strata-wire-")
    binary = _binary()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    env["STRATA_SQLWIRE_ADDR"] = f"127.0.0.1:{port}"
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--data-dir", str(tmp / "data"), "--addr", f"127.0.0.1:{_free_port()}"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    import psycopg

    w = Wire("127.0.0.1", port)
    deadline = time.time() + 120
    while True:
        try:
            conn = psycopg.connect(w.dsn(), autocommit=True, connect_timeout=2)
            break
        except psycopg.OperationalError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("strata serve did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.1)
    with conn:
        for sql in SEED:
            conn.execute(sql)
    yield w
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
