"""psqlODBC (Debian odbc-postgresql, the driver behind Tableau's legacy connector, R's odbc and generic ODBC tools)
through unixODBC and pyodbc against the wire endpoint, with a DSN-less connection string naming the driver's file.
SQLTables / SQLColumns, exact values (NULLs, unicode, numerics, timestamps in the session time zone), `?`
parameters, the driver's declare/fetch cursor mode (`cursor with hold`) and its savepoints with autocommit off,
dev vs prod, errors. Data: tests/python/wire_demo.py."""

import datetime as dt
import glob
from decimal import Decimal

import pyodbc
import pytest

from wire_demo import demo_wire  # noqa: F401  (the session fixture)

NAME1 = "Zoë ✓ 日本"
TYPED = "SELECT * FROM clean.typed ORDER BY id"
COLUMNS = ["id", "small", "big", "dbl", "amount", "name", "day", "at_tz", "at_local", "flag"]


def driver() -> str:
    found = sorted(glob.glob("/usr/lib/*/odbc/psqlodbcw.so"))
    assert found, "psqlODBC is not installed (Debian: apt-get install odbc-postgresql unixodbc; .ci/run installs them)"
    return found[0]


def connect(wire, db="dev", autocommit=True, **options):
    parts = [f"Driver={driver()}", f"Server={wire.host}", f"Port={wire.port}", f"Database={db}", "Uid=analyst", "Pwd=",
             "SSLMode=disable"] + [f"{k}={v}" for k, v in options.items()]
    return pyodbc.connect(";".join(parts), autocommit=autocommit, timeout=10)


def rows(cur):
    return [tuple(r) for r in cur.fetchall()]


def test_odbc_tables_and_columns(demo_wire):
    with connect(demo_wire) as dev, connect(demo_wire, "prod") as prod:
        got = rows(dev.cursor().tables(schema="clean"))
        assert got == [("dev", "clean", "orders", "TABLE", ""), ("dev", "clean", "typed", "TABLE", "")]
        got = rows(prod.cursor().tables(schema="%", tableType="TABLE"))
        assert got == [("prod", "clean", "orders", "TABLE", ""), ("prod", "raw", "events", "TABLE", ""),
                       ("prod", "raw", "orders", "TABLE", ""), ("prod", "raw", "users", "TABLE", "")]
        assert rows(prod.cursor().tables(schema="clean", table="typed")) == [], "clean.typed was written in dev only"
        assert ("dev", "strata", "releases", "VIEW", "") in rows(dev.cursor().tables(schema="strata"))

        cols = [(c.column_name, c.type_name, c.data_type, c.column_size, c.decimal_digits, c.nullable, c.ordinal_position)
                for c in dev.cursor().columns(schema="clean", table="typed")]
        assert cols == [
            ("id", "int4", pyodbc.SQL_INTEGER, 10, 0, 1, 1),
            ("small", "int4", pyodbc.SQL_INTEGER, 10, 0, 1, 2),  # Iceberg has no int2: stored as int
            ("big", "int8", pyodbc.SQL_BIGINT, 19, 0, 1, 3),
            ("dbl", "float8", pyodbc.SQL_FLOAT, 17, 0, 1, 4),
            ("amount", "numeric", pyodbc.SQL_NUMERIC, 10, 3, 1, 5),
            ("name", "text", pyodbc.SQL_WLONGVARCHAR, 8190, None, 1, 6),
            ("day", "date", pyodbc.SQL_TYPE_DATE, 10, None, 1, 7),
            ("at_tz", "timestamptz", pyodbc.SQL_TYPE_TIMESTAMP, 26, 6, 1, 8),
            ("at_local", "timestamp", pyodbc.SQL_TYPE_TIMESTAMP, 26, 6, 1, 9),
            ("flag", "bool", pyodbc.SQL_VARCHAR, 5, 0, 1, 10),  # psqlODBC's default BoolsAsChar=1
        ]
        users = [c.column_name for c in prod.cursor().columns(schema="raw", table="users")]
        assert users == ["user_id", "name", "country", "signup_date", "premium"]


def test_odbc_exact_values(demo_wire):
    with connect(demo_wire) as conn:
        cur = conn.cursor().execute(TYPED)
        assert [(d[0], d[1]) for d in cur.description] == [
            ("id", int), ("small", int), ("big", int), ("dbl", float), ("amount", Decimal), ("name", str),
            ("day", dt.date), ("at_tz", dt.datetime), ("at_local", dt.datetime), ("flag", str)]
        assert cur.description[4][4:6] == (10, 3), "numeric(10,3): precision and scale"
        assert rows(cur) == [
            (1, 7, 9007199254740992, 1.5, Decimal("12.345"), NAME1, dt.date(2026, 1, 2),
             dt.datetime(2026, 7, 1, 12, 0, 0, 250000), dt.datetime(2026, 1, 2, 3, 4, 5, 500000), "1"),
            (2, None, None, None, None, None, None, None, None, None),
            (3, -32768, -9223372036854775808, -0.125, Decimal("-0.500"), "", dt.date(1999, 12, 31),
             dt.datetime(1999, 12, 31, 23, 59, 59), dt.datetime(1999, 12, 31, 23, 59, 59, 999999), "0"),
        ]
        got = rows(conn.cursor().execute(
            "SELECT 12345678901234.5678::DECIMAL(18,4), -0.000001::DECIMAL(38,6), 'ü' || name, NULL::VARCHAR "
            "FROM clean.typed WHERE id = 1"))
        assert got == [(Decimal("12345678901234.5678"), Decimal("-0.000001"), "ü" + NAME1, None)]
    with connect(demo_wire, BoolsAsChar=0) as conn:
        assert rows(conn.cursor().execute("SELECT id, flag FROM clean.typed ORDER BY id")) == [
            (1, True), (2, None), (3, False)]


