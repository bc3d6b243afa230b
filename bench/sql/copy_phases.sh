#!/usr/bin/env bash
# COPY BINARY read raw from PostgreSQL 15 and Strata, phase by phase, with the client's CPU (see copy_phases.py).
#   bench/sql/copy_phases.sh [--rows N] [--rounds N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/sql/servers.sh
(cd bench/sql && "$VENV_PYTHON" copy_phases.py --pg "postgresql://postgres@127.0.0.1:$SVC_PG_PORT/postgres" \
	--strata "postgresql://bench@127.0.0.1:$wire_port/dev" "$@")
