#!/usr/bin/env bash
# Table import benchmark (issue 11): `strata table import` of a ROWS-row Parquet file into a lake table, against
# DuckDB alone (the same engine, `strata sql`) reading that file and writing the same rows as zstd Parquet, in
# one run; seconds, rows/s and peak RSS (GNU time) of each.
#
#   bench/move/import.sh [ROWS]          default 10000000 (the issue's run)
#
# The input has 12 columns of the types feature tables hold (bigint, timestamptz, double, int, three strings
# with repeats, boolean, float, date, a double with NULLs), written once by DuckDB as zstd Parquet.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-10000000}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (Debian package: time)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -tags duckdb_arrow -o "$work/strata" ./cmd/strata
S="$work/strata"
export STRATA_PROJECT="$work/proj"
"$S" init "$work/proj" >/dev/null
# shellcheck source=bench/move/lib.sh
source bench/move/lib.sh

"$S" sql --format csv "COPY (SELECT i AS id, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' AS event_ts,
  i % 10007 AS user_id, (i % 1000) * 1.25 AS amount, (i % 17)::int AS qty, 'cat_' || (i % 8) AS category,
  'item-' || (i % 50000) AS label, i % 3 = 0 AS flag, ((i % 97) / 97)::float AS score,
  date '2026-01-01' + (i % 365)::int AS day, CASE WHEN i % 11 = 0 THEN NULL ELSE i * 0.01 END AS balance,
  'c' || (i % 10) AS country FROM range($rows) t(i))
  TO '$work/in.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null

echo "| $rows-row Parquet file × 12 columns | s | rows/s | peak RSS MB | ÷ DuckDB alone | machine CPU-s |"
echo "|---|---|---|---|---|---|"
measure "$S" sql --format csv "COPY (SELECT * FROM read_parquet('$work/in.parquet')) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)"
duck=$secs
row "DuckDB alone: Parquet → Parquet zstd" "$secs" "$rss_mb"
rm -f "$work/duck.parquet"
measure "$S" table import --env dev raw.bench_import "$work/in.parquet"
row "strata table import: Parquet → lake" "$secs" "$rss_mb" "$duck"
got=$("$S" sql --format csv "SELECT count(*) FROM raw.bench_import" | tail -1)
[[ "$got" == "$rows" ]] || echo "warning: strata imported $got rows, want $rows" >&2
