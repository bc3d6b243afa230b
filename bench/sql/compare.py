"""Two Strata servers (OLD, NEW) and PostgreSQL on bench.py's aggregate and point queries; see compare.sh.

    python bench/sql/compare.py --pg DSN --old DSN --new DSN --old-pid PID --new-pid PID [--rounds 6]
        [--agg-rows 10000000] [--points] [--bulk copy,binary,cx]

Loads are not timed. Each side reads the table once untimed (and the Strata servers until they hold it in
memory, as bench.py does); then every round runs the aggregate once per side, the sides in rotated order. The
servers' CPU per statement is read from /proc/PID/stat around each statement: on a loaded machine it says more
than the wall time.
"""

import argparse
import os
import statistics
import time

import psycopg

import bench as B


def cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
    return 0


def load(sides, pg_select, duck_select, table, key=False):
    for side, (dsn, t, _) in sides.items():
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {t}")
            c.execute(f"CREATE TABLE {t} AS " + (pg_select if side == "postgres" else duck_select))
            if side == "postgres":
                if key:
                    c.execute(f"ALTER TABLE {t} ADD PRIMARY KEY (id)")
                c.execute(f"VACUUM ANALYZE {t}")


def aggregate_rounds(sides, rounds):
    wall = {s: [] for s in sides}
    cpu = {s: [] for s in sides}
    order = list(sides)
    for r in range(rounds):
        for s in order[r % 3:] + order[:r % 3]:
            dsn, t, pid = sides[s]
            with psycopg.connect(dsn) as c:
                c0 = cpu_s(pid) if pid else 0
                t0 = time.perf_counter()
                assert len(c.execute(B.AGG.format(t=t)).fetchall()) == 1000
                wall[s].append(time.perf_counter() - t0)
                cpu[s].append(cpu_s(pid) - c0 if pid else 0)
        print(f"round {r}: " + ", ".join(f"{s} {wall[s][-1]:.3f} s" + (f" ({cpu[s][-1] * 1000:.0f} CPU-ms)" if sides[s][2] else "")
                                         for s in sides) + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    return wall, cpu


def bulk_rounds(sides, clients, rounds):
    """Each client reads the whole 1M-row table from every side in turn (order rotated per round): best / median
    wall and the Strata servers' median CPU per read."""
    import cpu
    for name in clients:
        fn = cpu.CLIENTS[name]
        wall = {s: [] for s in sides}
        scpu = {s: [] for s in sides}
        order = list(sides)
        for r in range(rounds):
            for s in order[r % 3:] + order[:r % 3]:
                dsn, t, pid = sides[s]
                run = fn(dsn, t)
                c0 = cpu_s(pid) if pid else 0
                t0 = time.perf_counter()
                run()
                wall[s].append(time.perf_counter() - t0)
                scpu[s].append(cpu_s(pid) - c0 if pid else 0)
        print(f"bulk {name}: " + ", ".join(
            f"{s} {min(wall[s]):.3f} / {statistics.median(wall[s]):.3f} s" +
            (f" ({statistics.median(scpu[s]) * 1000:.0f} CPU-ms)" if sides[s][2] else "") for s in sides) +
            f"; new ÷ old median wall {statistics.median(wall['new']) / statistics.median(wall['old']):.2f}"
            f", server CPU {statistics.median(scpu['new']) / statistics.median(scpu['old']):.2f}; load {os.getloadavg()[0]:.1f}",
            flush=True)


def main():
    ap = argparse.ArgumentParser()
    for side in ("pg", "old", "new"):
        ap.add_argument("--" + side, required=True)
    ap.add_argument("--old-pid", type=int, required=True)
    ap.add_argument("--new-pid", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--agg-rows", type=int, default=10_000_000)
    ap.add_argument("--points", action="store_true", help="also 1,000 point queries on a 1M-row table, 3 rounds")
    ap.add_argument("--bulk", default="", help="also bulk reads of the 1M-row table by these cpu.py clients "
                    "(copy,text,binary,read_sql,cx,adbc), --rounds rounds each")
    a = ap.parse_args()
    pids = {"old": a.old_pid, "new": a.new_pid}
    sides = {"postgres": (a.pg, "bench_t10", None), "old": (a.old, "clean.bench_t10", a.old_pid),
             "new": (a.new, "clean.bench_t10", a.new_pid)}
    load(sides, B.PG_SELECT.format(n=a.agg_rows), B.DUCK_SELECT.format(n=a.agg_rows), "bench_t10")
    for s, (dsn, t, _) in sides.items():
        read = B.warm(dsn, s != "postgres", B.AGG.format(t=t))
        if read:
            print(f"{s} reads the {a.agg_rows:,}-row table from {read}")
    wall, cpu = aggregate_rounds(sides, a.rounds)
    print(f"| aggregate over {a.agg_rows:,} rows | best wall | median wall | server CPU-ms median | PostgreSQL ÷ side (best / median wall) |")
    print("|---|---|---|---|---|")
    for s in sides:
        pg_ratio = f"{min(wall['postgres']) / min(wall[s]):.2f}× / {statistics.median(wall['postgres']) / statistics.median(wall[s]):.2f}×"
        cpu_ms = f"{statistics.median(cpu[s]) * 1000:.0f}" if sides[s][2] else "n/a"
        print(f"| {s} | {min(wall[s]):.3f} s | {statistics.median(wall[s]):.3f} s | {cpu_ms} | {pg_ratio} |")
    print(f"new ÷ old: best wall {min(wall['new']) / min(wall['old']):.2f}, median wall "
          f"{statistics.median(wall['new']) / statistics.median(wall['old']):.2f}, median server CPU "
          f"{statistics.median(cpu['new']) / statistics.median(cpu['old']):.2f}")
    pts = {s: (dsn, t.replace("bench_t10", "bench_t"), pid) for s, (dsn, t, pid) in sides.items()}
    if a.points or a.bulk:
        load(pts, B.PG_SELECT.format(n=1_000_000), B.DUCK_SELECT.format(n=1_000_000), "bench_t", key=True)
        for s, (dsn, t, _) in pts.items():
            B.warm(dsn, s != "postgres", f"SELECT count(*) FROM {t}")
    if a.points:
        for r in range(3):
            for s in (list(pts) if r % 2 == 0 else list(pts)[::-1]):
                dsn, t, pid = pts[s]
                c0 = cpu_s(pid) if pid else 0
                p50, p99 = B.point_queries(dsn, t, 1_000_000)
                per = f", server {(cpu_s(pid) - c0) / 1020 * 1000:.2f} CPU-ms per query" if pid else ""
                print(f"point queries round {r}, {s}: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms{per}", flush=True)
    if a.bulk:
        bulk_rounds(pts, a.bulk.split(","), a.rounds)
    print(f"peak RSS: old {peak_rss_mib(pids['old'])} MiB, new {peak_rss_mib(pids['new'])} MiB")


if __name__ == "__main__":
    main()