def test_odbc_session_time_zone(demo_wire):
    # timestamptz arrives in the session's TimeZone (ODBC timestamps carry no offset), as from PostgreSQL.
    with connect(demo_wire, ConnSettings="{SET TimeZone='Asia/Kolkata'}") as conn:
        assert rows(conn.cursor().execute("SHOW TimeZone")) == [("Asia/Kolkata",)]
        assert rows(conn.cursor().execute("SELECT at_tz, at_local FROM clean.typed ORDER BY id")) == [
            (dt.datetime(2026, 7, 1, 17, 30, 0, 250000), dt.datetime(2026, 1, 2, 3, 4, 5, 500000)),
            (None, None),
            (dt.datetime(2000, 1, 1, 5, 29, 59), dt.datetime(1999, 12, 31, 23, 59, 59, 999999)),
        ]
        conn.cursor().execute("SET TIME ZONE 'America/St_Johns'")
        assert rows(conn.cursor().execute("SELECT at_tz FROM clean.typed WHERE id = 1")) == [
            (dt.datetime(2026, 7, 1, 9, 30, 0, 250000),)]


@pytest.mark.parametrize("where, value, want", [
    ("id = ?", 3, 3),
    ("big = ?", -9223372036854775808, 3),
    ("dbl = ?", -0.125, 3),
    ("amount = ?", Decimal("12.345"), 1),
    ("name = ?", NAME1, 1),
    ("name = ?", "", 3),
    ("day = ?", dt.date(1999, 12, 31), 3),
    ("at_local = ?", dt.datetime(2026, 1, 2, 3, 4, 5, 500000), 1),
    ("flag = ?", False, 3),
    ("coalesce(name, ?) = 'none'", "none", 2),
])
def test_odbc_parameters(demo_wire, where, value, want):
    with connect(demo_wire) as conn:
        cur = conn.cursor()
        # The same statement handle twice: psqlODBC re-prepares its plan name after DEALLOCATE.
        assert rows(cur.execute(f"SELECT id FROM clean.typed WHERE {where}", value)) == [(want,)]
        assert rows(cur.execute("SELECT count(*) FROM raw.orders WHERE order_id <= ?", 20000)) == [(20000,)]
        assert rows(cur.execute("SELECT ? IS NULL, ?::VARCHAR || ?", None, "Zoë", "!")) == [("1", "Zoë!")]  # bool as char: BoolsAsChar=1


def test_odbc_declare_fetch_cursor_and_savepoints(demo_wire):
    # UseDeclareFetch=1: BEGIN; declare "SQL_CUR…" cursor with hold for …; fetch 1000 in "SQL_CUR…"; with
    # autocommit off every statement is wrapped in SAVEPOINT _EXEC_SVP_… and a failure is rolled back to it.
    for db, n in (("dev", 22000), ("prod", 20000)):
        with connect(demo_wire, db, autocommit=False, UseDeclareFetch=1, Fetch=1000) as conn:
            cur = conn.cursor().execute("SELECT order_id FROM raw.orders ORDER BY order_id")
            count = total = 0
            for (order_id,) in cur:
                count, total = count + 1, total + order_id
                assert order_id == count
            assert (count, total) == (n, n * (n + 1) // 2)
            with pytest.raises(pyodbc.ProgrammingError) as err:
                conn.cursor().execute("SELECT * FROM raw.nope")
            assert err.value.args[0] == "42P01"
            conn.rollback()
            assert rows(conn.cursor().execute("SELECT count(*) FROM raw.users WHERE user_id <= ?", 10)) == [(10,)]
            conn.commit()


@pytest.mark.parametrize("autocommit", [True, False])
def test_odbc_declare_fetch_10k_rows(demo_wire, autocommit):
    # UseDeclareFetch=1 with small pages (Fetch=100): a 10,000-row result comes in 100 FETCHes, in both
    # autocommit modes, with a parameter, and a cursor closed early leaves the session usable.
    with connect(demo_wire, autocommit=autocommit, UseDeclareFetch=1, Fetch=100) as conn:
        cur = conn.cursor().execute(
            "SELECT order_id, 'o' || order_id::VARCHAR AS label FROM raw.orders WHERE order_id <= ? ORDER BY order_id", 10000)
        got = cur.fetchall()
        assert len(got) == 10000
        assert all(r[0] == i + 1 and r[1] == f"o{i + 1}" for i, r in enumerate(got))
        cur = conn.cursor().execute("SELECT order_id FROM raw.orders ORDER BY order_id")
        assert [r[0] for r in cur.fetchmany(150)] == list(range(1, 151))
        cur.close()
        assert rows(conn.cursor().execute("SELECT count(*) FROM raw.orders")) == [(22000,)]


def test_odbc_errors(demo_wire):
    with connect(demo_wire) as conn:
        with pytest.raises(pyodbc.ProgrammingError) as err:
            conn.cursor().execute("SELECT * FROM raw.nope")
        assert err.value.args[0] == "42P01"
        assert 'table "raw.nope" in environment "dev": not found' in err.value.args[1]
        with pytest.raises(pyodbc.Error) as err:
            conn.cursor().execute("SELECT nope FROM clean.typed")
        assert err.value.args[0] == "42703", err.value.args
        assert rows(conn.cursor().execute("SELECT 1")) == [(1,)], "the connection still works"
    with pytest.raises(pyodbc.Error) as err:
        connect(demo_wire, "nope")
    assert 'database "nope" does not exist' in str(err.value)
