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
