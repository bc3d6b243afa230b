package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
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

// icebergRefs reads a table's Iceberg refs (what Spark and PyIceberg see) from the project's catalog, by name
// ("tag:" for tags).
func icebergRefs(t *testing.T, c *cli, env, table string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, c.dir+"/strata-data/meta.db")
	require.NoError(t, err)
	defer db.Close()
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: c.dir + "/strata-data/warehouse"})
	require.NoError(t, err)
	id, err := lake.ParseIdent(table)
	require.NoError(t, err)
	info, err := lk.Describe(ctx, env, id)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, r := range info.Refs {
		if r.Type == "tag" {
			r.Name = "tag:" + r.Name
		}
		out[r.Name] = r.SnapshotID
	}
	return out
}

func pinOf(t *testing.T, c *cli, release string) int64 {
	t.Helper()
	var rel struct {
		Pins []struct {
			SnapshotID int64 `json:"snapshot_id"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("release", "show", release, "--env", "prod", "-o", "json")), &rel))
	require.Len(t, rel.Pins, 1)
	return rel.Pins[0].SnapshotID
}

// TestPublishKilledBeforeRefsMove: a publish killed (SIGKILL) after its release is committed and before the
// Iceberg refs move leaves other engines on the previous release, never on unpublished data; the next publish
// finds nothing new and repairs the refs.
func TestPublishKilledBeforeRefsMove(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	orders := c.file("orders.csv", ordersCSV)
	c.ok("table", "import", "--env", "dev", "raw.orders", orders)
	c.ok("env", "clone", "dev", "prod", "--force")
	c.ok("release", "publish", "--env", "prod")
	s1 := pinOf(t, c, "1")
	c.ok("table", "import", "--env", "dev", "raw.orders", orders)
	c.ok("env", "clone", "dev", "prod", "--force") // staged

	kill(t, startHooked(t, c, "release:pins-committed", "release", "publish", "--env", "prod"))
	s2 := pinOf(t, c, "2")
	require.NotEqual(t, s1, s2)
	require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
	require.Equal(t, map[string]int64{"main": s1, "staging": s2, "tag:release-1": s1}, icebergRefs(t, c, "prod", "raw.orders"))

	require.Contains(t, c.ok("release", "publish", "--env", "prod"), "nothing to publish: prod release 2")
	require.Equal(t, map[string]int64{"main": s2, "tag:release-1": s1, "tag:release-2": s2}, icebergRefs(t, c, "prod", "raw.orders"))
}
