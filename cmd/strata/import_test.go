package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func snapshotCount(t *testing.T, c *cli, table string) int {
	t.Helper()
	out, _, code := c.run("table", "snapshots", "--env", "dev", table, "-o", "json")
	if code == exitNotFound {
		return -1 // the table does not exist
	}
	require.Equal(t, 0, code, out)
	var snaps []any
	require.NoError(t, json.Unmarshal([]byte(out), &snaps))
	return len(snaps)
}

func TestImportBadRows(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "raw.orders", c.file("good.csv", ordersCSV))
	cases := []struct {
		name, body string
		want       []string
	}{
		{"wrong column count", ordersCSV + "4,12,paid\n", []string{"bad.csv", "line 5"}},
		{"unparsable value", ordersCSV + "4,twelve,paid,1.0,2026-01-04 10:00:00\n", []string{"bad.csv", "line 5", "user_id"}},
		{"invalid utf-8", ordersCSV + "4,12,p\xffd,1.0,2026-01-04 10:00:00\n", []string{"bad.csv", "line 5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			bad := c.file("bad.csv", tc.body)
			errs := c.fail(exitBadInput, "table", "import", "--env", "dev", "raw.orders", bad)
			for _, w := range tc.want {
				require.Contains(t, errs, w)
			}
			require.Contains(t, errs, "--max-bad-rows")
			require.Equal(t, 1, snapshotCount(t, c, "raw.orders"), "a failed import must not commit a snapshot")
		})
	}
	c.t = t
	// Accept up to N bad rows and report them.
	bad := c.file("bad2.csv", ordersCSV+"4,twelve,paid,1.0,2026-01-04 10:00:00\n5,13,paid,2.0,2026-01-05 10:00:00\n")
	out := c.ok("table", "import", "--env", "dev", "raw.orders", bad, "--max-bad-rows", "1")
	require.Contains(t, out, "appended dev.raw.orders: 4 rows")
	require.Contains(t, out, "skipped 1 bad rows")
	require.Contains(t, out, "line 5")
	require.Equal(t, 2, snapshotCount(t, c, "raw.orders"))

	// A new table is not created by a failed import.
	c.fail(exitBadInput, "table", "import", "--env", "dev", "raw.fresh", c.file("bad3.csv", ordersCSV+"4,12\n"))
	require.Equal(t, -1, snapshotCount(t, c, "raw.fresh"))

	// JSON lines with a malformed line.
	jl := c.file("events.jsonl", "{\"id\": 1, \"kind\": \"a\"}\n{\"id\": 2, \"kind\": \n{\"id\": 3, \"kind\": \"c\"}\n")
	errs := c.fail(exitBadInput, "table", "import", "--env", "dev", "raw.events", jl)
	require.Contains(t, errs, "events.jsonl")
	require.Contains(t, errs, "line 2")
	out = c.ok("table", "import", "--env", "dev", "raw.events", jl, "--max-bad-rows", "1")
	require.Contains(t, out, "created dev.raw.events: 2 rows")
}

