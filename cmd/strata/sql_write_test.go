package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// snapshotCount is how many snapshots dev's table has.
func (c *cli) snapshotCount(env, table string) int {
	c.t.Helper()
	var snaps []map[string]any
	require.NoError(c.t, json.Unmarshal([]byte(c.ok("table", "snapshots", "--env", env, table, "-o", "json")), &snaps))
	return len(snaps)
}

// TestSQLWritesInDev: in dev, strata sql runs CREATE TABLE AS, INSERT (SELECT, VALUES, a column list) and DROP
// TABLE through the write gate, one snapshot each, as the PostgreSQL endpoint does, and says what it wrote;
// IF [NOT] EXISTS that finds nothing to do writes nothing and says so.
func TestSQLWritesInDev(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	var out string
	for _, q := range []string{
		"CREATE TABLE clean.paid AS SELECT order_id, user_id, amount FROM raw.orders WHERE status = 'paid'",
		"INSERT INTO clean.paid SELECT order_id, user_id, amount FROM raw.orders WHERE status = 'shipped'",
		"INSERT INTO clean.paid VALUES (7, 12, 1.25), (8, NULL, NULL)",
		"insert into Clean.Paid (amount, order_id) values (2.5, 9)",
		"CREATE TABLE IF NOT EXISTS clean.paid AS SELECT 1 AS order_id",
	} {
		out += c.ok("sql", "--env", "dev", q)
	}
	golden(t, "sql_writes", normalize(out, c.dir))
	require.Equal(t, 4, c.snapshotCount("dev", "clean.paid"), "one snapshot per write; none for IF NOT EXISTS")
	require.Equal(t, "order_id,user_id,amount\n1,10,12.5\n2,11,99.99\n3,10,5\n7,12,1.25\n8,,\n9,,2.5\n",
		c.ok("sql", "--format", "csv", "SELECT * FROM clean.paid ORDER BY order_id"))

	require.Equal(t, "dropped dev.clean.paid\n", c.ok("sql", "DROP TABLE clean.paid"))
	require.Contains(t, c.fail(exitNotFound, "sql", "SELECT * FROM clean.paid"), "clean.paid")
	require.Equal(t, "dev.clean.paid does not exist: nothing dropped (IF EXISTS)\n", c.ok("sql", "DROP TABLE IF EXISTS clean.paid"))
	require.Contains(t, c.fail(exitNotFound, "sql", "DROP TABLE clean.paid"), "table clean.paid does not exist")
}

// TestSQLWriteJSON: -o json prints the list of writes: statement, environment, table, whether it changed
// anything, rows, snapshot and audit entry.
func TestSQLWriteJSON(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("sql", "-o", "json",
		"CREATE TABLE raw.t AS SELECT 1 AS a UNION ALL SELECT 2; DROP TABLE IF EXISTS raw.nope")), &got))
	require.Len(t, got, 2)
	snap, ok := got[0]["snapshot_id"].(float64)
	require.True(t, ok && snap != 0, "%v", got[0])
	require.NotEmpty(t, got[0]["audit_id"])
	delete(got[0], "snapshot_id")
	delete(got[0], "audit_id")
	require.Equal(t, []map[string]any{
		{"statement": "CREATE TABLE", "env": "dev", "table": "raw.t", "changed": true, "created": true, "rows": float64(2)},
		{"statement": "DROP TABLE", "env": "dev", "table": "raw.nope", "changed": false, "rows": float64(0)},
	}, got)
	require.Contains(t, c.fail(exitUsage, "sql", "--format", "csv", "DROP TABLE raw.t"),
		"--format csv: the last statement writes a lake table and returns no rows")
	require.Contains(t, c.fail(exitUsage, "sql", "--out", c.file("x.csv", ""), "DROP TABLE raw.t"), "returns no rows")
	out := c.ok("sql", "-o", "yaml", "CREATE OR REPLACE TABLE raw.t AS SELECT 3 AS a")
	require.Contains(t, out, "statement: CREATE TABLE\n")
	require.Contains(t, out, "replaced: true\n")
	require.Contains(t, out, "rows: 1\n")
}

