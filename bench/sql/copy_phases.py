"""COPY BINARY read raw by psycopg 3 from PostgreSQL and from Strata, the sides alternating for --rounds rounds:
the median time of each phase (connect, first row, the stream, close), the bytes received and the client
process's own CPU per read. The same rows, the same wire types (bench.py's tables), so the bytes are the same and
what differs is how each server sends them.

    python bench/sql/copy_phases.py --pg DSN --strata DSN [--rows 1000000] [--rounds 20]

bench/sql/copy_phases.sh starts both servers and calls this.
"""

import argparse
import statistics
import time

import psycopg

import bench


def read(dsn, table):
    c0, t0 = time.process_time(), time.perf_counter()
    with psycopg.connect(dsn) as c:
        t1, first, n = time.perf_counter(), None, 0
        with c.cursor().copy(f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT binary)") as cp:
            for chunk in cp:
                if first is None:
                    first = time.perf_counter()
                n += len(chunk)
        t3 = time.perf_counter()
    t4 = time.perf_counter()
    return {"total": t4 - t0, "connect": t1 - t0, "first row": first - t1, "stream": t3 - first, "close": t4 - t3,
            "client CPU": time.process_time() - c0, "bytes": n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=20)
    o = ap.parse_args()
    bench.load(o.pg, o.strata, o.rows, 10)
    bench.warm(o.pg, False, "SELECT count(*) FROM bench_t")
    print(f"Strata reads the table from {bench.warm(o.strata, True, 'SELECT count(*) FROM clean.bench_t')}.")
    sides = {"PostgreSQL 15": (o.pg, "bench_t"), "Strata": (o.strata, "clean.bench_t")}
    got = {s: [] for s in sides}
    for r in range(o.rounds):
        for s in list(sides) if r % 2 == 0 else list(sides)[::-1]:
            got[s].append(read(*sides[s]))
    keys = list(got["Strata"][0])
    print("| median of %d reads | %s | Strata / PostgreSQL |" % (o.rounds, " | ".join(sides)))
    print("|---|---|---|---|")
    for k in keys:
        med = {s: statistics.median(x[k] for x in got[s]) for s in sides}
        fmt = (lambda v: f"{v:,.0f}") if k == "bytes" else (lambda v: f"{v * 1000:.1f} ms")
        ratio = med["Strata"] / med["PostgreSQL 15"] if med["PostgreSQL 15"] else 0
        print(f"| {k} | {fmt(med['PostgreSQL 15'])} | {fmt(med['Strata'])} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
