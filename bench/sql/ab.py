"""Two Strata servers side by side on the same rows, read in turn by the bulk clients of bench.py (the order
alternating each round) and by its point queries: on a shared machine, reads of the two taken in the same minutes
are what compares. Prints each read's median and best time per server and the ratio of medians B/A.

    python bench/sql/ab.py DSN_A DSN_B [--rows 1000000] [--rounds 6]

bench/sql/ab.sh starts both servers and calls this.
"""

import argparse
import statistics
import time

import bench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=6)
    o = ap.parse_args()
    dsns = {"A": o.a, "B": o.b}
    for side, dsn in dsns.items():
        with bench.psycopg.connect(dsn, autocommit=True) as c:
            c.execute("DROP TABLE IF EXISTS clean.bench_t")
            c.execute("CREATE TABLE clean.bench_t AS " + bench.DUCK_SELECT.format(n=o.rows))
        print(f"{side} reads the {o.rows:,}-row table from {bench.warm(dsn, True, 'SELECT count(*) FROM clean.bench_t')}")
    t = "clean.bench_t"
    cases = [
        ("psycopg 3 text → pandas", lambda d: bench.psycopg_pandas(d, t, False)),
        ("psycopg 3 binary → pandas", lambda d: bench.psycopg_pandas(d, t, True)),
        ("COPY BINARY raw (psycopg 3)", lambda d: bench.copy_binary(d, t)),
        ("SQLAlchemy read_sql", lambda d: bench.sqlalchemy_read_sql(d, t)),
        ("connectorx → polars", lambda d: bench.polars_engine(d, t, "connectorx")),
        ("ADBC → polars", lambda d: bench.polars_engine(d, t, "adbc")),
    ]
    times = {name: {"A": [], "B": []} for name, _ in cases}
    for r in range(o.rounds):
        for name, make in cases:
            for side in ("A", "B") if r % 2 == 0 else ("B", "A"):
                run = make(dsns[side])
                t0 = time.perf_counter()
                run()
                times[name][side].append(time.perf_counter() - t0)
    print("| read | A median (best) | B median (best) | B / A (medians) |")
    print("|---|---|---|---|")
    for name, _ in cases:
        a, b = times[name]["A"], times[name]["B"]
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {name} | {ma:.3f} s ({min(a):.3f}) | {mb:.3f} s ({min(b):.3f}) | {mb / ma:.2f} |")
    pq = {side: bench.point_queries(dsn, t, o.rows) for side, dsn in dsns.items()}
    print(f"| 1,000 point queries p50 / p99 | {pq['A'][0] * 1000:.2f} / {pq['A'][1] * 1000:.2f} ms | "
          f"{pq['B'][0] * 1000:.2f} / {pq['B'][1] * 1000:.2f} ms | |")


if __name__ == "__main__":
    main()