// TestSQLWriteScript: a script's writes commit one by one, in order, and each statement reads what the writes
// before it committed; the statements before a write run in the same DuckDB database as its query (its
// temporary tables), and the rows of a last reading statement go to standard output, the writes to standard
// error.
func TestSQLWriteScript(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	script := c.file("script.sql", `
CREATE TEMP TABLE big AS SELECT order_id, amount FROM raw.orders WHERE amount > 10;
CREATE TABLE clean.big AS SELECT * FROM big;            -- 2 rows
INSERT INTO clean.big SELECT order_id, amount FROM raw.orders WHERE order_id = 3;
CREATE TABLE clean.counts AS SELECT count(*) AS n FROM clean.big;   -- sees the insert: 3
SELECT n FROM clean.counts;
`)
	out, errOut, code := c.run("sql", "--format", "csv", "-f", script)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "n\n3\n", out)
	require.Equal(t, "created dev.clean.big: 2 rows, snapshot <snapshot>\nappended dev.clean.big: 1 rows, snapshot <snapshot>\n"+
		"created dev.clean.counts: 1 rows, snapshot <snapshot>\n", normalize(errOut, c.dir))

	// A failing statement stops the script; the writes before it stay, and are reported.
	out, errOut, code = c.run("sql", "CREATE TABLE clean.kept AS SELECT 1 AS a; INSERT INTO clean.kept (b) VALUES (1); "+
		"CREATE TABLE clean.never AS SELECT 1 AS a")
	require.Equal(t, exitUsage, code, errOut)
	require.Contains(t, out, "created dev.clean.kept: 1 rows")
	require.Contains(t, errOut, `statement 2 of 3 (INSERT clean.kept): column "b" of relation clean.kept does not exist`)
	require.Equal(t, "a\n1\n", c.ok("sql", "--format", "csv", "SELECT * FROM clean.kept"))
	require.Contains(t, c.fail(exitNotFound, "sql", "SELECT * FROM clean.never"), "clean.never")
}

// TestSQLWriteSchemaMismatch: rows that do not fit the table (an unknown or repeated column, values of another
// type, more or fewer values than columns, other columns for CREATE OR REPLACE) are refused naming the columns,
// and nothing is written.
func TestSQLWriteSchemaMismatch(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	c.ok("sql", "CREATE TABLE clean.o AS SELECT order_id, amount FROM raw.orders")
	for _, tc := range []struct {
		sql, want string
		code      int
	}{
		{"INSERT INTO clean.o (order_id, status) VALUES (1, 'x')", `column "status" of relation clean.o does not exist`, exitUsage},
		{"INSERT INTO clean.o (order_id, order_id) VALUES (1, 2)", `column "order_id" specified more than once`, exitUsage},
		{"CREATE OR REPLACE TABLE clean.o AS SELECT order_id FROM raw.orders", "table columns missing from the data: amount (double)", exitUsage},
		{"INSERT INTO clean.o VALUES ('not a number', 1.0)", "casting from source column order_id", exitUsage},
		{"INSERT INTO clean.o VALUES (4, 1.0, 'extra')", "INSERT INTO clean.o gives another number of values than its 2 target columns (order_id, amount)", exitUsage},
		{"INSERT INTO clean.o VALUES (4)", "give one value per column, or name the columns the values fill", exitUsage},
		{"INSERT INTO clean.nope VALUES (1)", "relation clean.nope does not exist (create it with CREATE TABLE clean.nope AS SELECT ...)", exitNotFound},
		{"CREATE TABLE clean.o AS SELECT 1 AS order_id", "relation clean.o already exists (INSERT INTO it, or CREATE OR REPLACE TABLE)", exitConflict},
	} {
		require.Contains(t, c.fail(tc.code, "sql", tc.sql), tc.want, tc.sql)
	}
	require.Equal(t, 1, c.snapshotCount("dev", "clean.o"), "nothing written")
	require.Equal(t, "n\n3\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM clean.o"))
}

// TestSQLWritesRefusedInProd: prod's tables change only through releases: every lake write of strata sql is
// refused there, naming strata release, before any statement of the script runs; prod is unchanged.
func TestSQLWritesRefusedInProd(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "prod", "--force", "raw.orders", c.file("orders.csv", ordersCSV))
	c.ok("release", "publish", "--env", "prod")
	marker := filepath.Join(c.dir, "ran.csv")
	for _, q := range []string{
		"CREATE TABLE clean.x AS SELECT * FROM raw.orders",
		"INSERT INTO raw.orders SELECT * FROM raw.orders",
		"DROP TABLE raw.orders",
		"COPY (SELECT 1 AS a) TO '" + marker + "'; DROP TABLE IF EXISTS raw.nope",
	} {
		stderr := c.fail(exitConflict, "sql", "--env", "prod", q)
		require.Contains(t, stderr, "prod is read-only here: its tables change only through releases", q)
		require.Contains(t, stderr, "`strata release publish`", q)
	}
	require.NoFileExists(t, marker, "nothing of a refused script runs")
	require.Equal(t, 1, c.snapshotCount("prod", "raw.orders"))
	require.Equal(t, "n\n3\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	var tables []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("table", "list", "--env", "prod", "-o", "json")), &tables))
	require.Len(t, tables, 1)
}

