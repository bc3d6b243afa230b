"""Runs each command RUNS times per binary, alternating the binaries, and prints wall and CPU time.

usage: measure.py RUNS OLD NEW
"""
import os
import resource
import statistics
import subprocess
import sys
import time

runs, old, new = int(sys.argv[1]), sys.argv[2], sys.argv[3]
commands = {"version": ["version"], 'sql "select 1"': ["sql", "select 1"]}


def once(binary, args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL, env=dict(os.environ))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


print(f"{runs} runs each, binaries alternating; times in ms")
print("| command | build | wall median | wall mean | CPU mean |")
print("|---|---|---|---|---|")
ratios = []
for name, args in commands.items():
    res = {old: [], new: []}
    for b in (old, new):  # warm the page cache
        once(b, args)
    for _ in range(runs):
        for b in (old, new):
            res[b].append(once(b, args))
    row = {}
    for b, label in ((old, "nostartgc"), (new, "startgc")):
        walls, cpus = [w for w, _ in res[b]], [c for _, c in res[b]]
        row[label] = (statistics.median(walls), statistics.mean(walls), statistics.mean(cpus))
        print(f"| `{name}` | {label} | {row[label][0]*1e3:.1f} | {row[label][1]*1e3:.1f} | {row[label][2]*1e3:.1f} |")
    o, n = row["nostartgc"], row["startgc"]
    ratios.append((name, n[0] / o[0], n[2] / o[2]))
print()
for name, wall, cpu in ratios:
    print(f"`{name}`: startgc ÷ nostartgc = {wall:.2f} (median wall), {cpu:.2f} (mean CPU)")
