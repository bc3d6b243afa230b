package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

const ordersCSV = `order_id,user_id,status,amount,ordered_at
1,10,paid,12.50,2026-01-01 10:00:00
2,11,shipped,99.99,2026-01-02 11:30:00
3,10,paid,5.00,2026-01-03 09:15:00
`

const usersCSV = `user_id,name,country
10,ada,DE
11,bob,FR
`

func TestTour(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var env []string
			if b.Name == "postgres" {
				env = append(env, "STRATA_META_DSN="+b.DSN(t))
			}
			c := newCLI(t, env...)
			tour(t, c)
		})
	}
}

func tour(t *testing.T, c *cli) {
	out := c.ok("init")
	require.Contains(t, out, "Created a Strata project")
	require.FileExists(t, filepath.Join(c.dir, "strata.yaml"))
	for _, d := range []string{"features", "jobs", "pipelines"} {
		require.DirExists(t, filepath.Join(c.dir, d))
	}
	c.fail(exitUsage, "init") // already a project

	orders := c.file("orders.csv", ordersCSV)
	out = c.ok("table", "import", "--env", "dev", "raw.orders", orders)
	require.Contains(t, out, "created dev.raw.orders: 3 rows")
	out = c.ok("table", "import", "--env", "dev", "raw.orders", orders, "--mode", "append")
	require.Contains(t, out, "appended dev.raw.orders: 3 rows")
	c.ok("table", "import", "--env", "dev", "raw.users", c.file("users.csv", usersCSV))

	golden(t, "table_list", normalize(c.ok("table", "list", "--env", "dev"), c.dir))
	golden(t, "table_schema", c.ok("table", "schema", "--env", "dev", "raw.orders"))

	var snaps []map[string]any
	dec := json.NewDecoder(strings.NewReader(c.ok("table", "snapshots", "--env", "dev", "raw.orders", "-o", "json")))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&snaps))
	require.Len(t, snaps, 2)
	first := snapshotID(t, snaps[0])

	// Time travel: the first snapshot has 3 rows, the latest 6.
	out = c.ok("table", "preview", "--env", "dev", "raw.orders", "--snapshot", first, "--format", "csv")
	require.Equal(t, 4, strings.Count(out, "\n"), out)
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "dev", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	// --as-of: before the first snapshot there is nothing; now there are 6 rows.
	c.fail(exitNotFound, "table", "preview", "--env", "dev", "raw.orders", "--as-of", "2001-01-01")
	out = c.ok("table", "preview", "--env", "dev", "raw.orders", "--as-of", time.Now().UTC().Add(time.Minute).Format(time.RFC3339), "--format", "csv")
	require.Equal(t, 7, strings.Count(out, "\n"), out)

	golden(t, "sql_join", c.ok("sql", "--env", "dev", `SELECT u.name, count(*) AS orders, sum(o.amount) AS total
		FROM raw.orders o JOIN raw.users u USING (user_id) GROUP BY u.name ORDER BY u.name`))
	out = c.ok("sql", "--env", "dev", "--format", "json", "SELECT DISTINCT order_id, status FROM raw.orders ORDER BY order_id LIMIT 2")
	require.JSONEq(t, `[{"order_id":1,"status":"paid"},{"order_id":2,"status":"shipped"}]`, out)
	pq := filepath.Join(c.dir, "out.parquet")
	c.ok("sql", "--env", "dev", "SELECT * FROM raw.orders", "--out", pq)
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "dev", "--format", "csv", "SELECT count(*) AS n FROM read_parquet('"+pq+"')"))

	// prod: written only with --force; readers see only releases.
	errs := c.fail(exitConflict, "table", "import", "--env", "prod", "raw.orders", orders)
	require.Contains(t, errs, "--force")
	c.ok("env", "clone", "dev", "prod", "--force")
	errs = c.fail(exitNotFound, "sql", "--env", "prod", "SELECT count(*) FROM raw.orders")
	require.Contains(t, errs, "strata release publish --env prod raw.orders")
	out = c.ok("release", "publish", "--env", "prod")
	require.Contains(t, out, "published prod release 1 (2 tables)")
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))

	// A forced prod write is invisible until published; then rollback restores release 1's view.
	c.ok("table", "import", "--env", "prod", "raw.orders", orders, "--force")
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	c.ok("release", "publish", "--env", "prod", "raw.orders", "--note", "more orders")
	require.Equal(t, "n\n9\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	golden(t, "release_diff", normalize(c.ok("release", "diff", "1", "2", "--env", "prod"), c.dir))
	c.ok("release", "rollback", "1", "--env", "prod")
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	golden(t, "release_list", normalize(c.ok("release", "list", "--env", "prod"), c.dir))

	// dev is independent of prod: clone prod's pins back to dev, then dev writes do not reach prod.
	c.ok("env", "clone", "prod", "dev", "raw.orders")
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "dev", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	c.ok("table", "import", "--env", "dev", "raw.orders", orders)
	require.Equal(t, "n\n9\n", c.ok("sql", "--env", "dev", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))

	out = c.ok("env", "audit")
	for _, action := range []string{"release.publish", "release.rollback", "env.clone", "table.import.forced"} {
		require.Contains(t, out, action)
	}

	// Expire dev's old snapshots: the latest stays readable, and so does prod, which shares older files.
	out = c.ok("table", "expire", "--env", "dev", "raw.orders", "--older-than", "0s", "--retain-last", "1")
	require.Contains(t, out, "expired snapshots:")
	require.Equal(t, "n\n9\n", c.ok("sql", "--env", "dev", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))

	c.ok("table", "rm", "--env", "dev", "raw.users")
	c.fail(exitNotFound, "table", "show", "--env", "dev", "raw.users")
	// prod still reads users through its release, even though the files were first written by dev.
	require.Equal(t, "n\n2\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.users"))
}

