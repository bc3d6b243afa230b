# Sourced by bench/sql/bench.sh and bench/sql/floor/floor.sh (with $root set and the working directory at it):
# starts a throwaway PostgreSQL (scripts/lib/services.sh) and a `strata serve` with a fresh data dir, both on free
# loopback ports, using the test venv (scripts/lib/venv.sh). Sets $work (a temp dir removed on exit), $wire_port,
# $SVC_PG_PORT and $VENV_PYTHON, waits until the endpoint answers and prints the versions.
source scripts/lib/services.sh
source scripts/lib/venv.sh
venv_ensure "$root" >/dev/null
work=$(mktemp -d)
pg_dir="" server=""
cleanup() {
	[[ -z "$server" ]] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
	[[ -z "$pg_dir" ]] || svc_stop_pg "$pg_dir" || true
	rm -rf "$work"
}
trap cleanup EXIT
svc_start_pg
pg_dir=$SVC_PG_DIR
go build -tags duckdb_arrow -o "$work/strata" ./cmd/strata
wire_port=$(svc_free_port)
http_port=$(svc_free_port)
(cd "$work" && exec env STRATA_SQLWIRE_ADDR="127.0.0.1:$wire_port" ./strata serve --data-dir "$work/data" \
	--addr "127.0.0.1:$http_port" >"$work/server.log" 2>&1) &
server=$!
for _ in $(seq 100); do
	"$VENV_PYTHON" -c "import psycopg; psycopg.connect('postgresql://bench@127.0.0.1:$wire_port/dev', connect_timeout=1).close()" \
		2>/dev/null && break
	sleep 0.2
done
echo "PostgreSQL $("$(svc_pg_bindir)/postgres" --version | awk '{print $3}'), strata $(git rev-parse --short HEAD), $(nproc) cores"
