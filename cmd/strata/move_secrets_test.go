package main

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestMoveDSNPasswordNeverShown: a DSN with a password (the whole DSN from one variable, or the password alone
// in a ${VAR} of the job's DSN) is never in what `move plan`, `move run`, `move runs` and `move show` print, in
// text or -o json, on success or failure (a bad query, a missing database, a malformed DSN, a failing postgres
// target), with debug logging on, nor in any file of the project (metadata, run history, lake snapshots).
func TestMoveDSNPasswordNeverShown(t *testing.T) {
	t.Parallel()
	const pw = "Pw9-mover-Sekrit"
	pg := testenv.PostgresDSN(t)
	u, err := url.Parse(pg)
	require.NoError(t, err)
	role := "mover_" + strings.TrimPrefix(u.Path, "/strata_test_")
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = db.Exec("DROP OWNED BY " + role + "; DROP ROLE IF EXISTS " + role)
		_ = db.Close()
	})
	_, err = db.Exec("CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD '" + pw + "'; " +
		"CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2)); INSERT INTO orders VALUES (1, 1.50), (2, 2.50)")
	require.NoError(t, err)
	u.User = url.UserPassword(role, pw)
	withPW := u.String()
	bad := *u
	bad.Path = "/no_such_database"
	c := newCLI(t, "STRATA_LOG_LEVEL=debug", "WAREHOUSE_DSN="+withPW, "MISSING_DB_DSN="+bad.String(),
		"MALFORMED_DSN=postgres://"+role+":"+pw+"@"+u.Host+":notaport/db", "MOVE_PW="+pw, "PGHOST_PORT="+u.Host)
	c.ok("init")
	job := func(name, source, target string) string {
		return c.job(name+".yaml", "name: "+name+"\nsource: "+source+"\ntarget: "+target+"\n")
	}
	pgSource := func(dsn, query string) string {
		return "{type: postgres, dsn: '" + dsn + "', query: '" + query + "'}"
	}
	good := []string{
		job("whole", pgSource("${WAREHOUSE_DSN}", "SELECT * FROM orders"), "{type: lake, table: raw.orders, mode: overwrite}"),
		job("part", pgSource("postgres://"+role+":${MOVE_PW}@${PGHOST_PORT}"+u.Path+"?sslmode=disable", "SELECT * FROM orders"),
			"{type: lake, table: raw.orders2}"),
		job("back", "{type: lake, table: raw.orders}", "{type: postgres, dsn: '${WAREHOUSE_DSN}', table: orders_copy, mode: merge, key: [id]}"),
	}
	failing := []string{
		job("badquery", pgSource("${WAREHOUSE_DSN}", "SELECT * FROM no_such_table"), "{type: lake, table: raw.x}"),
		job("nodb", pgSource("${MISSING_DB_DSN}", "SELECT 1 AS x"), "{type: lake, table: raw.x}"),
		job("malformed", pgSource("${MALFORMED_DSN}", "SELECT 1 AS x"), "{type: lake, table: raw.x}"),
		job("badtarget", "{type: lake, table: raw.orders}", "{type: postgres, dsn: '${WAREHOUSE_DSN}', table: orders, mode: append}"),
	}
	var printed []string
	show := func(args ...string) {
		t.Helper()
		out, errs, _ := c.run(args...)
		printed = append(printed, out, errs)
	}
	for _, j := range good {
		printed = append(printed, c.ok("move", "plan", j), c.ok("move", "run", j), c.ok("move", "run", j, "-o", "json"))
	}
	for _, j := range failing {
		show("move", "plan", j)
		_, errs, code := c.run("move", "run", j)
		require.NotEqual(t, 0, code, j)
		printed = append(printed, errs)
		show("move", "run", j, "-o", "json")
	}
	show("move", "runs")
	show("move", "runs", "-o", "json")
	var ids []string
	for _, line := range strings.Split(c.ok("move", "runs"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	require.Len(t, ids, 2*len(good)+2*len(failing), "every run is recorded")
	for _, id := range ids {
		show("move", "show", id)
		show("move", "show", id, "-o", "json")
	}
	all := strings.Join(printed, "\n")
	require.Contains(t, all, "no_such_table", "the failures were shown")
	require.Contains(t, all, "no_such_database")
	require.Contains(t, all, "user="+role, "the connection errors name the user, not the password")
	require.NotContains(t, all, pw)

	// Nothing the project keeps holds it either: metadata DB, run history, snapshot properties, data files.
	require.NoError(t, filepath.WalkDir(c.dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NotContains(t, string(data), pw, p)
		return nil
	}))
}
