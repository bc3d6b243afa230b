"""Clients that read the PostgreSQL catalog before they read data: SQLAlchemy 2 + pandas (select
pg_catalog.version(), to_regtype via psycopg's TypeInfo) and the ADBC postgresql driver (loads pg_type to decode
COPY BINARY; without it every column arrives as opaque bytes). They need the pg_catalog emulation of
sqlwire/catalog*.go."""

import datetime as dt
import math
from decimal import Decimal

from sqlwire_server import wire  # noqa: F401  (the session fixture)
from test_sqlwire_clients import ROWS, TYPED, same


def test_sqlalchemy_pandas_read_sql(wire):
    import pandas as pd
    import sqlalchemy as sa

    eng = sa.create_engine(wire.dsn().replace("postgresql://", "postgresql+psycopg://"))
    df = pd.read_sql(TYPED, eng, coerce_float=False)  # pandas turns Decimal into float unless told not to
    first = [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v  # pandas wraps datetimes in Timestamp
             for v in next(df.astype(object).where(df.notna(), None).itertuples(index=False, name=None))]
    same([tuple(first)], ROWS[:1])
    assert df["name"].tolist()[1:] == [None, ""]
    t = pd.read_sql_table("typed", eng, schema="clean")
    assert sorted(t["id"].tolist()) == [1, 2, 3]
    assert sa.inspect(eng).get_table_names(schema="clean") == ["arrays", "big", "typed"]


def test_polars_adbc(wire):
    import polars as pl

    df = pl.read_database_uri(TYPED, wire.dsn(), engine="adbc")
    assert df["id"].to_list() == [1, 2, 3]
    assert df["name"].to_list() == ["Zoë ✓ 日本", None, ""]
    # The ADBC driver reads numeric as its text in an arrow.opaque "numeric" column (so with PostgreSQL too).
    assert df["amount"].to_list() == ["12.345", None, "-0.500"]
    assert '"type_name": "numeric"' in str(df.schema["amount"])
    assert df["score"][0] == 1.5 and math.isnan(df["score"][2])
    assert df["at_tz"].to_list()[0] == dt.datetime(2026, 7, 1, 12, 0, 0, 250000, dt.timezone.utc)
    # The row of NULLs and the other types, as connectorx reads them.
    assert df["score"][1] is None
    assert df["at_tz"].to_list() == [ROWS[0][4], None, ROWS[2][4]]
    assert df["day"].to_list() == [ROWS[0][5], None, ROWS[2][5]]
    assert df["flag"].to_list() == [True, None, False]
    assert df["at_local"].to_list() == [ROWS[0][7], None, ROWS[2][7]]
