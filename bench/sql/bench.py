"""Reads the same data from a real PostgreSQL and from Strata's PostgreSQL-wire endpoint, in one run, with the
clients notebooks use, and prints a table with the ratio Strata/PostgreSQL (time; < 1 = Strata faster).

    python bench/sql/bench.py --pg DSN --strata DSN [--rows 1000000] [--agg-rows 10000000] [--runs 2]

bench/sql/bench.sh starts both servers and calls this. Loads are not timed. Each bulk read and the aggregate is
the best of --runs rounds, PostgreSQL's and Strata's runs alternating within each round; the last column pairs
the two runs of each round: the median of the rounds' ratios with its 95% bootstrap interval and the rounds
Strata won, which tells a real difference from the machine's noise better than two best times (use --runs 30 or
more for a narrow interval, and --only to pick cases by a regular expression, e.g. --only 'COPY|ADBC').
Before the timed runs over a table, each side reads it once untimed; Strata's side then runs the query until the
server reports (SHOW strata.hot_tables) that it holds the table in memory, as it does for any table read again
that fits under engine.hot_table_bytes (default 1/8 of RAM) — the copy is made in the background on second use.
"""

import argparse
import json
import random
import re
import statistics
import time

import psycopg

# The same 10 columns on both sides, from the same arithmetic on the row number i, of the same wire types: s is
# an int on both, as the lake has no 16-bit integer (Iceberg's smallest is int: a SMALLINT written to the lake
# reads back as int4), so that both servers send the clients the same bytes to decode (until 2026-12-05 s was
# smallint in PostgreSQL: 2 bytes a row fewer, 1.5% of COPY BINARY's bytes).
PG_SELECT = """SELECT i::bigint AS id, (i * 0.5)::float8 AS a, (i % 1000)::int AS b, (i % 7)::int AS s,
    ((i % 100000) / 100.0)::numeric(12,2) AS amount, 'name ' || (i % 10000) AS name, md5(i::text) AS tag,
    timestamp '2026-01-01' + i * interval '1 second' AS at, (i % 2 = 0) AS flag, (i % 365)::int AS day
    FROM generate_series(0, {n} - 1) AS g(i)"""
DUCK_SELECT = """SELECT i::BIGINT AS id, (i * 0.5)::DOUBLE AS a, (i % 1000)::INTEGER AS b, (i % 7)::INTEGER AS s,
    ((i % 100000) / 100.0)::DECIMAL(12,2) AS amount, 'name ' || (i % 10000)::VARCHAR AS name, md5(i::VARCHAR) AS tag,
    TIMESTAMP '2026-01-01' + i * INTERVAL 1 SECOND AS at, (i % 2 = 0) AS flag, (i % 365)::INTEGER AS day
    FROM range({n}) AS g(i)"""
AGG = "SELECT b, count(*), avg(a), sum(amount), max(name) FROM {t} GROUP BY b ORDER BY b"


