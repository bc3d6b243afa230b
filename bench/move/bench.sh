#!/usr/bin/env bash
# Movement benchmark (issue 11): a ROWS x 13-column PostgreSQL table moved by Strata and by its peers, in one
# run, on the same server and data; rows/s and peak RSS (GNU time) of each.
#
#   bench/move/bench.sh [ROWS]          default 1000000 (the issue's run: 5000000)
#
# PostgreSQL: BENCH_PG_DSN if set, else the throwaway server of scripts/pg-env (started if needed). The table
# lives in its own database, $BENCH_DB (default strata_bench_move: give another name when someone else may run
# the bench on the same server with another ROWS, since the table is re-created for another size). Peers (sling 1.4.11, dlt 1.31 with connectorx and pyarrow) are
# installed into their own venv, $BENCH_VENV (default ~/.cache/strata/move-bench-venv), once.
#
# Lines (Markdown table on stdout):
#   floor          COPY (SELECT * FROM t) TO STDOUT (FORMAT binary) > /dev/null (psql), plus pyarrow writing the same
#                  rows (held in memory, read by connectorx outside the timer) as one zstd Parquet file
#   strata → lake  strata move run: postgres source → lake table (envs.Write; DuckDB writes the data files)
#   sling → parquet / dlt → parquet: the peers writing Parquet files of the same rows
#   strata → parquet  the same job with a files target (format parquet)
#   lake → postgres   strata move run from the lake table into a new PostgreSQL table, vs psql \copy FROM of the
#                  same rows as a binary COPY file (the floor of a load)
#   csv → lake     strata table import of the table dumped as CSV (COPY ... CSV HEADER), vs DuckDB alone
#                  converting that CSV to zstd Parquet
#
# BENCH_PEERS=0 leaves out sling and dlt (for a quick re-measure of Strata's own lines; the table in
# docs/benchmarks.md comes from a full run).
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (Debian package: time)" >&2; exit 1; }
psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | tail -1)

venv=${BENCH_VENV:-$HOME/.cache/strata/move-bench-venv}
if ! "$venv/bin/python" -c 'import dlt, sqlalchemy, connectorx, pyarrow, sling_linux_amd64' 2>/dev/null; then
	echo "installing sling, dlt, connectorx, pyarrow into $venv" >&2
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q 'sling-linux-amd64==1.4.11' 'dlt[postgres,parquet,sql-database]==1.31.0' 'connectorx==0.4.6' 'pyarrow==26.0.1' >&2
fi
sling=$("$venv/bin/python" -c 'import sling_linux_amd64, os; print(os.path.join(os.path.dirname(sling_linux_amd64.__file__), "bin", "sling-linux-amd64"))')

export PGOPTIONS="-c client_min_messages=warning"
if [[ -z ${BENCH_PG_DSN:-} ]]; then
	eval "$(scripts/pg-env)"
	admin=$STRATA_TEST_PG_DSN
else
	admin=$BENCH_PG_DSN
fi
db=${BENCH_DB:-strata_bench_move}
dsn=$(echo "$admin" | sed -E "s#/[^/?]+(\\?|\$)#/$db\\1#")
"$psql_bin" -qAt "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
	"$psql_bin" -q "$admin" -c "CREATE DATABASE $db" >/dev/null
have=$("$psql_bin" -qAt "$dsn" -c "SELECT count(*) FROM bench_move" 2>/dev/null || echo 0)
if [[ "$have" != "$rows" ]]; then
	echo "creating bench_move with $rows rows" >&2
	"$psql_bin" -q "$dsn" >/dev/null <<SQL
DROP TABLE IF EXISTS bench_move;
CREATE UNLOGGED TABLE bench_move AS SELECT
  i::int AS id, (i::bigint * 7919) AS big, round((i % 100000)::numeric / 7, 2)::numeric(12,2) AS amount,
  'name_' || (i % 100000) AS name, ('cat_' || (i % 50))::varchar(20) AS category,
  timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' AS created_at,
  date '2020-01-01' + (i % 3000) AS day, i % 2 = 0 AS flag, (i % 1000) / 7.0::float8 AS score,
  md5(i::text)::uuid AS uid, json_build_object('k', i % 10, 'v', 'x' || (i % 7)) AS attrs,
  (i % 1000)::smallint AS small, md5(i::text) AS hash
