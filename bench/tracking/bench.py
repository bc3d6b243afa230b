#!/usr/bin/env python3
"""Tracking benchmark: the same HTTP workload against a real `mlflow server` (SQLite backend, --serve-artifacts,
its default 4 uvicorn workers) and against `strata serve`, in one run, on 127.0.0.1 only.

Workload (issue #4):
  1. log_batch of 1000 metrics x N calls                    -> metrics/s
  2. 2000 single log_metric calls from 1 and from 8 threads -> calls/s
  3. R runs with 5 params + 5 metrics each, then search_runs with a metric+param filter ordered by a metric
     (p50/p95 over S searches)
  4. get_metric_history of a 100k-point metric              -> seconds
  5. (Strata) the same search after growing the experiment to --big-runs runs: flat latency as runs grow

Usage: python bench/tracking/bench.py [--strata-bin PATH] [--mlflow PATH] [--quick]
Prints a Markdown table with the ratio Strata/MLflow for each line.
"""

import argparse
import http.client
import json as _json
import urllib.parse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url, proc, what, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with {proc.returncode}")
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"{what} did not come up within {timeout}s")


_local = threading.local()


def session():
    if not hasattr(_local, "s"):
        _local.s = requests.Session()
    return _local.s


class API:
    """The workload's HTTP calls. client="raw" (default) is a lean load generator: one keep-alive http.client
    connection per thread, so the client's own CPU, which shares the machine's cores with the server, stays
    small. client="requests" sends the same calls through requests.Session, the HTTP stack of the mlflow client.
    Both servers always get the same client in one run."""

    def __init__(self, url, client="raw"):
        self.url = url + "/api/2.0/mlflow/"
        self.client = client
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port

    def _conn(self):
        c = getattr(_local, "conn", None)
        if c is None or getattr(_local, "conn_for", None) != (self.host, self.port):
            c = _local.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            _local.conn_for = (self.host, self.port)
        return c

    def call(self, method, path, json=None, params=None):
        if self.client == "requests":
            r = session().request(method, self.url + path, timeout=600, json=json, params=params)
            if r.status_code != 200:
                raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
            return r.json()
        target = "/api/2.0/mlflow/" + path
        if params:
            target += "?" + urllib.parse.urlencode(params)
        body = None if json is None else _json.dumps(json).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (0, 1):  # one retry on a connection the server closed while idle
            c = self._conn()
            try:
                c.request(method, target, body=body, headers=headers)
                resp = c.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                c.close()
                _local.conn = None
                if attempt:
                    raise
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return _json.loads(data)

    def experiment(self, name):
        return self.call("POST", "experiments/create", json={"name": name})["experiment_id"]

    def run(self, exp):
        return self.call("POST", "runs/create", json={"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]["run_id"]


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_log_batch(api, exp, calls):
    rid = api.run(exp)
    now = int(time.time() * 1000)

    def go():
        for c in range(calls):
            metrics = [{"key": f"m{i % 50}", "value": i * 0.1, "timestamp": now + c, "step": c * 20 + i // 50} for i in range(1000)]
            api.call("POST", "runs/log-batch", json={"run_id": rid, "metrics": metrics})

    return calls * 1000 / timed(go)


def bench_log_metric(api, exp, total, threads):
    rid = api.run(exp)
    now = int(time.time() * 1000)

    def worker(w):
        for i in range(total // threads):
            api.call("POST", "runs/log-metric", json={"run_id": rid, "key": f"t{w}", "value": i, "timestamp": now + i, "step": i})

    def go():
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))

    return total / timed(go)


def make_runs(api, exp, n, threads=8, first=0):
    now = int(time.time() * 1000)

    def one(i):
        rng = random.Random(first + i)  # independent, reproducible values per run
        rid = api.run(exp)
        api.call("POST", "runs/log-batch", json={
            "run_id": rid,
            "params": [{"key": f"p{j}", "value": f"v{rng.randrange(4)}"} for j in range(5)],
            "metrics": [{"key": f"m{j}", "value": rng.random(), "timestamp": now, "step": 0} for j in range(5)],
        })

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))


def bench_search(api, exp, searches):
    body = {"experiment_ids": [exp], "filter": "metrics.m0 > 0.5 and params.p1 = 'v2'", "order_by": ["metrics.m1 DESC"],
            "max_results": 100}
    api.call("POST", "runs/search", json=body)  # warm
    lat = []
    for _ in range(searches):
        t = time.perf_counter()
        got = api.call("POST", "runs/search", json=body)
        lat.append(time.perf_counter() - t)
    assert len(got.get("runs", [])) > 0
    lat.sort()
    return statistics.median(lat) * 1000, lat[int(len(lat) * 0.95) - 1] * 1000


def bench_history(api, exp, points):
    rid = api.run(exp)
    now = int(time.time() * 1000)
    for c in range(points // 1000):
        api.call("POST", "runs/log-batch", json={"run_id": rid, "metrics": [
            {"key": "loss", "value": 1.0 / (c * 1000 + i + 1), "timestamp": now + c * 1000 + i, "step": c * 1000 + i} for i in range(1000)]})

    def go():
        tok, n = None, 0
        while True:
            params = {"run_id": rid, "metric_key": "loss", "max_results": 25000}
            if tok:
                params["page_token"] = tok
            r = api.call("GET", "metrics/get-history", params=params)
            n += len(r.get("metrics", []))
            tok = r.get("next_page_token")
            if not tok:
                break
        assert n == points, n

    return timed(go)


def workload(name, url, a):
    api = API(url, a.client)
    exp = api.experiment(f"bench-{int(time.time())}")
    res = {}
    print(f"[{name}] log_batch {a.batch_calls} x 1000 metrics", flush=True)
    res["log_batch metrics/s"] = bench_log_batch(api, exp, a.batch_calls)
    for threads in (1, 8):
        print(f"[{name}] {a.single} log_metric calls, {threads} thread(s)", flush=True)
        res[f"log_metric calls/s ({threads} thread{'s' if threads > 1 else ''})"] = bench_log_metric(api, exp, a.single, threads)
    sexp = api.experiment(f"bench-search-{int(time.time())}")
    print(f"[{name}] creating {a.runs} runs", flush=True)
    t = timed(lambda: make_runs(api, sexp, a.runs))
    res[f"create {a.runs} runs (5 params + 5 metrics), s"] = t
    p50, p95 = bench_search(api, sexp, a.searches)
    res[f"search_runs p50 ms ({a.runs} runs)"] = p50
    res[f"search_runs p95 ms ({a.runs} runs)"] = p95
    print(f"[{name}] get_metric_history of {a.points} points", flush=True)
    res[f"get_metric_history {a.points} points, s"] = bench_history(api, exp, a.points)
    if name == "strata" and a.big_runs > a.runs:
        print(f"[{name}] growing to {a.big_runs} runs", flush=True)
        make_runs(api, sexp, a.big_runs - a.runs, first=a.runs)
        p50, p95 = bench_search(api, sexp, a.searches)
        res[f"search_runs p50 ms ({a.big_runs} runs)"] = p50
        res[f"search_runs p95 ms ({a.big_runs} runs)"] = p95
    return res


def start_mlflow(a, tmp):
    port = free_port()
    cmd = [a.mlflow, "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db", "--serve-artifacts",
           "--artifacts-destination", f"{tmp}/mlartifacts", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=tmp, stdout=open(f"{tmp}/mlflow.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, "mlflow server")
    return proc, url


def start_strata(a, tmp):
    binary = a.strata_bin
    if not binary:
        binary = f"{tmp}/strata"
        subprocess.run(["go", "build", "-tags", "duckdb_arrow", "-o", binary, "./cmd/strata"], cwd=ROOT, check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    proc = subprocess.Popen([binary, "serve", "--data-dir", f"{tmp}/strata-data", "--addr", f"127.0.0.1:{port}"], cwd=tmp,
                            env=env, stdout=open(f"{tmp}/strata.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, "strata serve")
    return proc, url


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata-bin", default=os.environ.get("STRATA_BIN", ""))
    p.add_argument("--mlflow", default=shutil.which("mlflow") or "mlflow")
    p.add_argument("--batch-calls", type=int, default=200)
    p.add_argument("--single", type=int, default=2000)
    p.add_argument("--runs", type=int, default=5000)
    p.add_argument("--big-runs", type=int, default=50000)
    p.add_argument("--searches", type=int, default=50)
    p.add_argument("--points", type=int, default=100000)
    p.add_argument("--targets", default="strata,mlflow", help="comma-separated: strata, mlflow")
    p.add_argument("--quick", action="store_true", help="a small smoke run of the same workload")
    p.add_argument("--client", choices=("raw", "requests"), default="raw",
                   help="load generator: raw http.client (default) or requests (the mlflow client's HTTP stack)")
    a = p.parse_args()
    if a.quick:
        a.batch_calls, a.single, a.runs, a.big_runs, a.searches, a.points = 5, 80, 100, 300, 5, 5000
    tmp = tempfile.mkdtemp(prefix="bench-tracking-")
    results = {}
    for name, start in (("strata", start_strata), ("mlflow", start_mlflow)):
        if name not in a.targets.split(","):
            continue
        proc, url = start(a, tmp)
        try:
            results[name] = workload(name, url, a)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    lower_is_better = lambda k: "ms" in k or k.endswith(", s")
    print("\n| measure | MLflow 3.17.2 | Strata | Strata advantage |\n|---|---|---|---|")
    for k, sv in results.get("strata", {}).items():
        mv = results.get("mlflow", {}).get(k)
        if mv is None:
            print(f"| {k} | — | {sv:,.1f} | — |")
            continue
        ratio = mv / sv if lower_is_better(k) else sv / mv
        print(f"| {k} | {mv:,.1f} | {sv:,.1f} | {ratio:,.1f}x |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
