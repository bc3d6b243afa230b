#!/usr/bin/env bash
# Makes the Python venv bench/features/bench.py runs in: Feast 0.67 with its duckdb offline store (which brings
# duckdb, pandas and pyarrow). Prints the venv's python.
set -euo pipefail
venv="${STRATA_CACHE:-$HOME/.cache/strata}/feast-duckdb-venv"
if ! "$venv/bin/python" -c 'import feast, duckdb' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'feast[duckdb]==0.67.*'
fi
echo "$venv/bin/python"
