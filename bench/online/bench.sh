#!/usr/bin/env bash
# Online serving benchmark: Strata (`strata serve`, embedded store and Redis) and Feast (`feast serve`, sqlite and
# Redis online stores) on the same data (10,000 entities × 50 float features) in one run, loaded by the same
# bounded Go load generator on loopback (bench/online/loadgen: raw keep-alive HTTP/1.1 connections, identical
# request bodies, answers checked): 1 entity × 50 features and 100 × 50, at concurrency 1 and 16. Prints one line
# per server and shape: RPS, p50, p99, the generator's own CPU per request (gen_cpu) and the server's (srv_cpu,
# Strata's and the canned server's, from /proc: on a shared machine the ratio that holds); first the generator
# against a canned net/http server (its cost alone), and the load average before and after.
#
#   bench/online/bench.sh     # DURATION=5s KEYSPACE=10000 FEAST_VENV=~/.cache/strata/feast-venv SERVERS="embedded redis feast" LOADGEN_PROCS=1
# The generator runs with GOMAXPROCS=LOADGEN_PROCS (1: it needs under half a core even at 35k RPS; with 2 its
# threads competed with the server's for the two cores, p99 at 1×50 c=16 4.4 → 2.9 ms, same RPS).
# STRATA_BIN=path uses a built strata instead of building one. Feast comes from PyPI into its own venv
# (pip install 'feast[redis]==0.67.*': its Redis online store needs the extra); without it the Feast lines are
# skipped with a notice.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-5s}
KEYSPACE=${KEYSPACE:-10000}
FEAST_VENV=${FEAST_VENV:-$HOME/.cache/strata/feast-venv}
SERVERS=${SERVERS:-embedded redis feast}
LOADGEN_PROCS=${LOADGEN_PROCS:-1}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }

cd "$root"
if [[ -n ${STRATA_BIN:-} ]]; then
	cp "$STRATA_BIN" "$work/strata"
else
	go build -tags duckdb_arrow -o "$work/strata" ./cmd/strata
fi
go build -o "$work/loadgen.bin" ./bench/online/loadgen
printf '#!/bin/sh\nGOMAXPROCS=%s exec %s "$@"\n' "$LOADGEN_PROCS" "$work/loadgen.bin" >"$work/loadgen"
chmod +x "$work/loadgen"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)

# Strata project: a 50-feature view over raw.bench (one row, so definitions validate), applied to dev.
proj="$work/project"
mkdir -p "$proj/features"
{
	printf 'driver_id,event_timestamp'
	for i in $(seq -w 0 49); do printf ',f%s' "$i"; done
	printf '\n0,2026-01-01 00:00:00'
	for i in $(seq 0 49); do printf ',0.5'; done
	printf '\n'
} >"$work/bench.csv"
{
	printf 'entities:\n  - name: driver\n    join_keys: [{name: driver_id, type: long}]\n'
	printf 'feature_views:\n  - name: bench\n    entities: [driver]\n    source: {table: raw.bench}\n'
	printf '    event_time: event_timestamp\n    ttl: 30d\n    online: true\n    features:\n'
	for i in $(seq -w 0 49); do printf '      - {name: f%s, type: double}\n' "$i"; done
} >"$proj/features/bench.yaml"
export STRATA_PROJECT=$proj STRATA_SQLWIRE_ADDR=
(cd "$proj" && "$work/strata" init >/dev/null && "$work/strata" table import --env dev raw.bench "$work/bench.csv" >/dev/null && "$work/strata" apply >/dev/null)

measure() { # label url query server-pid (0: unknown)
	for shape in "1 1" "1 16" "100 1" "100 16"; do
		set -- "$1" "$2" "$3" "$4" $shape
		"$work/loadgen" -label "$1" -url "$2" -query "$3" -pid "$4" -entities "$5" -c "$6" -duration "$DURATION" -keyspace "$KEYSPACE"
	done
}

serve_strata() { # label extra-env...
	local label=$1 port
	shift
	port=$(free_port)
	env "$@" "$work/strata" serve --addr "127.0.0.1:$port" >"$work/$label.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/healthz" || { tail -20 "$work/$label.log" >&2; return 1; }
	"$work/loadgen" -push -url "http://127.0.0.1:$port" -query env=dev -keyspace "$KEYSPACE"
	measure "$label" "http://127.0.0.1:$port" env=dev "${pids[-1]}"
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null || true
}

# The generator alone: against a canned net/http server (gen_cpu is what one request costs the generator).
canned() {
	local port
	port=$(free_port)
	"$work/loadgen.bin" -serve "127.0.0.1:$port" >/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
	for n in 1 100; do
		"$work/loadgen" -label loadgen-vs-canned -url "http://127.0.0.1:$port" -pid "${pids[-1]}" -entities "$n" -c 16 -duration "$DURATION" -keyspace "$KEYSPACE"
	done
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null || true
}

has() { [[ " $SERVERS " == *" $1 "* ]]; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); strata $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'); $KEYSPACE entities × 50 float features; $DURATION per line; generator GOMAXPROCS=$LOADGEN_PROCS"
canned
has embedded && serve_strata strata-embedded
has redis && serve_strata strata-redis STRATA_ONLINE_BACKEND=redis "STRATA_ONLINE_REDIS_ADDR=127.0.0.1:$redis_port"

if ! has feast; then
	echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
if [[ ! -x "$FEAST_VENV/bin/feast" ]]; then
	echo "# feast: not installed in $FEAST_VENV (python3 -m venv $FEAST_VENV && $FEAST_VENV/bin/pip install 'feast[redis]==0.67.*'): skipped"
	echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
echo "# feast $("$FEAST_VENV/bin/python" -c 'import feast; print(feast.__version__)')"
for store in sqlite redis; do
	arg=""
	[[ $store == redis ]] && arg="127.0.0.1:$redis_port"
	"$FEAST_VENV/bin/python" "$root/bench/online/feast_setup.py" "$work/feast-$store" "$KEYSPACE" $arg >"$work/feast-$store.setup.log" 2>&1 ||
		{ tail -20 "$work/feast-$store.setup.log" >&2; exit 1; }
	port=$(free_port)
	(cd "$work/feast-$store" && exec "$FEAST_VENV/bin/feast" serve -h 127.0.0.1 -p "$port" >"$work/feast-$store.log" 2>&1) &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/health" || { tail -20 "$work/feast-$store.log" >&2; exit 1; }
	measure "feast-$store" "http://127.0.0.1:$port" "" 0 # its workers are child processes
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null || true
done
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
