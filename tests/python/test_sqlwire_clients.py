"""Real PostgreSQL clients against Strata's wire endpoint: psycopg2 (with a named cursor), psycopg 3 (extended
protocol, prepared statements, binary cursor, server-side cursor, COPY BINARY), asyncpg, polars with
connectorx. Each compares exact values: NULLs, time zones, numerics, unicode."""

import asyncio
import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest

from sqlwire_server import wire  # noqa: F401  (the session fixture)

UTC = dt.timezone.utc
TYPED = "SELECT id, name, amount, score, at_tz, day, flag, at_local FROM clean.typed ORDER BY id"
ROWS = [
    (1, "Zoë ✓ 日本", Decimal("12.345"), 1.5, dt.datetime(2026, 7, 1, 12, 0, 0, 250000, UTC), dt.date(2026, 1, 2), True,
     dt.datetime(2026, 1, 2, 3, 4, 5, 500000)),
    (2, None, None, None, None, None, None, None),
    (3, "", Decimal("-0.500"), math.nan, dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), dt.date(1999, 12, 31), False,
     dt.datetime(1999, 12, 31, 23, 59, 59, 999999)),
]


def same(got, want=ROWS):
    """Rows equal, NaN equal to NaN, and the exact Python types (Decimal stays Decimal)."""
    assert len(got) == len(want), got
    for g, w in zip(got, want):
        assert len(g) == len(w), g
        for a, b in zip(g, w):
            if isinstance(b, float) and math.isnan(b):
                assert isinstance(a, float) and math.isnan(a), (g, w)
            else:
                assert a == b and type(a) is type(b), (a, b, g)


def test_psycopg2_values_and_named_cursor(wire):
    import psycopg2

    conn = psycopg2.connect(wire.dsn())
    try:
        cur = conn.cursor()
        cur.execute(TYPED)
        same(cur.fetchall())
        cur.execute("SELECT label FROM clean.big WHERE id = %s", (41,))
        assert cur.fetchone() == ("row 41",)

        named = conn.cursor(name="all_rows")  # DECLARE ... CURSOR WITHOUT HOLD FOR ..., then FETCH FORWARD
        named.itersize = 5000
        named.execute("SELECT id, label FROM clean.big ORDER BY id")
        assert named.fetchmany(3) == [(0, "row 0"), (1, "row 1"), (2, "row 2")]
        count, total = 3, 3
        for row_id, label in named:
            assert label == f"row {row_id}"
            count, total = count + 1, total + row_id
        assert count == 100000 and total == sum(range(100000)) + 3 - 3
        named.close()
        conn.commit()

        held = conn.cursor(name="held", withhold=True)
        held.execute("SELECT id FROM clean.big WHERE id < 10 ORDER BY id")
        conn.commit()  # WITH HOLD survives the transaction
        assert [r[0] for r in held.fetchall()] == list(range(10))
        held.close()
    finally:
        conn.close()


def test_psycopg3_extended_protocol_and_prepare(wire):
    import psycopg

    with psycopg.connect(wire.dsn(), autocommit=True, prepare_threshold=0) as conn:
        same(conn.execute(TYPED).fetchall())
        for i in (1, 3, 1):  # prepared on the server after the first run (threshold 0), then reused
            row = conn.execute("SELECT name, amount FROM clean.typed WHERE id = %s AND flag = %s", (i, i == 1)).fetchone()
            assert row == ((ROWS[0][1], ROWS[0][2]) if i == 1 else (ROWS[2][1], ROWS[2][2]))
        assert conn.execute("SELECT %s::DOUBLE * 2, %s || '!'", (1.25, "Zoë")).fetchone() == (2.5, "Zoë!")
        assert conn.execute("SELECT count(*) FROM clean.typed WHERE name IS NULL").fetchone() == (1,)


def test_psycopg3_binary_cursor_types(wire):
    import psycopg

    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        cur = conn.cursor(binary=True)
        same(cur.execute(TYPED).fetchall())
        cur.execute(
            "SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u, '{\"a\": [1, null], \"b\": \"ü\"}'::JSON AS j, "
            "[1, NULL, -3]::INTEGER[] AS ints, ['x', NULL, 'y z'] AS texts, INTERVAL '1 day 02:03:04.5' AS iv, "
            "TIME '10:11:12.25' AS t, 170141183460469231731687303715884105727::HUGEINT AS huge, "
            "{'k': 1, 'v': 'ß'} AS st, '\\xDE\\xAD'::BLOB AS b"
        )
        row = cur.fetchone()
        assert row[0] == uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
        assert row[1] == {"a": [1, None], "b": "ü"}
        assert row[2] == [1, None, -3]
        assert row[3] == ["x", None, "y z"]
        assert row[4] == dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000)
        assert row[5] == dt.time(10, 11, 12, 250000)
        assert row[6] == Decimal("170141183460469231731687303715884105727")
        assert row[7] == {"k": 1, "v": "ß"}
        assert row[8] == b"\xde\xad"


