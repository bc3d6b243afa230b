package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaterializeCLI: materialize computes the views into features.<instance>, prints the runs (table and
// JSON), continues incrementally, and lists the runs; prod needs --force; bad times are usage errors.
func TestMaterializeCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	out := c.ok("materialize")
	require.Contains(t, out, "features.user_stats")
	require.Contains(t, out, "features.user_orders")
	require.Contains(t, out, "full")
	require.Equal(t, "user_id,total,country\n1,10.5,fr\n2,3.25,de\n",
		c.ok("sql", "SELECT user_id, total, country FROM features.user_stats ORDER BY user_id", "--format", "csv"))

	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "user_orders(factor=10)", "-o", "json")), &runs))
	require.Len(t, runs, 1)
	require.Equal(t, "features.user_orders__p6685b5791e", runs[0]["table"])
	require.Equal(t, "succeeded", runs[0]["status"])
	require.Equal(t, "scaled\n105\n32.5\n", c.ok("sql", "SELECT scaled FROM features.user_orders__p6685b5791e ORDER BY user_id", "--format", "csv"))

	c.ok("table", "import", "--env", "dev", "clean.users", c.file("more.csv", "user_id,event_ts,created_ts,total,country\n3,2024-02-01 00:00:00,2024-02-01 00:00:00,1.5,it\n"))
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "user_stats", "--incremental", "-o", "json")), &runs))
	require.Equal(t, "incremental", runs[0]["mode"])
	require.Equal(t, float64(1), runs[0]["rows"])

	var all []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "runs", "--view", "user_stats", "-o", "json")), &all))
	require.Len(t, all, 2)
	require.Contains(t, c.ok("materialize", "runs"), "user_orders@1(factor=10,skip=x)")

	require.Contains(t, c.fail(exitUsage, "materialize", "--start", "yesterday"), "--start")
	require.Contains(t, c.fail(exitNotFound, "materialize", "nope"), `no feature definition "nope"`)
	c.ok("table", "import", "--env", "prod", "clean.users", c.file("users.csv", featureUsersCSV), "--force")
	c.ok("release", "publish", "--env", "prod", "clean.users")
	c.ok("apply", "--env", "prod")
	require.Contains(t, c.fail(exitConflict, "materialize", "--env", "prod"), "--force")
	c.ok("materialize", "--env", "prod", "--force")
}