// TestImportColumnsMustMatch: an append whose columns differ from the table's is refused, showing the
// difference, unless --schema evolve (new columns) or --allow-missing-columns (missing ones) asks for it.
func TestImportColumnsMustMatch(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "raw.orders", c.file("orders.csv", ordersCSV))
	misspelt := c.file("misspelt.csv", "order_id,user_id,status,amout,ordered_at\n4,12,paid,1.5,2026-01-04 10:00:00\n")
	missing := c.file("missing.csv", "order_id,user_id,status,ordered_at\n5,12,paid,2026-01-05 10:00:00\n")
	extra := c.file("extra.csv", "order_id,user_id,status,amount,ordered_at,coupon\n6,12,paid,3.5,2026-01-06 10:00:00,XMAS\n")

	for _, tc := range []struct {
		name string
		file string
		args []string
		want []string
	}{
		{"misspelt", misspelt, nil, []string{"columns not in the table: amout (double)", "table columns missing from the data: amount (double)",
			"hint: check the file's column names; --schema evolve adds new columns to the table, --allow-missing-columns writes NULL"}},
		{"misspelt, evolve only", misspelt, []string{"--schema", "evolve"}, []string{"missing from the data: amount (double)", "hint: --allow-missing-columns"}},
		{"misspelt, missing allowed only", misspelt, []string{"--allow-missing-columns"}, []string{"columns not in the table: amout (double)", "hint: --schema evolve"}},
		{"missing", missing, nil, []string{"table columns missing from the data: amount (double)"}},
		{"extra", extra, []string{"--schema", "strict"}, []string{"columns not in the table: coupon (string)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			errs := c.fail(exitUsage, append([]string{"table", "import", "--env", "dev", "raw.orders", tc.file}, tc.args...)...)
			for _, w := range tc.want {
				require.Contains(t, errs, w)
			}
			require.Equal(t, 1, snapshotCount(t, c, "raw.orders"), "a refused import commits nothing")
		})
	}
	c.t = t

	out := c.ok("table", "import", "--env", "dev", "raw.orders", missing, "--allow-missing-columns")
	require.Contains(t, out, "appended dev.raw.orders: 1 rows")
	out = c.ok("table", "import", "--env", "dev", "raw.orders", extra, "--schema", "evolve")
	require.Contains(t, out, "added columns: coupon")
	require.Equal(t, "order_id,amount,coupon\n1,12.5,\n2,99.99,\n3,5,\n5,,\n6,3.5,XMAS\n",
		c.ok("sql", "--format", "csv", "SELECT order_id, amount, coupon FROM raw.orders ORDER BY order_id"))
	// Both at once: the misspelt column is added and amount is NULL, because the user asked for exactly that.
	c.ok("table", "import", "--env", "dev", "raw.orders", misspelt, "--schema", "evolve", "--allow-missing-columns")
	require.Equal(t, "order_id,amount,amout\n4,,1.5\n",
		c.ok("sql", "--format", "csv", "SELECT order_id, amount, amout FROM raw.orders WHERE order_id = 4"))
	require.Equal(t, 4, snapshotCount(t, c, "raw.orders"))
}

// TestImportColumnsFlag: --columns gives column definitions; --schema "NAME TYPE, ..." still does, deprecated.
func TestImportColumnsFlag(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	users := c.file("users.csv", usersCSV)
	c.ok("table", "import", "--env", "dev", "raw.users", users, "--columns", "user_id VARCHAR, name VARCHAR, country VARCHAR")
	out, errs, code := c.run("table", "import", "--env", "dev", "raw.users2", users, "--schema", "user_id VARCHAR, name VARCHAR, country VARCHAR")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "created dev.raw.users2: 2 rows")
	require.Contains(t, errs, "--schema \"NAME TYPE, ...\" is deprecated: use --columns")
	for _, name := range []string{"raw.users", "raw.users2"} {
		require.Contains(t, c.ok("table", "schema", "--env", "dev", name), "user_id  string")
	}
	var res struct {
		Table      string `json:"table"`
		SnapshotID int64  `json:"snapshot_id"`
		AddedRows  int64  `json:"added_rows"`
		Created    bool   `json:"created"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("table", "import", "--env", "dev", "raw.users", users, "-o", "json")), &res))
	require.Equal(t, "raw.users", res.Table)
	require.Equal(t, int64(2), res.AddedRows)
	require.False(t, res.Created)
	require.Positive(t, res.SnapshotID)
	errs = c.fail(exitUsage, "table", "import", "--env", "dev", "raw.users", users, "--schema", "loose")
	require.Contains(t, errs, "use strict or evolve")
	errs = c.fail(exitUsage, "table", "import", "--env", "dev", "raw.users", users, "--schema", "id BIGINT", "--columns", "id BIGINT")
	require.Contains(t, errs, "column definitions go in --columns")
	errs = c.fail(exitUsage, "table", "import", "--env", "dev", "raw.users", users, "--columns", "id")
	require.Contains(t, errs, "--columns entry \"id\"")
}