def test_psycopg3_server_cursor_and_copy_binary(wire):
    import psycopg

    with psycopg.connect(wire.dsn()) as conn:
        with conn.cursor(name="srv") as cur:
            cur.itersize = 4000
            cur.execute("SELECT id, label FROM clean.big ORDER BY id")
            n = 0
            for row_id, label in cur:
                assert label == f"row {row_id}" and row_id == n
                n += 1
            assert n == 100000
        with conn.cursor(name="srv_params") as cur:  # DECLARE bound with parameters (extended protocol)
            cur.execute("SELECT id FROM clean.big WHERE id >= %s AND label <> %s ORDER BY id", (99990, "row 99995"))
            assert [r[0] for r in cur.fetchall()] == [i for i in range(99990, 100000) if i != 99995]
        conn.commit()
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id, name, amount, at_tz, day FROM clean.typed ORDER BY id) TO STDOUT (FORMAT binary)") as cp:
                cp.set_types(["int8", "text", "numeric", "timestamptz", "date"])
                rows = list(cp.rows())
        assert rows == [tuple(r[i] for i in (0, 1, 2, 4, 5)) for r in ROWS]
        with conn.cursor() as cur:
            with cur.copy("COPY clean.typed (id, name) TO STDOUT WITH (FORMAT csv, HEADER)") as cp:
                text = b"".join(bytes(b) for b in cp).decode()
        lines = text.splitlines()
        assert lines[0] == "id,name"
        assert sorted(lines[1:]) == ['1,Zoë ✓ 日本', '2,', '3,""']


def test_psycopg3_timezone_setting(wire):
    import psycopg

    with psycopg.connect(wire.dsn(), autocommit=True, options="-c TimeZone=Asia/Kolkata") as conn:
        assert conn.info.parameter_status("TimeZone") == "Asia/Kolkata"
        got = conn.execute("SELECT at_tz FROM clean.typed WHERE id = 1").fetchone()[0]
        assert got == ROWS[0][4] and got.utcoffset() == dt.timedelta(hours=5, minutes=30)
        conn.execute("SET TIME ZONE 'America/St_Johns'")
        got = conn.execute("SELECT at_tz FROM clean.typed WHERE id = 3").fetchone()[0]
        assert got == ROWS[2][4] and got.utcoffset() == dt.timedelta(hours=-3, minutes=-30)


def test_asyncpg(wire):
    import asyncpg

    async def run():
        conn = await asyncpg.connect(wire.dsn())
        try:
            rows = await conn.fetch(TYPED)
            same([tuple(r) for r in rows])
            stmt = await conn.prepare("SELECT name, amount, at_tz FROM clean.typed WHERE id = $1")
            assert [p.name for p in stmt.get_parameters()] == ["int8"], "the parameter type DuckDB infers"
            assert tuple(await stmt.fetchrow(1)) == (ROWS[0][1], ROWS[0][2], ROWS[0][4])
            assert tuple(await stmt.fetchrow(2)) == (None, None, None)
            u = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
            assert await conn.fetchval("SELECT $1::UUID", u) == u
            assert await conn.fetchval("SELECT '{\"a\": 1}'::JSON") == '{"a": 1}'
            assert await conn.fetchval("SELECT $1::DECIMAL(12,4) * 2", Decimal("1.0625")) == Decimal("2.1250")
            assert await conn.fetchval("SELECT count(*) FROM clean.big WHERE id >= $1", 99990) == 10
            async with conn.transaction():
                n = 0
                async for rec in conn.cursor("SELECT id FROM clean.big ORDER BY id", prefetch=1000):
                    assert rec["id"] == n
                    n += 1
                assert n == 100000
        finally:
            await conn.close()

    asyncio.run(run())