FROM generate_series(1, $rows) i;
VACUUM ANALYZE bench_move;
SQL
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -tags duckdb_arrow -o "$work/strata" ./cmd/strata
S="$work/strata"
export STRATA_PROJECT="$work/proj" BENCH_PG_DSN="$dsn"
"$S" init "$work/proj" >/dev/null
# uuid and json are read as text here (the postgres source also maps them natively: move/postgres TestMoreTypes).
cat >"$work/proj/jobs/pg.yaml" <<'YAML'
name: bench_pg
source:
  type: postgres
  dsn: ${BENCH_PG_DSN}
  query: SELECT id, big, amount, name, category, created_at, day, flag, score, uid::text AS uid, attrs::text AS attrs, small, hash FROM bench_move
target: {type: lake, table: raw.bench_pg, mode: overwrite}
YAML

cat >"$work/proj/jobs/pg_files.yaml" <<YAML
name: bench_pg_files
source:
  type: postgres
  dsn: \${BENCH_PG_DSN}
  query: SELECT id, big, amount, name, category, created_at, day, flag, score, uid::text AS uid, attrs::text AS attrs, small, hash FROM bench_move
target: {type: files, path: $work/strata-files, format: parquet}
YAML
cat >"$work/proj/jobs/lake_pg.yaml" <<'YAML'
name: bench_lake_pg
source: {type: lake, table: raw.bench_pg}
target: {type: postgres, dsn: "${BENCH_PG_DSN}", table: bench_move_back, mode: overwrite}
YAML

# shellcheck source=bench/move/lib.sh
source bench/move/lib.sh
echo "| $rows rows × 13 columns | s | rows/s | peak RSS MB | ÷ floor | machine CPU-s |"
echo "|---|---|---|---|---|---|"

# Floor, part 1: the binary COPY stream alone.
measure "$psql_bin" -qAt "$dsn" -c "COPY (SELECT * FROM bench_move) TO STDOUT (FORMAT binary)" -o /dev/null
copy_s=$secs copy_cpu=$cpu_s
# Floor, part 2: Arrow → one zstd Parquet file with pyarrow (the data read by connectorx outside the timer).
cat >"$work/floor.py" <<'PY'
import sys, time, connectorx as cx, pyarrow.parquet as pq
t = cx.read_sql(sys.argv[1].replace("postgres://", "postgresql://"), "SELECT id, big, amount, name, category, created_at, day, flag, score, uid::text AS uid, attrs::text AS attrs, small, hash FROM bench_move", return_type="arrow")
t0, c0 = time.perf_counter(), time.process_time()
pq.write_table(t, sys.argv[2], compression="zstd")
print(time.perf_counter() - t0, time.process_time() - c0)
PY
read -r enc_s enc_cpu < <("$venv/bin/python" "$work/floor.py" "$dsn" "$work/floor.parquet" | tail -1)
floor=$(echo "$copy_s + $enc_s" | bc -l)
row "floor: COPY BINARY → /dev/null ($(printf '%.2f' "$copy_s") s, $(printf '%.1f' "$copy_cpu") CPU-s) + pyarrow Arrow → Parquet zstd ($(printf '%.2f' "$enc_s") s, $(printf '%.1f' "$enc_cpu") CPU-s)" "$floor" "—" "" "$(echo "$copy_cpu + $enc_cpu" | bc -l)"

measure "$S" move run "$work/proj/jobs/pg.yaml" --env dev
row "strata move run: postgres → lake" "$secs" "$rss_mb" "$floor"
got=$("$S" sql --format csv "SELECT count(*) FROM raw.bench_pg" | tail -1)
[[ "$got" == "$rows" ]] || echo "warning: strata moved $got rows, want $rows" >&2

