# shellcheck shell=bash disable=SC2034 # sets variables for the scripts that source it
# Throwaway PostgreSQL and Redis servers for Strata's tests, on 127.0.0.1 and free ports.
# Sourced by scripts/test and scripts/pg-env; defines functions only, changes no shell options.
#
#   svc_start_pg      starts a PostgreSQL cluster in a new temp dir; sets SVC_PG_DIR, SVC_PG_PORT, SVC_PG_DSN
#   svc_stop_pg DIR   stops the cluster in DIR (if running) and removes DIR
#   svc_start_redis   starts redis-server in a new temp dir; sets SVC_REDIS_DIR, SVC_REDIS_PORT, SVC_REDIS_ADDR
#   svc_stop_redis DIR  stops that redis-server and removes DIR
#   svc_pg_alive DIR / svc_redis_alive DIR   tell whether the server in DIR still runs
#   svc_reap_orphans  stops servers left behind by runs that were killed (their owner process is gone)
#
# Each server dir records its owner in DIR/owner: the PID of the run that stops it (SVC_OWNER, default $$),
# or a word such as "pg-env" for servers meant to outlive the script that started them.
#
# As root, PostgreSQL (which refuses to run as root) runs as the `postgres` OS user from Debian's package.

svc_log() { printf '%s\n' "$*" >&2; }

