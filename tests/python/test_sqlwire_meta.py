"""Metadata clients against Strata's PostgreSQL endpoint: SQLAlchemy 2's inspector and pandas.read_sql_table
over psycopg 3, against a real `strata serve --demo` (dev and prod hold the demo tables; prod through release 1).
Each check is an exact value: what the same client reports for the same table on PostgreSQL 15."""

import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import _binary, temp_dir, _free_port


@pytest.fixture(scope="module")
def pg_url():
    tmp = temp_dir("strata-sqlwire-")
    port, sql_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    env["STRATA_SQLWIRE_ADDR"] = f"127.0.0.1:{sql_port}"
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [_binary(), "serve", "--demo", "--data-dir", str(tmp / "data"), "--addr", f"127.0.0.1:{port}"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"postgresql+psycopg://analyst@127.0.0.1:{sql_port}"
    deadline = time.time() + 120
    while True:
        try:
            with sa.create_engine(url + "/prod").connect() as c:
                c.execute(sa.text("SELECT 1"))
            break
        except sa.exc.OperationalError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("strata serve did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.mark.parametrize("db", ["dev", "prod"])
def test_inspector_schemas_tables_columns(pg_url, db):
    engine = sa.create_engine(f"{pg_url}/{db}")
    insp = sa.inspect(engine)
    assert insp.default_schema_name == "public"
    assert insp.get_schema_names() == ["clean", "datasets", "features", "information_schema", "public", "raw", "strata"]
    assert insp.get_table_names(schema="raw") == ["events", "orders", "users"]
    assert insp.get_table_names(schema="clean") == ["orders"]
    assert insp.get_table_names() == []  # public is empty: tables live in zones
    assert insp.get_view_names(schema="strata") == ["tables", "snapshots", "releases", "pins", "datasets", "features", "job_runs"]
    cols = [(c["name"], repr(c["type"]), c["nullable"], c["default"]) for c in insp.get_columns("orders", schema="raw")]
    assert cols == [
        ("order_id", "BIGINT()", True, None),
        ("user_id", "BIGINT()", True, None),
        ("ordered_at", "TIMESTAMP(timezone=True)", True, None),
        ("status", "TEXT()", True, None),
        ("amount", "DOUBLE_PRECISION(precision=53)", True, None),
        ("items", "INTEGER()", True, None),
    ]
    users = {c["name"]: repr(c["type"]) for c in insp.get_columns("users", schema="raw")}
    assert users == {"user_id": "BIGINT()", "name": "TEXT()", "country": "TEXT()", "signup_date": "DATE()",
                     "premium": "BOOLEAN()"}
    assert insp.get_pk_constraint("orders", schema="raw") == {"name": None, "constrained_columns": []}
    assert insp.get_foreign_keys("orders", schema="raw") == []
    assert insp.get_indexes("orders", schema="raw") == []
    assert insp.has_table("users", schema="raw")
    assert not insp.has_table("nope", schema="raw")
    cols = [(c["name"], repr(c["type"])) for c in insp.get_columns("releases", schema="strata")]
    assert cols[:2] == [("release_id", "BIGINT()"), ("created", "TIMESTAMP(timezone=True)")]


def test_read_sql_table_and_version(pg_url):
    engine = sa.create_engine(f"{pg_url}/prod")
    df = pd.read_sql_table("users", engine, schema="raw")
    assert list(df.columns) == ["user_id", "name", "country", "signup_date", "premium"]
    first = df.sort_values("user_id").iloc[0]
    assert (first["user_id"], first["name"], first["country"], str(first["signup_date"].date()), bool(first["premium"])) == \
        (1, "user_0001", "US", "2025-01-07", False)
    with engine.connect() as c:
        assert engine.dialect.server_version_info[:1] == (15,)
        assert c.execute(sa.text("select pg_catalog.version()")).scalar().startswith("PostgreSQL 15.0 (Strata")
        n = pd.read_sql("select count(*) as n from raw.users", c)["n"][0]
    assert n == len(df)
    # strata.* system tables: the current release pins every demo table.
    rel = pd.read_sql_table("releases", engine, schema="strata")
    assert list(rel["release_id"]) == [1] and list(rel["current"]) == [True]
    tables = pd.read_sql("select zone || '.' || name as t from strata.tables order by 1", engine)
    assert list(tables["t"]) == ["clean.orders", "raw.events", "raw.orders", "raw.users"]


def test_psqlodbc_tables_columns_query(pg_url):
    """psqlODBC 13 (Debian odbc-postgresql) through unixODBC and pyodbc: SQLTables, SQLColumns and a query, with
    the values the same driver reports for the same table on PostgreSQL 15."""
    import pyodbc

    port = pg_url.rsplit(":", 1)[1]
    conn = pyodbc.connect(
        f"DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={port};DATABASE=prod;UID=analyst;SSLmode=disable",
        autocommit=True,
    )
    cur = conn.cursor()
    assert [tuple(r)[:4] for r in cur.tables(schema="raw")] == [
        ("prod", "raw", "events", "TABLE"), ("prod", "raw", "orders", "TABLE"), ("prod", "raw", "users", "TABLE")]
    cols = [(r.column_name, r.type_name, r.data_type, r.column_size, r.ordinal_position)
            for r in cur.columns(table="orders", schema="raw")]
    assert cols == [("order_id", "int8", -5, 19, 1), ("user_id", "int8", -5, 19, 2), ("ordered_at", "timestamptz", 93, 26, 3),
                    ("status", "text", -10, 8190, 4), ("amount", "float8", 6, 17, 5), ("items", "int4", 4, 10, 6)]
    rows = cur.execute("select status, count(*) from raw.orders group by status order by 1").fetchall()
    assert [tuple(r) for r in rows] == [("PAID ", 2588), ("cancelled", 2511), ("paid", 7467), ("refunded", 2458),
                                        ("shipped", 4976)]
    conn.close()