def test_asyncpg_arrays(wire):
    """asyncpg decodes only text[] and oid[] without asking: for int4[], float8[], int8[] it runs its type
    introspection query, whose own columns must then be types it knows (attrtypoids as oid[])."""
    import asyncpg

    async def run():
        conn = await asyncpg.connect(wire.dsn())
        try:
            rows = await conn.fetch("SELECT id, ints, floats, texts, bigs FROM clean.arrays ORDER BY id")
            assert [tuple(r) for r in rows] == [
                (1, [1, None, 3], [1.5, None], ["a b", None, 'x"y', "", "Zoë"], [10000000000]),
                (2, None, [], [None], None),
            ]
            stmt = await conn.prepare("SELECT ints FROM clean.arrays WHERE id = $1")
            assert [a.name for a in stmt.get_attributes()] == ["ints"]
            assert stmt.get_attributes()[0].type.oid == 1007  # int4[]
            assert await stmt.fetchval(1) == [1, None, 3]
            # arrays as parameters, sent in binary and read back
            assert await conn.fetchval("SELECT $1::int4[]", [1, None, 3]) == [1, None, 3]
            assert await conn.fetchval("SELECT $1::text[]", ["a b", None, 'x"y', ""]) == ["a b", None, 'x"y', ""]
            assert await conn.fetchval("SELECT list_sum($1::float8[])", [1.5, 2.0]) == 3.5
        finally:
            await conn.close()

    asyncio.run(run())


def test_timetz_keeps_its_offset(wire):
    """DuckDB's Arrow output drops a timetz's offset; text and binary results must keep it."""
    import psycopg

    def tz(h, m=0, s=0):
        return dt.timezone(dt.timedelta(hours=h, minutes=m, seconds=s))

    want = (dt.time(12, 0, 0, 500000, tzinfo=tz(5, 30)), dt.time(12, 0, tzinfo=tz(-3)), dt.time(1, 2, 3),
            dt.time(23, 59, 59, 123456, tzinfo=tz(5, 30, 15)), None)
    sql = ("SELECT TIMETZ '12:00:00.5+05:30' AS a, TIMETZ '12:00:00-03' AS b, TIME '01:02:03' AS c, "
           "TIMETZ '23:59:59.123456+05:30:15' AS d, NULL::TIMETZ AS e")
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        for binary in (False, True):
            cur = conn.execute(sql, binary=binary)
            assert [c.type_code for c in cur.description] == [1266, 1266, 1083, 1266, 1266]
            assert cur.fetchone() == want, binary
        assert conn.execute("SELECT %s::TIMETZ", (dt.time(10, 0, tzinfo=tz(2)),)).fetchone() == (dt.time(10, 0, tzinfo=tz(2)),)
        # the text form is PostgreSQL's
        with conn.cursor() as cur, cur.copy("COPY (SELECT TIMETZ '12:00:00-03' AS t, TIMETZ '01:00:00.25+05:30') TO STDOUT") as cp:
            assert b"".join(bytes(d) for d in cp) == b"12:00:00-03\t01:00:00.25+05:30\n"


def test_timetz_lists_keep_their_offset(wire):
    """Lists of timetz are timetz[] with every element's offset, in text and binary."""
    import psycopg

    def tz(h, m=0):
        return dt.timezone(dt.timedelta(hours=h, minutes=m))

    want = ([dt.time(12, 0, 0, 500000, tzinfo=tz(5, 30)), None, dt.time(12, 0, tzinfo=tz(-3))], None, [])
    sql = ("SELECT [TIMETZ '12:00:00.5+05:30', NULL, TIMETZ '12:00:00-03'] AS a, CAST(NULL AS TIMETZ[]) AS b, "
           "CAST([] AS TIMETZ[]) AS c")
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        for binary in (False, True):
            cur = conn.execute(sql, binary=binary)
            assert [c.type_code for c in cur.description] == [1270, 1270, 1270]
            assert cur.fetchone() == want, binary


def test_polars_connectorx(wire):
    import polars as pl

    df = pl.read_database_uri(TYPED, wire.dsn(), engine="connectorx")
    assert df["id"].to_list() == [1, 2, 3]
    assert df["name"].to_list() == ["Zoë ✓ 日本", None, ""]
    assert df["amount"].to_list() == [Decimal("12.345"), None, Decimal("-0.5")]
    assert df["score"][0] == 1.5 and df["score"][1] is None and math.isnan(df["score"][2])
    assert df["at_tz"].to_list() == [ROWS[0][4], None, ROWS[2][4]]
    assert df["day"].to_list() == [ROWS[0][5], None, ROWS[2][5]]
    assert df["flag"].to_list() == [True, None, False]
    assert df["at_local"].to_list() == [ROWS[0][7], None, ROWS[2][7]]
    big = pl.read_database_uri("SELECT id, label FROM clean.big", wire.dsn(), engine="connectorx")
    assert big.height == 100000 and big["id"].sum() == sum(range(100000))
