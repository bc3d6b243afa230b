#!/usr/bin/env bash
# Materialising a large feature table into the online store: rows/s and peak RSS of each step, on the embedded
# store and on Redis, in one run.
#
#   bench/online/load10m.sh          # ROWS=10000000 ENTITIES=$ROWS FEATURES=10
#   ROWS=1000000 bench/online/load10m.sh   # the bounded 1M-row variant (docs/benchmarks.md, bulk fill)
#   KEEP=1 WORK=/tmp/l bench/online/load10m.sh; SKIP_SETUP=1 WORK=/tmp/l bench/online/load10m.sh   # serve steps again
#
# Steps: generate a Parquet file (bench/online/gen10m.py, pyarrow), `strata table import` it into dev's
# raw.events, `strata apply` an online view over it, `strata materialize` (its offline table: timed with
# /usr/bin/time), then start `strata serve` and time its first load of the online store — from the start of the
# process until the view is served (the log's "online rows loaded") — with the server's peak RSS (VmHWM) at
# that point, on the embedded store (bbolt) and then on a local redis-server (whose own memory is printed too).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROWS=${ROWS:-10000000}
ENTITIES=${ENTITIES:-$ROWS}
FEATURES=${FEATURES:-10}
PYTHON=${PYTHON:-$HOME/.cache/strata/venv/bin/python}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
timed() { # label cmd...: prints "label wall_s peak_rss_MB"
	local label=$1
	shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/$label.out" 2>&1 || { cat "$work/$label.out" >&2; return 1; }
	read -r wall kb <"$work/time"
	printf '%-22s wall=%7.1fs peak_rss=%6.0f MB rows/s=%9.0f\n' "$label" "$wall" "$((kb / 1024))" "$(echo "$ROWS / $wall" | bc -l)"
}

cd "$root"
go build -tags duckdb_arrow -o "$work/strata" ./cmd/strata
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $ROWS rows, $ENTITIES entities, $FEATURES float features"
proj="$work/project"
export STRATA_PROJECT=$proj STRATA_SQLWIRE_ADDR=
if [[ -n ${SKIP_SETUP:-} ]]; then
	rm -f "$proj/strata-data/online.db"
	cd "$proj"
else
timed generate "$PYTHON" bench/online/gen10m.py "$work/events.parquet" "$ROWS" "$ENTITIES" "$FEATURES"

mkdir -p "$proj/features"
{
	printf 'entities:\n  - name: user\n    join_keys: [{name: user_id, type: long}]\n'
	printf 'feature_views:\n  - name: events\n    entities: [user]\n    source: {table: raw.events}\n'
	printf '    event_time: event_ts\n    ttl: 0\n    online: true\n    features:\n'
	for ((i = 0; i < FEATURES; i++)); do printf '      - {name: f%d, type: double}\n' "$i"; done
} >"$proj/features/events.yaml"
cd "$proj"
"$work/strata" init >/dev/null
timed "table import" "$work/strata" table import --env dev raw.events "$work/events.parquet"
"$work/strata" apply >/dev/null
timed materialize "$work/strata" materialize --env dev
fi

first_load() { # label extra-env...: time from serve's start until the view is served, and its peak RSS then
	local label=$1 port start pid
	shift
	port=$(free_port)
	rm -f "$work/$label.log" # a rerun's old log must not end the wait below
	start=$(date +%s.%N)
	env "$@" STRATA_SERVING_SYNC_INTERVAL=1h "$work/strata" serve --addr "127.0.0.1:$port" >"$work/$label.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	until grep -q "online rows loaded" "$work/$label.log"; do
		if ! kill -0 "$pid" 2>/dev/null || grep -q "online load failed" "$work/$label.log"; then
			cat "$work/$label.log" >&2
			return 1
		fi
		sleep 0.2
	done
	local wall hwm anon cpu
	wall=$(echo "$(date +%s.%N) - $start" | bc -l)
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat") # user + system, steadier than wall on a loaded machine
	hwm=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
	anon=$(awk '/RssAnon/ {print int($2/1024)}' "/proc/$pid/status") # heap and DuckDB, without mapped files
	printf '%-22s wall=%7.1fs cpu=%5.1fs peak_rss=%6d MB rows/s=%9.0f  (%s; anonymous RSS after the load %d MB)\n' "$label" "$wall" "$cpu" "$hwm" \
		"$(echo "$ENTITIES / $wall" | bc -l)" "$(grep -o '"took":"[^"]*"\|took=[^ ]*' "$work/$label.log" | head -1)" "$anon"
	curl -fsS "http://127.0.0.1:$port/get-online-features?env=dev" -d '{"features":["events:f1"],"entities":{"user_id":[1]}}' | grep -q PRESENT ||
		{ echo "$label: entity 1 is not served" >&2; return 1; }
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

first_load "serve load, embedded"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
sleep 0.5
first_load "serve load, redis" STRATA_ONLINE_BACKEND=redis "STRATA_ONLINE_REDIS_ADDR=127.0.0.1:$redis_port"
echo "# redis-server used_memory: $(redis-cli -p "$redis_port" info memory | grep -o 'used_memory_human:[^[:space:]]*'), CPU $(redis-cli -p "$redis_port" info cpu | grep -o 'used_cpu_\(user\|sys\):[^[:space:]]*' | tr '\n' ' ')"
