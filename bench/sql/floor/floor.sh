#!/usr/bin/env bash
# The client-decode floor of bench/sql's bulk reads (see floor.py and main.go), in one run:
#   bench/sql/floor/floor.sh [--rows N] [--runs N]
# Starts a throwaway PostgreSQL and a `strata serve` with a fresh data dir on free loopback ports (as
# bench/sql/bench.sh does), builds the record/replay server, and prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
source bench/sql/servers.sh
go build -o "$work/floor" ./bench/sql/floor
"$VENV_PYTHON" bench/sql/floor/floor.py --pg "postgresql://postgres@127.0.0.1:$SVC_PG_PORT/postgres" \
	--strata "postgresql://bench@127.0.0.1:$wire_port/dev" --floor "$work/floor" --work "$work/answers" \
	--strata-pid "$server" --pg-pid "$(head -n 1 "$pg_dir/data/postmaster.pid")" "$@"
