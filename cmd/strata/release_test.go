package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPublishNothingNew: a publish that would pin what the current release pins publishes nothing, says so and
// exits 0; --allow-empty publishes anyway.
func TestPublishNothingNew(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "raw.orders", c.file("orders.csv", ordersCSV))
	c.ok("env", "clone", "dev", "prod", "--force")
	require.Contains(t, c.ok("release", "publish", "--env", "prod"), "published prod release 1 (1 tables)")

	golden(t, "release_publish_nothing", c.ok("release", "publish", "--env", "prod"))
	golden(t, "release_publish_nothing", c.ok("release", "publish", "--env", "prod", "raw.orders"))
	out, errs, code := c.run("release", "publish", "--env", "prod", "-o", "json")
	require.Equal(t, 0, code, errs)
	require.Contains(t, errs, "nothing to publish")
	var rel struct{ ID int64 }
	require.NoError(t, json.Unmarshal([]byte(out), &rel))
	require.Equal(t, int64(1), rel.ID, "the current, unchanged release")

	require.Contains(t, c.ok("release", "publish", "--env", "prod", "--allow-empty"), "published prod release 2 (1 tables)")
	require.Contains(t, c.ok("release", "show", "--env", "prod"), "release:  2")
}

// TestCloneKeepsDevHistory: cloning prod back into dev keeps dev's own unreleased snapshots: time travel to them
// works, and remove-orphans does not delete their files.
func TestCloneKeepsDevHistory(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	orders := c.file("orders.csv", ordersCSV)
	c.ok("table", "import", "--env", "dev", "raw.orders", orders)
	c.ok("env", "clone", "dev", "prod", "--force")
	c.ok("release", "publish", "--env", "prod")
	out := c.ok("table", "import", "--env", "dev", "raw.orders", orders) // dev's own, unreleased
	own := regexp.MustCompile(`snapshot (\d+)`).FindStringSubmatch(out)[1]

	out = c.ok("env", "clone", "prod", "dev")
	require.Regexp(t, `raw.orders: dev's former head is kept as tag pre-clone-\d{8}T\d{6}\.\d{3}Z`, out)
	require.Equal(t, "n\n3\n", c.ok("sql", "--env", "dev", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	preview := c.ok("table", "preview", "--env", "dev", "raw.orders", "--snapshot", own, "--format", "csv")
	require.Equal(t, 7, strings.Count(preview, "\n"), preview)

	require.Regexp(t, `deleted files:\s+0\n`, c.ok("table", "remove-orphans", "--env", "dev", "raw.orders", "--older-than", "0s"))
	preview = c.ok("table", "preview", "--env", "dev", "raw.orders", "--snapshot", own, "--format", "csv")
	require.Equal(t, 7, strings.Count(preview, "\n"), preview)
}
