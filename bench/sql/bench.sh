#!/usr/bin/env bash
# Strata's PostgreSQL-wire endpoint vs a real PostgreSQL 15 on the same data, in one run (see bench.py).
#   bench/sql/bench.sh [--rows N] [--agg-rows N] [--runs N]
# Starts a throwaway PostgreSQL (scripts/lib/services.sh) and a `strata serve` with a fresh data dir, both on
# free loopback ports; uses the test venv (scripts/lib/venv.sh). Results go to stdout as a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/sql/servers.sh
"$VENV_PYTHON" bench/sql/bench.py --pg "postgresql://postgres@127.0.0.1:$SVC_PG_PORT/postgres" \
	--strata "postgresql://bench@127.0.0.1:$wire_port/dev" "$@"
