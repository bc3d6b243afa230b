#!/usr/bin/env bash
# Foundation benchmark: lake import throughput and read overhead, each against DuckDB alone on the same data,
# in one run, with the same binary (so the same DuckDB build).
#
#   bench/foundation.sh [ROWS...]        default: 1000000 10000000
#
# For each size it generates a ROWS x 12-column Parquet file, then measures:
#   import   strata table import (CSV/JSON/Parquet path: DuckDB read → Arrow → Iceberg Parquet + commit)
#   floor    DuckDB alone rewriting the same Parquet file (COPY ... TO ... (FORMAT parquet, zstd))
#   agg      strata sql aggregate over the lake table vs DuckDB over the raw Parquet file (best of 3 each)
# and the peak RSS of the import (GNU time). Prints a Markdown table; copy it into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (Debian package: time)" >&2; exit 1; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -tags duckdb_arrow -o "$work/strata" ./cmd/strata
S="$work/strata"
export STRATA_PROJECT="$work/proj"
"$S" init "$work/proj" >/dev/null

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
best3() { # best wall time of 3 runs of a command
  local best=999999 t0 t1 d
  for _ in 1 2 3; do t0=$(now); "$@" >/dev/null; t1=$(now); d=$(secs "$t0" "$t1")
    best=$(echo "if ($d < $best) $d else $best" | bc -l); done
  printf '%.3f' "$best"
}

echo "| rows | file MB | import s | import rows/s | import MB/s | DuckDB floor s | import ÷ floor | import peak RSS MB | agg lake s | agg raw s | lake ÷ raw |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  src="$work/src_$n.parquet"
  "$S" sql --format csv "COPY (SELECT i AS id, i % 1000 AS user_id, (i * 7) % 10007 AS item_id,
      'cat_' || (i % 50) AS category, 'name_' || (i % 100000) AS name, (i % 997) * 1.5 AS amount,
      (i % 13)::INTEGER AS qty, (i % 2 = 0) AS flag, TIMESTAMP '2026-01-01' + INTERVAL (i % 86400) SECOND AS ts,
      DATE '2026-01-01' + (i % 365)::INTEGER AS day, random() AS score, md5(i::VARCHAR) AS hash
    FROM range($n) t(i)) TO '$src' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
  mb=$(echo "$(stat -c %s "$src") / 1048576" | bc -l)

  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$S" table import --env dev "raw.bench_$n" "$src" >/dev/null
  t1=$(now); imp=$(secs "$t0" "$t1"); rss=$(( $(tail -1 "$work/rss") / 1024 ))

  t0=$(now)
  "$S" sql --format csv "COPY (SELECT * FROM read_parquet('$src')) TO '$work/floor.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
  t1=$(now); floor=$(secs "$t0" "$t1")

  q="SELECT category, count(*), sum(amount), avg(score), max(ts) FROM %s GROUP BY category ORDER BY category"
  lake=$(best3 "$S" sql --format csv "$(printf "$q" "raw.bench_$n")")
  raw=$(best3 "$S" sql --format csv "$(printf "$q" "read_parquet('$src')")")

  printf '| %s | %.0f | %.2f | %.0f | %.1f | %.2f | %.2f | %s | %s | %s | %.2f |\n' "$n" "$mb" "$imp" \
    "$(echo "$n / $imp" | bc -l)" "$(echo "$mb / $imp" | bc -l)" "$floor" "$(echo "$imp / $floor" | bc -l)" "$rss" \
    "$lake" "$raw" "$(echo "$lake / $raw" | bc -l)"
done