def load(pg, strata, rows, agg_rows):
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_t; DROP TABLE IF EXISTS bench_t10")
        c.execute("CREATE TABLE bench_t AS " + PG_SELECT.format(n=rows))
        c.execute("ALTER TABLE bench_t ADD PRIMARY KEY (id)")
        c.execute("CREATE TABLE bench_t10 AS " + PG_SELECT.format(n=agg_rows))
        c.execute("VACUUM ANALYZE bench_t")
        c.execute("VACUUM ANALYZE bench_t10")
    with psycopg.connect(strata, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS clean.bench_t")
        c.execute("DROP TABLE IF EXISTS clean.bench_t10")
        c.execute("CREATE TABLE clean.bench_t AS " + DUCK_SELECT.format(n=rows))
        c.execute("CREATE TABLE clean.bench_t10 AS " + DUCK_SELECT.format(n=agg_rows))


def hot_tables(conn):
    """(loaded, loading) from Strata's SHOW strata.hot_tables."""
    m = re.match(r"(\d+) loaded, (\d+) loading", conn.execute("SHOW strata.hot_tables").fetchone()[0])
    return int(m.group(1)), int(m.group(2))


def warm(dsn, strata, sql, known=""):
    """Runs sql untimed; on Strata, again until the server holds its tables in memory. Returns what the timed
    runs will read ("memory", "Parquet" when the table did not fit, or "" for PostgreSQL). known is what an
    earlier warm-up of the same tables returned: "memory" stays true when no new copy is needed (the server has
    not closed the idle database that holds it)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        if not strata:
            c.execute(sql).fetchall()
            return ""
        before, _ = hot_tables(c)
        for _ in range(4):
            c.execute(sql).fetchall()
            deadline = time.monotonic() + 600
            while True:  # the copy runs in the background after the query; wait for the server to report its end
                loaded, loading = hot_tables(c)
                if loading == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            if loaded > before:
                return "memory"
    return known or "Parquet"


def best(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def paired(times, resamples=2000):
    """The median of the rounds' Strata/PostgreSQL ratios, its 95% bootstrap interval (percentiles of the
    medians of resampled rounds; a fixed seed, so the same times give the same interval) and the rounds Strata
    was faster in, as a table cell."""
    ratios = [s / p for p, s in zip(times["postgres"], times["strata"])]
    if len(ratios) < 2:
        return "n/a"
    rng = random.Random(1)
    meds = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    lo, hi = meds[int(0.025 * resamples)], meds[int(0.975 * resamples) - 1]
    won = sum(r < 1 for r in ratios)
    return f"{statistics.median(ratios):.3f}× [{lo:.3f}, {hi:.3f}], {won}/{len(ratios)}"


def best_interleaved(fns, runs, all_times=None):
    """Best time of each side's fn over runs rounds, the sides alternating within each round (PostgreSQL first in
    even rounds, Strata first in odd ones), so a change in the machine's load falls on both. A side whose fn
    raises is reported as failing, not hidden. all_times, if given, receives every side's times in round
    order."""
    times = {side: [] for side in fns}
    failed = {}
    order = list(fns)
    for r in range(runs):
        for side in (order if r % 2 == 0 else order[::-1]):
            if side in failed:
                continue
            t0 = time.perf_counter()
            try:
                fns[side]()
            except Exception as e:
                failed[side] = "fails: " + type(e).__name__
                continue
            times[side].append(time.perf_counter() - t0)
    if all_times is not None and not failed:
        all_times.update(times)
    return {side: failed.get(side) or min(times[side]) for side in fns}


def psycopg_pandas(dsn, table, binary):
    import pandas as pd

    def run():
        with psycopg.connect(dsn) as c:
            cur = c.cursor(binary=binary)
            cur.execute(f"SELECT * FROM {table}")
            cols = [d.name for d in cur.description]
            df = pd.DataFrame(cur.fetchall(), columns=cols)
            assert len(df) > 0
    return run


def copy_binary(dsn, table):
    def run():
        with psycopg.connect(dsn) as c:
            n = 0
            with c.cursor().copy(f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT binary)") as cp:
                for chunk in cp:
                    n += len(chunk)
            assert n > 0
    return run


def sqlalchemy_read_sql(dsn, table):
    import pandas as pd
    import sqlalchemy as sa

    eng = sa.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))

    def run():
        assert len(pd.read_sql(f"SELECT * FROM {table}", eng)) > 0
    return run


def polars_engine(dsn, table, engine):
    import polars as pl

    def run():
        assert pl.read_database_uri(f"SELECT * FROM {table}", dsn, engine=engine).height > 0
    return run


def aggregate(dsn, table):
    def run():
        with psycopg.connect(dsn) as c:
            assert len(c.execute(AGG.format(t=table)).fetchall()) == 1000
    return run


def point_queries(dsn, table, rows, n=1000):
    lat = []
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as c:
        for k in range(n + 20):
            t0 = time.perf_counter()
            c.execute(f"SELECT * FROM {table} WHERE id = %s", ((k * 7919) % rows,)).fetchone()
            if k >= 20:  # warm-up
                lat.append(time.perf_counter() - t0)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


def connect_first(dsn, n=20):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with psycopg.connect(dsn) as c:
            c.execute("SELECT 1").fetchone()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--agg-rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--only", default="", help="run only the measures whose name matches this regular expression")
    ap.add_argument("--control", action="store_true",
                    help="an A/A control: PostgreSQL on both sides (the column named Strata reads PostgreSQL's table "
                    "too), to show how far the same server's paired ratios stray from 1 on this machine")
    ap.add_argument("--times", default="", help="also write every round's times per measure and side to this JSON file")
    a = ap.parse_args()
    raw = {}
    only = re.compile(a.only, re.IGNORECASE)
    agg_name = f"aggregate over {a.agg_rows:,} rows (GROUP BY, 1,000 groups"
    load(a.pg, a.strata, a.rows, a.agg_rows if only.search(agg_name) else 1)
    sides = {"postgres": (a.pg, "bench_t", "bench_t10"), "strata": (a.strata, "clean.bench_t", "clean.bench_t10")}
    if a.control:
        sides["strata"] = sides["postgres"]
        print("A/A control: PostgreSQL against itself (the Strata column is PostgreSQL too).")
    hot = lambda side: side == "strata" and not a.control  # noqa: E731
    reads = {"t" + side: warm(dsn, hot(side), f"SELECT count(*) FROM {t}") for side, (dsn, t, _) in sides.items()}
    if not a.control:
        print(f"Strata reads the {a.rows:,}-row table from {reads['tstrata']}.")
    cases = [
        ("psycopg 3 text → pandas", lambda d, t: psycopg_pandas(d, t, False)),
        ("psycopg 3 binary → pandas", lambda d, t: psycopg_pandas(d, t, True)),
        ("COPY BINARY raw (psycopg 3)", copy_binary),
        ("SQLAlchemy read_sql", sqlalchemy_read_sql),
        ("connectorx → polars", lambda d, t: polars_engine(d, t, "connectorx")),
        ("ADBC → polars", lambda d, t: polars_engine(d, t, "adbc")),
    ]
    print(f"| measure ({a.rows:,} rows × 10 columns unless said) | PostgreSQL 15 | Strata | Strata / PostgreSQL "
          f"(best) | paired rounds: median ratio [95% interval], Strata faster |")
    print("|---|---|---|---|---|")

    def row(name, pg, st, unit="s", pairs="n/a"):
        fmt = (lambda v: f"{v * 1000:.2f} ms") if unit == "ms" else (lambda v: f"{v:.2f} s")
        ratio = f"{st / pg:.2f}×" if isinstance(pg, float) and isinstance(st, float) else "n/a"
        print(f"| {name} | {fmt(pg) if isinstance(pg, float) else pg} | {fmt(st) if isinstance(st, float) else st} "
              f"| {ratio} | {pairs} |", flush=True)

    for name, make in cases:
        if not only.search(name):
            continue
        times = {}
        res = best_interleaved({side: make(dsn, t) for side, (dsn, t, _) in sides.items()}, a.runs, times)
        row(name, res["postgres"], res["strata"], pairs=paired(times) if times else "n/a")
        raw[name] = times
        if a.times:
            with open(a.times, "w") as f:
                json.dump(raw, f, indent=1)
    if only.search(agg_name):
        for side, (dsn, _, t10) in sides.items():
            reads[side] = warm(dsn, hot(side), AGG.format(t=t10))
        times = {}
        res = best_interleaved({side: aggregate(dsn, t10) for side, (dsn, _, t10) in sides.items()}, a.runs, times)
        row(f"{agg_name}; Strata from {reads['strata']})", res["postgres"], res["strata"],
            pairs=paired(times) if times else "n/a")
    if not only.search("1,000 point queries, connect + first query"):
        return
    pq = {}
    for side, (dsn, t, _) in sides.items():  # the 1M-row table again: its pooled database may have gone idle
        reads[side] = warm(dsn, hot(side), f"SELECT count(*) FROM {t}", reads["t" + side])
        pq[side] = point_queries(dsn, t, a.rows)
    row(f"1,000 point queries, p50 (PostgreSQL: primary key index; Strata from {reads['strata']})", pq["postgres"][0], pq["strata"][0], "ms")
    row("1,000 point queries, p99", pq["postgres"][1], pq["strata"][1], "ms")
    cf = {side: connect_first(dsn) for side, (dsn, _, _) in sides.items()}
    row("connect + first query (median of 20)", cf["postgres"], cf["strata"], "ms")


if __name__ == "__main__":
    main()