rm -rf "$work/strata-files"
measure "$S" move run "$work/proj/jobs/pg_files.yaml" --env dev
row "strata move run: postgres → parquet files" "$secs" "$rss_mb" "$floor"

# lake → PostgreSQL, against psql loading the same rows from a binary COPY file into a logged table, like the
# one the target creates.
"$psql_bin" -q "$dsn" -c "DROP TABLE IF EXISTS bench_move_back" -c "DROP TABLE IF EXISTS bench_move_load" \
	-c "CREATE TABLE bench_move_load (LIKE bench_move)" >/dev/null
"$psql_bin" -qAt "$dsn" -c "COPY bench_move TO STDOUT (FORMAT binary)" -o "$work/t.bin"
measure "$psql_bin" -q "$dsn" -c "\\copy bench_move_load FROM '$work/t.bin' (FORMAT binary)"
load_floor=$secs
row "floor of a load: psql \\copy FROM a binary COPY file" "$secs" "$rss_mb"
measure "$S" move run "$work/proj/jobs/lake_pg.yaml" --env dev
row "strata move run: lake → postgres" "$secs" "$rss_mb" "$load_floor"
got=$("$psql_bin" -qAt "$dsn" -c "SELECT count(*) FROM bench_move_back")
[[ "$got" == "$rows" ]] || echo "warning: lake → postgres wrote $got rows, want $rows" >&2
"$psql_bin" -q "$dsn" -c "DROP TABLE IF EXISTS bench_move_back" -c "DROP TABLE IF EXISTS bench_move_load" >/dev/null
rm -f "$work/t.bin"

if [[ ${BENCH_PEERS:-1} != 0 ]]; then
# sling: its DuckDB compute path wrote 241k of 5M rows and exited 0 in an earlier run, hence false.
mkdir -p "$work/sling"
export SLING_DUCKDB_COMPUTE=false SLING_DISABLE_TELEMETRY=true SLING_HOME_DIR="$work/sling-home" PG_BENCH="$dsn"
measure "$sling" run --src-conn PG_BENCH --src-stream public.bench_move --tgt-object "file://$work/sling/out.parquet"
row "sling 1.4.11: postgres → parquet" "$secs" "$rss_mb" "$floor"

cat >"$work/dlt_run.py" <<'PY'
import sys, dlt
from dlt.sources.sql_database import sql_table
backend, dsn, out = sys.argv[1], sys.argv[2].replace("postgres://", "postgresql+psycopg2://"), sys.argv[3]
src = sql_table(credentials=dsn, table="bench_move", backend=backend)
p = dlt.pipeline(pipeline_name="bench_" + backend, destination=dlt.destinations.filesystem(bucket_url="file://" + out),
                 dataset_name="bench", pipelines_dir=out + "/.pipelines")
info = p.run(src, loader_file_format="parquet")
info.raise_on_failed_jobs()
PY
for backend in connectorx pyarrow; do
	measure env DLT_DATA_DIR="$work/dlt-$backend" RUNTIME__LOG_LEVEL=WARNING "$venv/bin/python" "$work/dlt_run.py" "$backend" "$dsn" "$work/dlt-$backend"
	row "dlt 1.31 ($backend): postgres → parquet" "$secs" "$rss_mb" "$floor"
done
fi

# CSV → lake, against DuckDB alone converting the same CSV to zstd Parquet.
"$psql_bin" -qAt "$dsn" -c "\\copy bench_move TO '$work/t.csv' CSV HEADER"
measure "$S" sql --format csv "COPY (SELECT * FROM read_csv('$work/t.csv')) TO '$work/csv_floor.parquet' (FORMAT parquet, COMPRESSION zstd)"
csv_floor=$secs
row "DuckDB alone: CSV → Parquet zstd" "$secs" "$rss_mb"
measure "$S" table import --env dev raw.bench_csv "$work/t.csv"
row "strata table import: CSV → lake" "$secs" "$rss_mb" "$csv_floor"
echo
echo "(csv → lake ÷ floor is against DuckDB alone converting the CSV, lake → postgres against the load floor; every other ratio is against the first floor line)"
