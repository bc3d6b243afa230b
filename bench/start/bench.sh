#!/usr/bin/env bash
# Process start: `strata version` and `strata sql "select 1"`, with the collector off during package
# initialisation (internal/startgc, the default build) against the same source built with -tags nostartgc,
# in one run, the two binaries alternating.
#
#   bench/start/bench.sh [RUNS]        default: 30
#
# Prints per command and binary the median and mean wall time and the mean CPU (user + system, from the
# kernel's accounting of each child), and the ratios new ÷ old. On a shared machine the CPU is steadier than
# the wall time; compare ratios, not absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-30}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -tags duckdb_arrow -o "$work/new" ./cmd/strata
go build -tags duckdb_arrow,nostartgc -o "$work/old" ./cmd/strata
export STRATA_PROJECT="$work/proj"
"$work/new" init "$work/proj" >/dev/null
python3 bench/start/measure.py "$runs" "$work/old" "$work/new"
