"""The client-decode floor: each bulk client of bench/sql timed against a server that only replays recorded
bytes (bench/sql/floor/main.go), next to the same client against PostgreSQL and Strata, in one run.

    python bench/sql/floor/floor.py --pg DSN --strata DSN --floor BIN --work DIR [--rows 1000000] [--runs 3]

bench/sql/floor/floor.sh starts both servers, builds the replay server and calls this. For each side, every
client runs once through `floor record` (which stores the side's exact answers), then best-of --runs against
`floor replay` of those bytes (the floor: no query, no encoding, a file copied to the socket) and against
the live side, the four interleaved run by run. The last column is the client process's own CPU time
(process_time, all its threads) against the replays: what decoding costs the client, whatever the load. Strata / floor is what Strata's query and encoding cost on top of what the client must do.
With --pg-pid and --strata-pid (floor.sh passes the postmaster's and `strata serve`'s), the last column is each
server's own CPU time per live read (its process tree's, including exited PostgreSQL backends): what answering
costs the server, also whatever the load.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench  # noqa: E402  (bench/sql/bench.py: the data and the clients)

CLIENTS = [
    ("COPY BINARY raw (psycopg 3)", bench.copy_binary),
    ("psycopg 3 text → pandas", lambda d, t: bench.psycopg_pandas(d, t, False)),
    ("psycopg 3 binary → pandas", lambda d, t: bench.psycopg_pandas(d, t, True)),
    ("SQLAlchemy read_sql", bench.sqlalchemy_read_sql),
    ("connectorx → polars", lambda d, t: bench.polars_engine(d, t, "connectorx")),
    ("ADBC → polars", lambda d, t: bench.polars_engine(d, t, "adbc")),
]


def via(dsn, addr):
    """dsn with its host:port replaced by addr and TLS off (the recorder proxies plain bytes)."""
    u = urlsplit(dsn)
    user = u.netloc.split("@")[0] + "@" if "@" in u.netloc else ""
    return urlunsplit((u.scheme, user + addr, u.path, "sslmode=disable", ""))


def tree_cpu(root):
    """CPU seconds used by process root and its descendants, including the children they reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    stats, kids = {}, {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                st = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(p)] = st
            kids.setdefault(int(st[1]), []).append(int(p))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += sum(int(v) for v in stats[pid][11:15]) / tick  # utime, stime, cutime, cstime
            todo += kids.get(pid, [])
    return total


def start(floor, mode, d, upstream=None):
    args = [floor, mode, "-listen", "127.0.0.1:0", "-dir", str(d)] + (["-upstream", upstream] if upstream else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    return p, p.stdout.readline().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg-pid", type=int, help="the PostgreSQL postmaster, to count the server's CPU time")
    ap.add_argument("--strata-pid", type=int, help="strata serve, to count the server's CPU time")
    a = ap.parse_args()
    pids = {"postgres": a.pg_pid, "strata": a.strata_pid}
    bench.load(a.pg, a.strata, a.rows, 1)
    # Strata serves a table read again from memory (bench.warm): record and time that, as bench.py does.
    print(f"Strata reads the table from {bench.warm(a.strata, True, 'SELECT count(*) FROM clean.bench_t')}.")
    sides = {"postgres": (a.pg, "bench_t"), "strata": (a.strata, "clean.bench_t")}
    procs, targets = [], {}
    try:
        for side, (dsn, table) in sides.items():
            d = Path(a.work) / side
            d.mkdir(parents=True, exist_ok=True)
            upstream = urlsplit(dsn).netloc.split("@")[-1]
            rec, addr = start(a.floor, "record", d, upstream)
            try:
                for _, make in CLIENTS:
                    make(via(dsn, addr), table)()
            finally:
                rec.kill()
                rec.wait()
            rep, addr = start(a.floor, "replay", d)
            procs.append(rep)
            targets[(side, "floor")] = (via(dsn, addr), table)
            targets[(side, "live")] = (via(dsn, upstream), table)
        # Interleaved, so that the load of the shared machine falls on all four alike: best of --runs each.
        res = {}
        for _ in range(a.runs):
            for name, make in CLIENTS:
                for (side, kind), (dsn, table) in targets.items():
                    pid = pids[side] if kind == "live" else None
                    s0 = tree_cpu(pid) if pid else 0
                    c0 = time.process_time()
                    t = bench.best(make(dsn, table), 1)
                    c = time.process_time() - c0
                    if pid:
                        time.sleep(0.2)  # the backend's exit reaches the postmaster's children's time
                        sc = tree_cpu(pid) - s0
                        res[(name, side, "server")] = min(sc, res.get((name, side, "server"), sc))
                    res[(name, side, kind)] = min(t, res.get((name, side, kind), t))
                    res[(name, side, kind, "cpu")] = min(c, res.get((name, side, kind, "cpu"), c))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    size = sum(f.stat().st_size for f in (Path(a.work) / "strata").iterdir())
    print(f"{a.rows:,} rows × 10 columns, best of {a.runs}; recorded answers of Strata: {size / 1e6:.0f} MB")
    print("| client | floor (replayed Strata bytes) | Strata | Strata / floor | floor (replayed PostgreSQL bytes) "
          "| PostgreSQL 15 | PostgreSQL / floor | client CPU on Strata's / PostgreSQL's bytes | server CPU Strata / PostgreSQL |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, _ in CLIENTS:
        fs, s = res[(name, "strata", "floor")], res[(name, "strata", "live")]
        fp, p = res[(name, "postgres", "floor")], res[(name, "postgres", "live")]
        cs, cp = res[(name, "strata", "floor", "cpu")], res[(name, "postgres", "floor", "cpu")]
        ss, sp = res.get((name, "strata", "server")), res.get((name, "postgres", "server"))
        server = f"{ss:.2f} s / {sp:.2f} s" if ss is not None and sp is not None else "n/a"
        print(f"| {name} | {fs:.2f} s | {s:.2f} s | {s / fs:.2f}× | {fp:.2f} s | {p:.2f} s | {p / fp:.2f}× "
              f"| {cs:.2f} s / {cp:.2f} s | {server} |", flush=True)


if __name__ == "__main__":
    main()