// TestSQLWriteAudit: each write of strata sql is audited with the actor of every CLI write (the user running
// it), as action table.sql, and its snapshot names that actor and strata sql as its source.
func TestSQLWriteAudit(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("sql", "CREATE TABLE raw.a AS SELECT 1 AS x; INSERT INTO raw.a VALUES (2); DROP TABLE raw.a; CREATE TABLE raw.b AS SELECT 1 AS y")
	var audit []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("env", "audit", "dev", "-o", "json")), &audit))
	var got []string
	for _, e := range audit {
		require.Equal(t, "tester", e["actor"], "%v", e)
		got = append(got, e["action"].(string)+" "+e["target"].(string))
	}
	require.Equal(t, []string{"table.sql raw.b", "table.drop raw.a", "table.sql raw.a", "table.sql raw.a"}, got, "newest first")
	var snaps []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("table", "snapshots", "raw.b", "-o", "json")), &snaps))
	require.Len(t, snaps, 1)
	summary, _ := json.Marshal(snaps[0])
	require.Contains(t, string(summary), `"strata.actor":"tester"`)
	require.Contains(t, string(summary), `"strata.source":"sql"`)
}

// TestSQLRefusesOtherLakeWrites: a statement that would write a lake table otherwise than the three writes
// (UPDATE, DELETE, ALTER, a write inside WITH or EXPLAIN, COPY zone.name FROM) or leave the lake (ATTACH,
// INSTALL) is refused before anything runs, saying what to do; the table is unchanged. A script's
// temporary tables, files written with COPY and literals that look like writes still run.
func TestSQLRefusesOtherLakeWrites(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	for _, q := range []string{
		"WITH a AS (SELECT 1) INSERT INTO raw.orders SELECT * FROM raw.orders",
		"EXPLAIN ANALYZE INSERT INTO raw.orders SELECT * FROM raw.orders",
		"CREATE TABLE raw.copy AS SELECT 1 AS a; DELETE FROM raw.orders",
		"UPDATE raw.orders SET amount = 0",
		"ALTER TABLE raw.orders ADD COLUMN x INT",
		"TRUNCATE raw.orders",
	} {
		stderr := c.fail(exitUsage, "sql", "--env", "dev", q)
		require.Contains(t, stderr, "strata sql writes lake tables only with CREATE TABLE zone.name AS SELECT ...", q)
		require.Contains(t, stderr, "this statement writes raw.orders otherwise", q)
		require.Contains(t, stderr, "CREATE OR REPLACE TABLE raw.orders AS SELECT ...", q)
	}
	require.Contains(t, c.fail(exitUsage, "sql", "--env", "prod", "DELETE FROM raw.orders"), "prod's tables change only through releases (strata release publish)")
	for q, want := range map[string]string{
		"ATTACH '" + filepath.Join(c.dir, "x.duckdb") + "' AS x": "ATTACH is refused: strata sql reads the environment's lake tables",
		"INSTALL spatial":                 "INSTALL is refused: strata sql runs DuckDB offline",
		"SELECT 1; FORCE INSTALL spatial": "FORCE is refused",
		"COPY raw.orders FROM '" + c.file("more.csv", ordersCSV) + "'": "COPY raw.orders FROM is refused: load a file into a lake table with strata table import --env dev raw.orders FILE",
	} {
		require.Contains(t, c.fail(exitUsage, "sql", q), want, q)
	}
	require.NoFileExists(t, filepath.Join(c.dir, "x.duckdb"))
	require.Equal(t, 1, c.snapshotCount("dev", "raw.orders"), "nothing changed")
	require.Contains(t, c.fail(exitNotFound, "sql", "SELECT * FROM raw.copy"), "raw.copy", "nothing of a refused script ran")
	require.Equal(t, "n\n3\n", c.ok("sql", "--format", "csv",
		"CREATE TEMP TABLE t AS SELECT * FROM raw.orders; INSERT INTO t SELECT * FROM t WHERE false; SELECT count(*) AS n FROM t"))
	require.Equal(t, "s\ninsert into raw.orders\n", c.ok("sql", "--format", "csv", "SELECT 'insert into raw.orders' AS s"))
	file := filepath.Join(c.dir, "out.csv")
	c.ok("sql", "COPY (SELECT count(*) AS n FROM raw.orders) TO '"+file+"'")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "n\n3\n", string(b))
}

