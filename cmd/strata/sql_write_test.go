package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLRefusesLakeWrites: a statement of strata sql that would write a lake table (it runs in a fresh DuckDB
// database whose lake tables are read-only views) is refused before it runs, naming the table and where such
// writes go; the table is unchanged. A script's temporary tables and literals that look like writes still run.
func TestSQLRefusesLakeWrites(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	for _, q := range []string{
		"INSERT INTO raw.orders SELECT * FROM raw.orders",
		"WITH a AS (SELECT 1) INSERT INTO raw.orders SELECT * FROM raw.orders",
		"CREATE OR REPLACE TABLE raw.orders AS SELECT 1 AS a",
		"SELECT 1; DROP TABLE raw.orders",
		"DELETE FROM raw.orders",
		"UPDATE raw.orders SET amount = 0",
	} {
		stderr := c.fail(exitUsage, "sql", "--env", "dev", q)
		require.Contains(t, stderr, "strata sql only reads lake tables, and this statement writes raw.orders", q)
		require.Contains(t, stderr, "psql -h 127.0.0.1 -p 5433 -d dev", q)
	}
	require.Equal(t, "n\n3\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"), "nothing changed")
	require.Equal(t, "n\n3\n", c.ok("sql", "--format", "csv",
		"CREATE TEMP TABLE t AS SELECT * FROM raw.orders; INSERT INTO t SELECT * FROM t WHERE false; SELECT count(*) AS n FROM t"))
	require.Equal(t, "s\ninsert into raw.orders\n", c.ok("sql", "--format", "csv", "SELECT 'insert into raw.orders' AS s"))
}
