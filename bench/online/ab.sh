#!/usr/bin/env bash
# Two builds of strata, side by side, on bench.sh's data (10,000 entities × 50 float features, embedded store),
# loaded in turn by the same generator with the same request bodies: on a shared machine, the lines of the two
# builds taken in the same minutes are what compares. Prints one loadgen line per build and round (srv_cpu is
# each server's own CPU per request), then the medians.
#
#   bench/online/ab.sh OLD_STRATA NEW_STRATA    # ROUNDS=8 DURATION=3s SHAPE="100 16" (entities, concurrency)
# SERVE_ARGS are added to both `strata serve` commands, with @ replaced by A or B (e.g. "--cpuprofile /tmp/@.prof").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
A=$(realpath "$1")
B=$(realpath "$2")
ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-3s}
SHAPE=${SHAPE:-100 16}
SERVE_ARGS=${SERVE_ARGS:-}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }

(cd "$root" && go build -o "$work/loadgen" ./bench/online/loadgen)
{
	printf 'driver_id,event_timestamp'
	for i in $(seq -w 0 49); do printf ',f%s' "$i"; done
	printf '\n0,2026-01-01 00:00:00'
	for i in $(seq 0 49); do printf ',0.5'; done
	printf '\n'
} >"$work/bench.csv"
declare -A port pid
for label in A B; do
	bin=${!label}
	proj="$work/project-$label"
	mkdir -p "$proj/features"
	{
		printf 'entities:\n  - name: driver\n    join_keys: [{name: driver_id, type: long}]\n'
		printf 'feature_views:\n  - name: bench\n    entities: [driver]\n    source: {table: raw.bench}\n'
		printf '    event_time: event_timestamp\n    ttl: 30d\n    online: true\n    features:\n'
		for i in $(seq -w 0 49); do printf '      - {name: f%s, type: double}\n' "$i"; done
	} >"$proj/features/bench.yaml"
	(cd "$proj" && export STRATA_PROJECT=$proj STRATA_SQLWIRE_ADDR= && "$bin" init >/dev/null &&
		"$bin" table import --env dev raw.bench "$work/bench.csv" >/dev/null && "$bin" apply >/dev/null)
	port[$label]=$(free_port)
	# shellcheck disable=SC2086 # SERVE_ARGS are words
	(cd "$proj" && STRATA_PROJECT=$proj STRATA_SQLWIRE_ADDR= exec "$bin" serve --addr "127.0.0.1:${port[$label]}" ${SERVE_ARGS//@/$label} >"$work/$label.log" 2>&1) &
	pids+=($!)
	pid[$label]=$!
	wait_http "http://127.0.0.1:${port[$label]}/healthz" || { tail -20 "$work/$label.log" >&2; exit 1; }
	"$work/loadgen" -push -url "http://127.0.0.1:${port[$label]}" -query env=dev -keyspace 10000
done
read -r entities conc <<<"$SHAPE"
echo "# $(date -u +%FT%TZ) load average $(cut -d' ' -f1-3 /proc/loadavg); A=$1 B=$2; $entities × 50, c=$conc, $ROUNDS rounds of $DURATION"
for _ in $(seq 1 "$ROUNDS"); do
	for label in A B; do
		GOMAXPROCS=1 "$work/loadgen" -label "$label" -url "http://127.0.0.1:${port[$label]}" -query env=dev -pid "${pid[$label]}" \
			-entities "$entities" -c "$conc" -duration "$DURATION" -keyspace 10000
	done
done | tee "$work/lines"
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/lines" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\S+).*rps=\s*(\d+) p50=\s*([\d.]+)ms p99=\s*([\d.]+)ms gen_cpu=([\d.]+)us/req srv_cpu=([\d.]+)', line)
    if m:
        runs.setdefault(m[1], []).append([float(x) for x in m.groups()[1:]])
for label, rows in sorted(runs.items()):
    cols = list(zip(*rows))
    print(f"# {label} medians: rps {statistics.median(cols[0]):.0f}  p50 {statistics.median(cols[1]):.2f} ms  "
          f"p99 {statistics.median(cols[2]):.2f} ms  gen_cpu {statistics.median(cols[3]):.1f} us  srv_cpu {statistics.median(cols[4]):.1f} us")
PY
