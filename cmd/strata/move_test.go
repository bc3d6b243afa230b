package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

func (c *cli) job(name, body string) string {
	c.t.Helper()
	require.NoError(c.t, os.MkdirAll(filepath.Join(c.dir, "jobs"), 0o755))
	return c.file(filepath.Join("jobs", name), body)
}

// TestMoveFilesJob: plan, run, runs and show of a files → lake job, with params, -o json and the errors users
// meet (a misspelt key, a param of the wrong type, a prod write without --force).
func TestMoveFilesJob(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	require.NoError(t, os.MkdirAll(filepath.Join(c.dir, "in"), 0o755))
	c.file("in/orders_2026-11-24.csv", "order_id,amt,note\n1,1.5,a\n2,2.5,b\n")
	job := c.job("orders.yaml", `name: orders
params:
  day: {type: date, default: today}
source: {type: files, path: '`+c.dir+`/in/orders_{{ day }}.csv'}
target: {type: lake, table: raw.orders}
columns:
  - {name: amt, rename: amount}
  - {name: note, drop: true}
`)
	out := c.ok("move", "plan", job, "--param", "day=2026-11-24")
	require.Contains(t, out, "param day = 2026-11-24")
	require.Contains(t, out, "amount double")
	require.Contains(t, out, "target raw.orders does not exist: the run creates it")

	out = c.ok("move", "run", job, "--env", "dev", "--param", "day=2026-11-24")
	require.Contains(t, out, "of job orders in dev: succeeded")
	require.Contains(t, out, "rows: 2 read, 2 written, 0 rejected")

	out = c.ok("move", "runs", "orders", "-o", "json")
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	require.Len(t, runs, 1)
	require.Equal(t, "succeeded", runs[0]["status"])
	require.Equal(t, map[string]any{"day": "2026-11-24"}, runs[0]["params"])
	id := runs[0]["id"].(string)
	require.Contains(t, c.ok("move", "show", id), "rows: 2 read, 2 written")
	require.Contains(t, c.ok("move", "runs"), id)
	c.fail(exitNotFound, "move", "show", "nope")
	require.Contains(t, c.ok("move", "plan", job, "--param", "day=2026-11-24"), "target columns match")

	errs := c.fail(exitUsage, "move", "run", job, "--param", "day=yesterday")
	require.Contains(t, errs, `param "day": "yesterday" is not a date`)
	errs = c.fail(exitUsage, "move", "run", job, "--param", "dya=2026-11-24")
	require.Contains(t, errs, "--param dya: job orders has no such param")
	bad := c.job("bad.yaml", "name: bad\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x}\nshedule: daily\n")
	errs = c.fail(exitUsage, "move", "plan", bad)
	require.Contains(t, errs, bad+`:4: unknown field "shedule" in the job`)
	c.fail(exitNotFound, "move", "run", filepath.Join(c.dir, "jobs", "missing.yaml"))

	errs = c.fail(exitConflict, "move", "run", job, "--env", "prod", "--param", "day=2026-11-24")
	require.Contains(t, errs, "--force")
	out = c.ok("move", "run", job, "--env", "prod", "--force", "--param", "day=2026-11-24")
	require.Contains(t, out, "prod readers see it once a release pins it")
}