func snapshotID(t *testing.T, m map[string]any) string {
	t.Helper()
	for _, k := range []string{"snapshot_id", "ID", "id"} {
		if v, ok := m[k]; ok {
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	t.Fatalf("no snapshot id in %v", m)
	return ""
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	orders := c.file("orders.csv", ordersCSV)
	cases := []struct {
		name string
		code int
		args []string
		want string
	}{
		{"unknown env", exitNotFound, []string{"table", "list", "--env", "staging"}, `environment "staging"`},
		{"unknown table", exitNotFound, []string{"table", "show", "--env", "dev", "raw.nope"}, "raw.nope"},
		{"unknown zone", exitNotFound, []string{"table", "import", "--env", "dev", "bronze.orders", orders}, "bronze"},
		{"bad table name", exitUsage, []string{"table", "show", "--env", "dev", "orders"}, "must be written zone.name"},
		{"missing file", exitNotFound, []string{"table", "import", "--env", "dev", "raw.x", filepath.Join(c.dir, "nope.csv")}, "nope.csv"},
		{"bad mode", exitUsage, []string{"table", "import", "--env", "dev", "raw.x", orders, "--mode", "merge"}, "append or overwrite"},
		{"sql error", exitUsage, []string{"sql", "--env", "dev", "SELEC 1"}, "syntax error"},
		{"no sql", exitUsage, []string{"sql", "--env", "dev"}, "no SQL given"},
		{"bad release", exitUsage, []string{"release", "show", "abc"}, "release number"},
		{"no release", exitNotFound, []string{"release", "show"}, "no release yet"},
		{"publish in dev", exitUsage, []string{"release", "publish", "--env", "dev"}, "dev environment"},
		{"too many args", exitUsage, []string{"table", "show", "a.b", "c.d"}, "needs a table name"},
		{"bad output", exitUsage, []string{"env", "list", "-o", "xml"}, "table, json or yaml"},
		{"both snapshot flags", exitUsage, []string{"table", "preview", "raw.x", "--snapshot", "1", "--as-of", "2026-01-01"}, "not both"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			errs := c.fail(tc.code, tc.args...)
			require.Contains(t, errs, tc.want)
		})
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	require.NoError(t, os.WriteFile(filepath.Join(c.dir, "strata.yaml"), []byte("meta:\n  dns: x\n"), 0o644))
	errs := c.fail(exitUsage, "env", "list")
	require.Contains(t, errs, `unknown key "meta.dns"`)
	c2 := newCLI(t, "STRATA_SERVER_ADR=:1")
	errs = c2.fail(exitUsage, "env", "list")
	require.Contains(t, errs, "unknown environment variable STRATA_SERVER_ADR")
}

// readmeTour returns the shell code block of README.md's "A five-minute tour" section.
func readmeTour(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, "\n## A five-minute tour\n")
	require.GreaterOrEqual(t, i, 0, "README.md has no tour section")
	s = s[i:]
	start := strings.Index(s, "\n```sh\n")
	require.GreaterOrEqual(t, start, 0, "the tour has no ```sh block")
	s = s[start+len("\n```sh\n"):]
	end := strings.Index(s, "\n```\n")
	require.GreaterOrEqual(t, end, 0, "the tour's code block is not closed")
	return s[:end+1]
}

// TestReadmeTour runs README.md's tour exactly as written, with the built binary as `strata` on PATH, in an
// empty directory and with no STRATA_* variables: a newcomer's first five minutes. Any failing command fails
// the test, naming its line.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	tour := readmeTour(t)
	require.Contains(t, tour, "strata init")
	// Two lines precede the tour, so the failing line of the README block is $LINENO-2.
	script := "set -euo pipefail\ntrap 'echo \"README tour: line $((LINENO-2)) of the block failed (exit $?): $BASH_COMMAND\" >&2' ERR\n" + tour
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STRATA_") && !strings.HasPrefix(kv, "PATH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "the README tour failed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	// The time-travel lines show orders.csv's 3 rows, by id and by time.
	require.Equal(t, 2, strings.Count(out, "2026-01-03T09:15:00\n(3 rows)"), out)
	require.Contains(t, stderr.String(), "wrote 5 rows to orders.parquet")
	require.Contains(t, out, "published prod release 3 = release 1")
	require.Contains(t, out, `"status":"refunded"`)
	require.FileExists(t, filepath.Join(dir, "shop", "strata.yaml"))
}
