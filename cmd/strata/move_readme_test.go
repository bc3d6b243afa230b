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

// readmeBlock returns the first ```lang code block after the README.md heading that starts with heading.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, "\n"+heading)
	require.GreaterOrEqual(t, i, 0, "README.md has no section %q", heading)
	s = s[i:]
	start := strings.Index(s, "\n```"+lang+"\n")
	require.GreaterOrEqual(t, start, 0, "the section has no ```%s block", lang)
	s = s[start+len("\n```"+lang+"\n"):]
	end := strings.Index(s, "\n```\n")
	require.GreaterOrEqual(t, end, 0, "the code block is not closed")
	return s[:end+1]
}

// TestReadmeMoveJob: the job README.md's movement section shows, copied as written into jobs/orders.yaml of a
// fresh project, plans and runs against a PostgreSQL table with the columns it names, through the commands the
// section lists (plan, run with --param, a staged prod run with --force, runs, show, -o json); a second run
// reads only rows past the watermark and merges them by key. Without $WAREHOUSE_DSN, plan and run name the
// file, line, field and variable.
func TestReadmeMoveJob(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE SCHEMA sales;
		CREATE TABLE sales.orders (order_id int PRIMARY KEY, amount numeric(10,2), qty int, note text, updated_at timestamptz);
		INSERT INTO sales.orders SELECT i, i * 1.5, i % 7, 'n' || i, timestamptz '2026-11-20Z' + i * interval '1 hour'
		FROM generate_series(1, 100) i`)
	require.NoError(t, err)
	c := newCLI(t, "WAREHOUSE_DSN="+pg)
	c.ok("init")
	job := c.job("orders.yaml", readmeBlock(t, "### Moving data with jobs", "yaml"))

	unset := &cli{t: t, dir: c.dir, environ: []string{"STRATA_PROJECT=" + c.dir, "USER=tester"}}
	for _, cmd := range []string{"plan", "run"} {
		errs := unset.fail(exitUsage, "move", cmd, job)
		require.Contains(t, errs, job+":5: source.dsn: environment variable WAREHOUSE_DSN is not set (the job reads it with ${WAREHOUSE_DSN})")
	}

	plan := c.ok("move", "plan", job, "--env", "dev")
	require.Contains(t, plan, "job orders_daily: postgres → dev.raw.orders (merge)")
	require.Contains(t, plan, "  quantity int\n")
	require.NotContains(t, plan, "note")
	require.Contains(t, plan, "target raw.orders does not exist: the run creates it")
	out := c.ok("move", "run", job, "--env", "dev", "--param", "day=2026-11-24")
	require.Contains(t, out, "rows: 100 read, 100 written, 0 rejected")
	require.Contains(t, out, "watermark: - → 2026-11-24T04:00:00Z")
	require.NotContains(t, out, pg)

	_, err = db.Exec(`UPDATE sales.orders SET amount = 0, updated_at = '2026-12-01Z' WHERE order_id = 7;
		INSERT INTO sales.orders VALUES (101, 9.99, 1, 'new', '2026-12-01Z')`)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", job, "--env", "dev", "-o", "json")), &rec))
	require.Equal(t, float64(2), rec["rows_read"])
	require.Equal(t, "2026-12-01T00:00:00Z", rec["watermark_after"])
	require.Equal(t, "n,total,seven\n101,7574.49,0.00\n",
		c.ok("sql", "--format", "csv", "SELECT count(*) AS n, sum(amount) AS total, max(amount) FILTER (WHERE order_id = 7) AS seven FROM raw.orders"))

	c.fail(exitConflict, "move", "run", job, "--env", "prod")
	require.Contains(t, c.ok("move", "run", job, "--env", "prod", "--force"), "prod readers see it once a release pins it")
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "runs", "orders_daily", "-o", "json")), &runs))
	require.Len(t, runs, 4, "the run without its DSN is recorded as failed; the refused prod run was not started")
	show := c.ok("move", "show", runs[0]["id"].(string))
	require.Contains(t, show, "of job orders_daily in prod: succeeded")
	require.Contains(t, show, "rows: 101 read, 101 written, 0 rejected")
}