// TestMovePostgresJob: a postgres → lake job reads its DSN from the environment (never printed or stored),
// binds --param values (an injection attempt is data), and moves its watermark run by run.
func TestMovePostgresJob(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE orders (id int, name text, updated_at timestamptz);
		INSERT INTO orders VALUES (1, 'Zoë', '2026-01-01Z'), (2, 'x''); DROP TABLE orders; --', '2026-01-02Z')`)
	require.NoError(t, err)
	c := newCLI(t, "WAREHOUSE_DSN="+pg)
	c.ok("init")
	job := c.job("pg.yaml", `name: pg_orders
params: {skip: {type: string, default: none}}
source:
  type: postgres
  dsn: ${WAREHOUSE_DSN}
  query: SELECT id, name, updated_at FROM orders WHERE name <> {{ skip }} AND updated_at > {{ watermark }} ORDER BY id
incremental: {column: updated_at}
target: {type: lake, table: raw.orders}
`)
	out := c.ok("move", "run", job, "--param", "skip=x'); DROP TABLE orders; --")
	require.Contains(t, out, "rows: 1 read, 1 written")
	require.Contains(t, out, "watermark: - → 2026-01-01T00:00:00Z")
	require.NotContains(t, out, pg)

	_, err = db.Exec(`INSERT INTO orders VALUES (3, 'new', '2026-01-03Z')`)
	require.NoError(t, err)
	out = c.ok("move", "run", job, "-o", "json")
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rec))
	require.Equal(t, float64(2), rec["rows_written"], "row 2 (newer than the watermark; the first run skipped it by its param) and the new row 3")
	require.Equal(t, "2026-01-03T00:00:00Z", rec["watermark_after"])
	require.NotContains(t, out, pg)
	sqlOut := c.ok("sql", "--env", "dev", "SELECT count(*) AS n FROM raw.orders")
	require.Contains(t, sqlOut, "3")
	require.NotContains(t, strings.ToLower(c.ok("move", "runs", "-o", "json")), "warehouse_dsn")
}

// TestMovePlanGolden: the plan people read, against an existing table whose columns differ.
func TestMovePlanGolden(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "raw.orders", c.file("orders.csv", "order_id,amount,status\n1,1.5,paid\n"))
	c.file("new.csv", "order_id,amt,coupon\n2,2.5,XMAS\n")
	job := c.job("orders.yaml", `name: orders
params:
  day: {type: date, default: "2026-11-24"}
  limit: {type: int, default: 10}
source: {type: files, path: '`+c.dir+`/new.csv'}
target: {type: lake, table: raw.orders}
columns:
  - {name: amt, rename: amount, cast: string}
`)
	golden(t, "move_plan", normalize(c.ok("move", "plan", job), c.dir))
}

// TestMoveFilesAndPostgresTargets: through the CLI, a postgres source lands in hive-partitioned CSV files and
// those files land back in a PostgreSQL table by merge, twice with the same result; plan and run say where.
func TestMoveFilesAndPostgresTargets(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE orders (id int, day date, amount numeric(10,2));
		INSERT INTO orders VALUES (1, '2026-11-01', 1.50), (2, '2026-11-01', 2.50), (3, '2026-11-02', 3.00)`)
	require.NoError(t, err)
	c := newCLI(t, "PG="+pg)
	c.ok("init")
	out := filepath.Join(c.dir, "export")
	export := c.job("export.yaml", `name: export
source: {type: postgres, dsn: '${PG}', query: SELECT * FROM orders}
target: {type: files, path: '`+out+`', format: csv, partition_by: [day]}
`)
	plan := c.ok("move", "plan", export)
	require.Contains(t, plan, "job export: postgres → files "+out+" (append)")
	require.Contains(t, plan, "rows to read (estimate):")
	require.Contains(t, c.ok("move", "run", export), "target "+out+": 2 files")
	entries, err := os.ReadDir(filepath.Join(out, "day=2026-11-01"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	csv, err := os.ReadFile(filepath.Join(out, "day=2026-11-01", entries[0].Name()))
	require.NoError(t, err)
	require.Equal(t, "id,amount\n1,1.50\n2,2.50\n", string(csv))

	back := c.job("back.yaml", `name: back
source: {type: files, path: '`+out+`/day=2026-11-01'}
target: {type: postgres, dsn: '${PG}', table: public.orders_back, mode: merge, key: [id]}
`)
	for i := 0; i < 2; i++ {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", back, "-o", "json")), &rec))
		require.Equal(t, "postgres:public.orders_back", rec["target"])
		require.Equal(t, float64(2), rec["rows_written"])
	}
	var got string
	require.NoError(t, db.QueryRow(`SELECT string_agg(id || '=' || amount, ',' ORDER BY id) FROM orders_back`).Scan(&got))
	require.Equal(t, "1=1.5,2=2.5", got, "CSV carries no types: the amounts were read as doubles")
	require.NotContains(t, c.ok("move", "runs", "-o", "json"), pg)
}