// TestSQLDatabaseQualifiedNames: strata sql accepts env.zone.name (and env.zone.name.col) for its --env, as
// the PostgreSQL endpoint does, in reads and writes; another environment's name is refused before anything
// runs; literals and struct field access are left as they are.
func TestSQLDatabaseQualifiedNames(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	for _, q := range []string{
		"SELECT count(*) AS n FROM dev.raw.orders",
		`SELECT count(*) AS n FROM "dev"."raw"."orders"`,
		"SELECT count(*) AS n FROM dev . raw . orders",
		"SELECT count(dev.raw.orders.order_id) AS n FROM dev.raw.orders",
	} {
		require.Equal(t, "n\n3\n", c.ok("sql", "--env", "dev", "--format", "csv", q), q)
	}
	require.Equal(t, "s,v\ndev.raw.orders,5\n", c.ok("sql", "--env", "dev", "--format", "csv",
		"SELECT 'dev.raw.orders' AS s, t.dev.raw AS v FROM (SELECT {'raw': 5} AS dev) t"))

	c.ok("sql", "--env", "dev", "CREATE TABLE dev.clean.x AS SELECT order_id FROM dev.raw.orders WHERE order_id <= 2")
	c.ok("sql", "--env", "dev", `INSERT INTO "dev".clean.x SELECT order_id FROM dev.raw.orders WHERE order_id = 3`)
	require.Equal(t, 2, c.snapshotCount("dev", "clean.x"))
	for _, q := range []string{
		"SELECT count(*) FROM prod.raw.orders",
		"INSERT INTO dev.clean.x SELECT order_id FROM prod.raw.orders",
		"CREATE TABLE prod.clean.y AS SELECT 1 AS a",
		"DROP TABLE prod.raw.orders",
	} {
		stderr := c.fail(exitUsage, "sql", "--env", "dev", q)
		require.Contains(t, stderr, "cross-database references are not implemented: prod.", q)
		require.Contains(t, stderr, "--env", q)
	}
	require.Equal(t, 2, c.snapshotCount("dev", "clean.x"), "nothing written")
	require.Contains(t, c.ok("sql", "--env", "dev", "DROP TABLE dev.clean.x"), "dropped dev.clean.x")
	require.Contains(t, c.fail(exitNotFound, "sql", "SELECT * FROM clean.x"), "clean.x")
}

// TestSQLScriptObjectsEndAtAWrite: a temporary table or macro made before a lake write is gone after it (the
// statements after a write read the new snapshots in a new database); using it then fails saying so, which
// statement ended it and what to do, and one made again after the write works.
func TestSQLScriptObjectsEndAtAWrite(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	c.ok("sql", "CREATE TABLE raw.x AS SELECT 1 AS id")
	errs := c.fail(exitUsage, "sql", "CREATE TEMP TABLE t AS SELECT 2 AS id; INSERT INTO raw.x SELECT * FROM t; SELECT count(*) FROM t")
	require.Contains(t, errs, "Table with name t does not exist")
	require.Contains(t, errs, "t was made by this script before its lake write (statement 2): temporary tables, views, macros and settings last until the next lake write")
	errs = c.fail(exitUsage, "sql", "CREATE MACRO twice(x) AS x * 2; CREATE TEMP TABLE u AS SELECT 3 AS id; INSERT INTO raw.x SELECT twice(id) FROM u; SELECT twice(3)")
	require.Contains(t, errs, "twice was made by this script before its lake write (statement 3)")
	require.Equal(t, "id\n1\n2\n6\n", c.ok("sql", "SELECT id FROM raw.x ORDER BY id", "--format", "csv"), "the writes before the error stay")

	out := c.ok("sql", "CREATE TEMP TABLE t AS SELECT 4 AS id; INSERT INTO raw.x SELECT * FROM t; CREATE OR REPLACE TEMP TABLE t AS SELECT 5 AS id; SELECT id FROM t", "--format", "csv")
	require.Equal(t, "id\n5\n", out)
	errs = c.fail(exitUsage, "sql", "SELECT * FROM nowhere_table")
	require.NotContains(t, errs, "made by this script", "only objects a write ended are explained")
}
