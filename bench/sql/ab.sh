#!/usr/bin/env bash
# Two strata builds (or wrappers that set their environment) serving the PostgreSQL protocol side by side, each
# with a fresh data dir on free loopback ports, read in turn by bench/sql/ab.py (bench.py's clients).
#   bench/sql/ab.sh STRATA_A STRATA_B [--rows N] [--rounds N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
A=$(realpath "$1")
B=$(realpath "$2")
shift 2
source scripts/lib/services.sh
source scripts/lib/venv.sh
venv_ensure "$root" >/dev/null
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
declare -A wire
for label in A B; do
	bin=${!label}
	wire[$label]=$(svc_free_port)
	http=$(svc_free_port)
	mkdir -p "$work/$label"
	(cd "$work/$label" && exec env STRATA_SQLWIRE_ADDR="127.0.0.1:${wire[$label]}" "$bin" serve --data-dir "$work/$label/data" \
		--addr "127.0.0.1:$http" >"$work/$label.log" 2>&1) &
	pids+=($!)
	for _ in $(seq 100); do
		"$VENV_PYTHON" -c "import psycopg; psycopg.connect('postgresql://bench@127.0.0.1:${wire[$label]}/dev', connect_timeout=1).close()" \
			2>/dev/null && break
		sleep 0.2
	done
done
echo "# $(date -u +%FT%TZ) load average $(cut -d' ' -f1-3 /proc/loadavg); A=$A B=$B"
(cd bench/sql && "$VENV_PYTHON" ab.py "postgresql://bench@127.0.0.1:${wire[A]}/dev" "postgresql://bench@127.0.0.1:${wire[B]}/dev" "$@")
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
