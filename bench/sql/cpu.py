"""bench/sql's bulk clients against several servers in one run, with each read's wall time, the client's CPU time and
the server's CPU time (its process tree's, from /proc, which the machine's load moves far less than wall times).

    python bench/sql/cpu.py [--rounds 5] [--clients copy,text,binary,read_sql,cx,adbc] [--sequence] \
        NAME=DSN,TABLE,PID ...

Each client runs --rounds rounds; within a round the servers' reads alternate (reversed every other round), as
bench.py's do. With --sequence a round runs every client on one server before the next server (so that, for
example, a COPY read follows an ADBC read on the same server). The data is bench.py's (bench.sh or floor.sh load
it; the servers must be up). Prints best / median wall time and median client and server CPU per client and server.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "floor"))
import bench  # noqa: E402
import floor  # noqa: E402

CLIENTS = {
    "copy": bench.copy_binary,
    "text": lambda d, t: bench.psycopg_pandas(d, t, False),
    "binary": lambda d, t: bench.psycopg_pandas(d, t, True),
    "read_sql": bench.sqlalchemy_read_sql,
    "cx": lambda d, t: bench.polars_engine(d, t, "connectorx"),
    "adbc": lambda d, t: bench.polars_engine(d, t, "adbc"),
}


def timed(fn, pid):
    s0, c0, t0 = floor.tree_cpu(pid), time.process_time(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    time.sleep(0.2)  # an exited PostgreSQL backend's time reaches the postmaster's children's
    return wall, cpu, floor.tree_cpu(pid) - s0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--sequence", action="store_true")
    ap.add_argument("servers", nargs="+", help="NAME=DSN,TABLE,PID")
    a = ap.parse_args()
    servers = {}
    for s in a.servers:
        name, rest = s.split("=", 1)
        dsn, table, pid = rest.rsplit(",", 2)
        servers[name] = (dsn, table, int(pid))
    clients = a.clients.split(",")
    fns = {(c, n): CLIENTS[c](dsn, t) for c in clients for n, (dsn, t, _) in servers.items()}
    res = {k: [] for k in fns}
    order = list(servers)
    rounds = [[(c, n) for n in (order if r % 2 == 0 else order[::-1]) for c in clients] if a.sequence else None
              for r in range(a.rounds)]
    if not a.sequence:
        rounds = [[(c, n) for r in range(a.rounds) for n in (order if r % 2 == 0 else order[::-1])] for c in clients]
    for steps in rounds:
        for c, n in steps:
            res[(c, n)].append(timed(fns[(c, n)], servers[n][2]))
    print("| client | server | wall best / median | client CPU (median) | server CPU (median) |")
    print("|---|---|---|---|---|")
    for (c, n), v in res.items():
        med = lambda i: statistics.median(x[i] for x in v)  # noqa: E731
        print(f"| {c} | {n} | {min(x[0] for x in v):.2f} / {med(0):.2f} s | {med(1):.2f} s | {med(2):.2f} s |", flush=True)


if __name__ == "__main__":
    main()
