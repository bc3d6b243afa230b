#!/usr/bin/env python3
"""Point-in-time training sets: Strata against Feast 0.67 (duckdb and file offline stores), same data, one run.

Generates a feature table of N rows x 50 float features (nulls, created-time ties, out-of-order rows) for E
entities and a spine of S rows with the edge cases (keys without features, rows before an entity's first event,
duplicate rows), builds the training set with `strata dataset build` and with Feast's get_historical_features,
checks the rows against each other, and prints wall time and peak RSS of each (every build is its own process,
measured with /usr/bin/time), and Feast's get_historical_features(...).to_df() call alone, timed inside its
process (without Python's start, Feast's imports, `apply` and the spine read).

Strata builds three times on the same snapshots: the first build joins in DuckDB (and marks the snapshot), the
second fills the training-set cache's entry of the feature table's snapshot, the third and later read it
(datasets.cache_bytes; a rebuild of the same release, another spine or sample, is the everyday case). Each is
reported ("strata", "strata_fill", "strata_cached"); the cached build's rows are compared with the first's
(they must be the same) and with Feast's. A fresh --data directory (or a changed table) starts over.

Usage (from the repository root; the Feast venv is made by bench/features/setup-feast.sh):
  go build -tags duckdb_arrow -o /tmp/strata ./cmd/strata
  $FEAST_VENV/bin/python bench/features/bench.py --strata /tmp/strata [--rows 1000000 --spine 100000 --entities 100000]
  add --string-keys for a string join key ('u' and the number) instead of a long, --string-features K for K
  string features (categories) among the 50.
  add --feast-file to also run Feast's default file offline store (slow, much memory: skip it at 10M rows).
  --data DIR keeps the generated files and the Strata project in DIR and reuses them on the next run with the same
  sizes (the 10M-row import alone takes minutes on a loaded machine): only the builds are run again.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

NF = 50


def generate(work, rows, spine, entities, string_keys=False, string_features=0):
    """Writes features.parquet and spine.parquet with DuckDB (deterministic, no randomness). With string_keys the
    join key is a string ('u' and the number)."""
    import duckdb

    key = (lambda e: f"'u' || CAST({e} AS VARCHAR)") if string_keys else (lambda e: e)

    # the first string_features features are categories ('c' and a number below 97), the others doubles
    feats = ", ".join(f"CASE WHEN (i + {j}) % 11 = 0 THEN NULL ELSE "
                      + (f"'c' || CAST((i + {j}) % 97 AS VARCHAR)" if j < string_features else f"CAST(i + {j} AS DOUBLE)")
                      + f" END AS f{j}" for j in range(NF))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Out of order: event minutes jump around by a large prime; every 7th row repeats the previous row's event
    # time (a tie), and its created time breaks it (i % 3 µs later), except every 21st row, an exact tie.
    con.execute(f"""COPY (SELECT {key(f"i % {entities}")} AS user_id,
        TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(((CASE WHEN i % 7 = 0 AND i > 0 THEN i - 1 ELSE i END) * 7919 % ({rows} + 1)) * 60000000) AS event_ts,
        TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(((CASE WHEN i % 7 = 0 AND i > 0 THEN i - 1 ELSE i END) * 7919 % ({rows} + 1)) * 60000000 + (CASE WHEN i % 21 = 0 THEN 0 ELSE i % 3 END)) AS created_ts,
        {feats} FROM range({rows}) t(i)) TO '{work}/features.parquet' (DICTIONARY_SIZE_LIMIT 1)""")
    # The spine: 20% of keys have no features (ids above the entity range), every 10th row is an hour before
    # the start (before any event), every 13th row repeats the previous one (a duplicate spine row).
    span = rows // 2
    con.execute(f"""COPY (SELECT {key(f"CASE WHEN j % 5 = 4 THEN {entities} + j ELSE (j * 31) % {entities} END")} AS user_id,
        CASE WHEN j % 10 = 3 THEN TIMESTAMPTZ '2023-12-31 23:00:00+00'
             ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((j * 104729 % {span}) * 60000000) END AS event_timestamp
        FROM (SELECT CASE WHEN i % 13 = 12 THEN i - 1 ELSE i END AS j FROM range({spine}) t(i))) TO '{work}/spine.parquet'""")


def timed(cmd, cwd=None, env=None):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS bytes, CPU seconds, stdout). CPU seconds
    (user + system) say more than wall time on a shared, loaded machine."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S"] + cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    wall, rss, user, system = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) * 1024, float(user) + float(system), out.stdout


def load_strata(strata, work, string_keys=False, string_features=0):
    """Makes the Strata project in work/strata: imports both files and applies the view."""
    proj = os.path.join(work, "strata")
    env = dict(os.environ, USER="bench")
    subprocess.run([strata, "init", proj], check=True, capture_output=True, env=env)
    for table, f in (("clean.bench_features", "features.parquet"), ("raw.bench_spine", "spine.parquet")):
        subprocess.run([strata, "-C", proj, "table", "import", table, os.path.join(work, f)], check=True, capture_output=True, env=env)
    feats = ", ".join(f"{{name: f{j}, type: {'string' if j < string_features else 'double'}}}" for j in range(NF))
    with open(os.path.join(proj, "features", "bench.yaml"), "w") as fh:
        fh.write(textwrap.dedent(f"""\
            entities:
              - name: user
                join_keys: [{{name: user_id, type: {"string" if string_keys else "long"}}}]
            feature_views:
              - name: bench
                entities: [user]
                source: {{table: clean.bench_features}}
                event_time: event_ts
                created_time: created_ts
                ttl: 30d
                features: [{feats}]
            """))
    subprocess.run([strata, "-C", proj, "apply"], check=True, capture_output=True, env=env)


def run_strata(strata, work, name="strata"):
    proj = os.path.join(work, "strata")
    env = dict(os.environ, USER="bench")
    wall, rss, cpu, _ = timed([strata, "-C", proj, "-q", "dataset", "build", "bench", "--spine", "raw.bench_spine", "--features", "bench:*"], env=env)
    out = os.path.join(work, name + ".parquet")
    subprocess.run([strata, "-C", proj, "dataset", "export", "bench", "--out", out], check=True, capture_output=True, env=env)
    return wall, rss, cpu, out


def strata_cache_dir(work):
    return os.path.join(work, "strata", "strata-data", "cache", "datasets")


FEAST_JOB = r'''
import sys, time, datetime, pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, String
repo, work, out = sys.argv[1:4]
store = FeatureStore(repo_path=repo)
user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.%s)
src = FileSource(path=work + "/features.parquet", timestamp_field="event_ts", created_timestamp_column="created_ts")
fv = FeatureView(name="bench", entities=[user], ttl=datetime.timedelta(days=30), online=False, source=src,
                 schema=[Field(name=f"f{j}", dtype=String if j < %d else Float64) for j in range(%d)])
store.apply([user, fv])
spine = pd.read_parquet(work + "/spine.parquet")
t = time.perf_counter()
df = store.get_historical_features(entity_df=spine, features=[f"bench:f{j}" for j in range(%d)]).to_df()
print(f"call {time.perf_counter() - t:.3f}")
df.to_parquet(out)
'''


def run_feast(work, store_type, string_keys=False, string_features=0):
    repo = os.path.join(work, "feast_" + store_type)
    os.makedirs(repo, exist_ok=True)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as fh:
        fh.write(textwrap.dedent(f"""\
            project: bench
            registry: {repo}/registry.db
            provider: local
            offline_store:
              type: {store_type}
            online_store:
              type: sqlite
              path: {repo}/online.db
            entity_key_serialization_version: 3
            """))
    job = os.path.join(work, "feast_job.py")
    with open(job, "w") as fh:
        fh.write(FEAST_JOB % ("STRING" if string_keys else "INT64", string_features, NF, NF))
    out = os.path.join(work, f"feast_{store_type}.parquet")
    wall, rss, cpu, stdout = timed([sys.executable, job, repo, work, out])
    call = float(stdout.split("call ")[-1].split()[0])
    return wall, rss, cpu, out, call


def compare(strata_out, other_out, string_keys=False):
    """Compares two training sets as multisets of (user_id, event_timestamp, features) rows."""
    import duckdb

    con = duckdb.connect()
    cols = f"CAST(user_id AS {'VARCHAR' if string_keys else 'BIGINT'}) AS user_id, epoch_us(CAST(event_timestamp AS TIMESTAMPTZ)) AS ts, " + ", ".join(f"f{j}" for j in range(NF))
    q = lambda f: f"SELECT {cols} FROM read_parquet('{f}')"
    n_s = con.execute(f"SELECT count(*) FROM read_parquet('{strata_out}')").fetchone()[0]
    n_o = con.execute(f"SELECT count(*) FROM read_parquet('{other_out}')").fetchone()[0]
    only_s = con.execute(f"SELECT count(*) FROM ({q(strata_out)} EXCEPT ALL {q(other_out)})").fetchone()[0]
    only_o = con.execute(f"SELECT count(*) FROM ({q(other_out)} EXCEPT ALL {q(strata_out)})").fetchone()[0]
    return {"rows": n_o, "strata_rows": n_s, "rows_only_in_strata": only_s, "rows_only_in_peer": only_o}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--spine", type=int, default=100_000)
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--feast-file", action="store_true", help="also run Feast's default file offline store")
    ap.add_argument("--no-feast", action="store_true")
    ap.add_argument("--string-keys", action="store_true", help="the join key is a string ('u' and the number) instead of a long")
    ap.add_argument("--string-features", type=int, default=0, help="this many of the 50 features are strings (categories) instead of doubles")
    ap.add_argument("--data", help="keep the data and the Strata project here, and reuse them when the sizes match")
    args = ap.parse_args()
    if args.data:
        os.makedirs(args.data, exist_ok=True)
        bench(args, args.data)
        return
    with tempfile.TemporaryDirectory(prefix="strata-bench-features-") as work:
        bench(args, work)


def bench(args, work):
    sizes = {"rows": args.rows, "spine": args.spine, "entities": args.entities, "features": NF}
    if args.string_keys:
        sizes["string_keys"] = True
    if args.string_features:
        sizes["string_features"] = args.string_features
    stamp = os.path.join(work, "sizes.json")
    if os.path.exists(stamp) and json.load(open(stamp)) == sizes:
        print(f"data: {args.rows:,} feature rows x {NF} features, {args.entities:,} entities, spine {args.spine:,} rows (reused from {work})")
    else:
        if os.path.exists(os.path.join(work, "strata")):
            sys.exit(f"{work} holds data of other sizes: remove it or name another --data directory")
        t = time.time()
        generate(work, args.rows, args.spine, args.entities, args.string_keys, args.string_features)
        gen = time.time() - t
        t = time.time()
        load_strata(args.strata, work, args.string_keys, args.string_features)
        print(f"data: {args.rows:,} feature rows x {NF} features, {args.entities:,} entities{' (string keys)' if args.string_keys else ''}{f', {args.string_features} of them strings' if args.string_features else ''}, spine {args.spine:,} rows "
              f"(generated in {gen:.1f} s, imported into Strata in {time.time() - t:.1f} s)")
        if args.data:
            json.dump(sizes, open(stamp, "w"))
    results = {}
    import shutil
    shutil.rmtree(strata_cache_dir(work), ignore_errors=True)  # the first build starts without a cache entry or mark
    s_wall, s_rss, s_cpu, s_out = run_strata(args.strata, work)
    results["strata"] = {"wall_s": s_wall, "cpu_s": s_cpu, "peak_rss_mib": s_rss // 2**20, "rows": args.spine}
    for name in ("strata_fill", "strata_cached"):
        wall, rss, cpu, out = run_strata(args.strata, work, name)
        results[name] = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": rss // 2**20, **compare(s_out, out, args.string_keys)}
    cached = os.path.isdir(strata_cache_dir(work)) and any(f.endswith(".pit") for f in os.listdir(strata_cache_dir(work)))
    if not cached:
        print("note: no training-set cache entry was made (the table is too big for datasets.cache_bytes, or the cache is off): "
              "strata_fill and strata_cached joined in DuckDB")
    s_out = os.path.join(work, "strata_cached.parquet")
    stores = [] if args.no_feast else ["duckdb"] + (["file"] if args.feast_file else [])
    for st in stores:
        wall, rss, cpu, out, call = run_feast(work, st, args.string_keys, args.string_features)
        results["feast_" + st] = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": rss // 2**20, "call_s": call, **compare(s_out, out, args.string_keys)}
    print(f"{'build':<14}{'wall s':>9}{'CPU s':>8}{'peak RSS MiB':>14}{'rows':>10}{'only Strata':>13}{'only peer':>11}  wall / CPU vs Strata")
    for name, r in results.items():
        ratio = r["wall_s"] / s_wall if s_wall else 0
        cratio = r["cpu_s"] / s_cpu if s_cpu else 0
        print(f"{name:<14}{r['wall_s']:>9.2f}{r['cpu_s']:>8.2f}{r['peak_rss_mib']:>14}{r.get('rows', ''):>10}{r.get('rows_only_in_strata', ''):>13}"
              f"{r.get('rows_only_in_peer', ''):>11}  {ratio:.2f}x / {cratio:.2f}x")
    for name, r in results.items():
        if "call_s" in r:  # Feast's own process: Python start, imports, apply and the spine read are the rest
            print(f"{name}: get_historical_features(...).to_df() alone {r['call_s']:.2f} s "
                  f"({r['call_s'] / s_wall:.2f}x Strata's whole process)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
