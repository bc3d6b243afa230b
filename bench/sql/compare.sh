#!/usr/bin/env bash
# Two Strata binaries (say, before and after a DuckDB upgrade) and PostgreSQL 15 on bench.py's aggregate, and
# optionally its point queries and bulk reads, in one run: the three sides alternate within each round (see compare.py).
#   bench/sql/compare.sh OLD_BINARY NEW_BINARY [--rounds N] [--agg-rows N] [--points] [--bulk copy,binary,cx]
# Starts a throwaway PostgreSQL and one `strata serve` per binary, each with a fresh data dir, on free loopback
# ports; uses the test venv (scripts/lib/venv.sh). Prints each round, then best / median wall times, the
# servers' CPU per statement (from /proc) and their peak RSS.
set -euo pipefail
(($# >= 2)) || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
old=$(realpath "$1") new=$(realpath "$2")
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source scripts/lib/services.sh
source scripts/lib/venv.sh
venv_ensure "$root" >/dev/null
work=$(mktemp -d)
pg_dir="" pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	[[ -z "$pg_dir" ]] || svc_stop_pg "$pg_dir" || true
	rm -rf "$work"
}
trap cleanup EXIT
svc_start_pg
pg_dir=$SVC_PG_DIR
ports=()
for side in old new; do
	bin=$old
	[[ $side == new ]] && bin=$new
	wp=$(svc_free_port) hp=$(svc_free_port)
	mkdir -p "$work/$side"
	(cd "$work/$side" && exec env STRATA_SQLWIRE_ADDR="127.0.0.1:$wp" "$bin" serve --data-dir "$work/$side/data" \
		--addr "127.0.0.1:$hp" >"$work/$side/server.log" 2>&1) &
	pids+=($!) ports+=("$wp")
done
for p in "${ports[@]}"; do
	for _ in $(seq 150); do
		"$VENV_PYTHON" -c "import psycopg; psycopg.connect('postgresql://bench@127.0.0.1:$p/dev', connect_timeout=1).close()" \
			2>/dev/null && break
		sleep 0.2
	done
done
echo "old: $("$old" version | awk '/^duckdb/ {print "DuckDB", $2}'), new: $("$new" version | awk '/^duckdb/ {print "DuckDB", $2}'), $(nproc) cores"
"$VENV_PYTHON" bench/sql/compare.py --pg "postgresql://postgres@127.0.0.1:$SVC_PG_PORT/postgres" \
	--old "postgresql://bench@127.0.0.1:${ports[0]}/dev" --new "postgresql://bench@127.0.0.1:${ports[1]}/dev" \
	--old-pid "${pids[0]}" --new-pid "${pids[1]}" "$@"