# svc_pg_bindir prints the newest /usr/lib/postgresql/N/bin holding initdb (STRATA_PG_BINDIR overrides).
svc_pg_bindir() {
	if [[ -n "${STRATA_PG_BINDIR:-}" ]]; then
		printf '%s\n' "$STRATA_PG_BINDIR"
		return
	fi
	local best d
	# The glob sorts lexically (10 < 9): pick the highest major version numerically.
	best=$(for d in /usr/lib/postgresql/*/bin; do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; fi
	done | sort -t/ -k5,5n | tail -n 1)
	if [[ -z "$best" ]]; then
		svc_log "error: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin." \
			"Install them (Debian: sudo apt-get install postgresql) or set STRATA_TEST_PG_DSN to a server you run."
		return 1
	fi
	printf '%s\n' "$best"
}

# svc_port_in_use PORT succeeds if something accepts connections on 127.0.0.1:PORT.
svc_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# svc_free_port prints a port in 20000-59999 that nothing listens on now. The caller retries on a lost race.
svc_free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		svc_port_in_use "$p" || { printf '%s\n' "$p"; return 0; }
	done
	svc_log "error: found no free TCP port on 127.0.0.1"
	return 1
}

# svc_tmpdir PREFIX makes a short-named temp dir (PostgreSQL's unix socket path must stay under 107 bytes).
svc_tmpdir() {
	local base=/tmp
	[[ -w $base ]] || base=${TMPDIR:-/tmp}
	mktemp -d "$base/$1.XXXXXX"
}

# svc_as_pg runs a command as the user that owns the cluster: `postgres` when we are root, else ourselves.
# It runs from the cluster's dir so that `postgres` never needs access to our working directory.
svc_as_pg() {
	local dir=$1
	shift
	if ((EUID == 0)); then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

svc_start_pg() {
	local bindir dir port attempt
	bindir=$(svc_pg_bindir) || return 1
	if ((EUID == 0)) && ! getent passwd postgres >/dev/null; then
		svc_log "error: running as root, but there is no 'postgres' OS user to run PostgreSQL as." \
			"Install Debian's postgresql package (it creates the user), or run as a normal user."
		return 1
	fi
	dir=$(svc_tmpdir strata-pg) || return 1
	chmod 700 "$dir"
	echo "${SVC_OWNER:-$$}" >"$dir/owner"
	((EUID == 0)) && chown postgres: "$dir"
	if ! svc_as_pg "$dir" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1; then
		svc_log "error: initdb failed; its output:"
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		return 1
	fi
	for attempt in 1 2 3 4 5; do
		port=$(svc_free_port) || break
		# fsync and friends off: a throwaway cluster needs speed, not durability.
		if svc_as_pg "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			start >"$dir/pg_ctl.log" 2>&1; then
			SVC_PG_DIR=$dir
			SVC_PG_PORT=$port
			SVC_PG_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
			return 0
		fi
		svc_log "PostgreSQL did not start on port $port (attempt $attempt); server log:"
		tail -n 20 "$dir/postgres.log" >&2 2>/dev/null || cat "$dir/pg_ctl.log" >&2
	done
	rm -rf "$dir"
	svc_log "error: could not start PostgreSQL"
	return 1
}

svc_pg_alive() {
	local dir=$1 pid
	[[ -f "$dir/data/postmaster.pid" ]] || return 1
	pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || return 1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

svc_stop_pg() {
	local dir=$1 bindir pid
	[[ -n "$dir" && -d "$dir" ]] || return 0
	if svc_pg_alive "$dir"; then
		bindir=$(svc_pg_bindir 2>/dev/null) || bindir=""
		if [[ -z "$bindir" ]] || ! svc_as_pg "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1; then
			pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
			[[ -z "$pid" ]] || kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$dir"
}

# svc_redis_ping PORT succeeds when a Redis server answers PING on 127.0.0.1:PORT.
svc_redis_ping() {
	local reply
	reply=$(
		exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'PING\r\n' >&3
		IFS= read -r -t 2 line <&3 && printf '%s' "$line"
	) || return 1
	[[ "$reply" == "+PONG"* ]]
}

svc_start_redis() {
	local dir port attempt i pid
	if ! command -v redis-server >/dev/null 2>&1; then
		svc_log "error: redis-server not found. Install it (Debian: sudo apt-get install redis-server)" \
			"or set STRATA_TEST_REDIS_ADDR to a server you run."
		return 1
	fi
	dir=$(svc_tmpdir strata-redis) || return 1
	echo "${SVC_OWNER:-$$}" >"$dir/owner"
	for attempt in 1 2 3 4 5; do
		port=$(svc_free_port) || break
		rm -f "$dir/redis.pid"
		# No persistence (save "", no AOF); daemonised so that pg-env can leave it running.
		redis-server --bind 127.0.0.1 --port "$port" --protected-mode no --save "" --appendonly no \
			--daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
			>"$dir/start.log" 2>&1 || true
		for ((i = 0; i < 100; i++)); do
			pid=$(cat "$dir/redis.pid" 2>/dev/null) || pid=""
			if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && svc_redis_ping "$port"; then
				SVC_REDIS_DIR=$dir
				SVC_REDIS_PORT=$port
				SVC_REDIS_ADDR="127.0.0.1:$port"
				return 0
			fi
			sleep 0.1
		done
		svc_log "redis-server did not start on port $port (attempt $attempt); its log:"
		tail -n 20 "$dir/redis.log" >&2 2>/dev/null || cat "$dir/start.log" >&2
		[[ -z "$pid" ]] || kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
	svc_log "error: could not start redis-server"
	return 1
}

svc_redis_alive() {
	local pid
	pid=$(cat "$1/redis.pid" 2>/dev/null) || return 1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

svc_stop_redis() {
	local dir=$1 pid i
	[[ -n "$dir" && -d "$dir" ]] || return 0
	pid=$(cat "$dir/redis.pid" 2>/dev/null) || pid=""
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

svc_reap_orphans() {
	local dir owner base=/tmp
	[[ -w $base ]] || base=${TMPDIR:-/tmp}
	for dir in "$base"/strata-pg.* "$base"/strata-redis.*; do
		owner=$(cat "$dir/owner" 2>/dev/null) || continue
		# Only numeric owners; kill -0 fails for a dead PID (and succeeds or says EPERM for a live one).
		[[ "$owner" =~ ^[0-9]+$ ]] || continue
		kill -0 "$owner" 2>/dev/null && continue
		[[ "$(kill -0 "$owner" 2>&1)" == *"not permitted"* ]] && continue
		svc_log "stopping servers left behind by a killed test run: $dir"
		case $dir in
		*/strata-pg.*) svc_stop_pg "$dir" || true ;;
		*) svc_stop_redis "$dir" || true ;;
		esac
	done
}
