package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const featureUsersCSV = "user_id,event_ts,created_ts,total,country\n" +
	"1,2024-01-01 00:00:00,2024-01-01 00:00:00,10.5,fr\n" +
	"2,2024-01-02 00:00:00,2024-01-02 00:00:00,3.25,de\n"

const userStatsYAML = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: user_stats
    entities: [user]
    source: {table: clean.users}
    event_time: event_ts
    created_time: created_ts
    ttl: 30d
    online: true
    features:
      - {name: total, type: double, description: money spent}
      - {name: country, type: string}
  - name: user_orders
    entities: [user]
    source:
      sql: SELECT user_id, event_ts, total * {{ factor }} AS scaled FROM clean.users WHERE country <> {{ skip }}
      params:
        factor: {type: int, default: 2}
        skip: {type: string, default: "x"}
    event_time: event_ts
    ttl: 0
    features: [{name: scaled, type: double}]
feature_services:
  - name: churn
    features: [user_stats:total, user_orders]
`

func featureProject(t *testing.T) *cli {
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "clean.users", c.file("users.csv", featureUsersCSV))
	require.NoError(t, os.MkdirAll(filepath.Join(c.dir, "features"), 0o755))
	c.file("features/users.yaml", userStatsYAML)
	return c
}

// TestFeaturesPlanApply: plan lists what apply stores; apply versions every changed definition; list,
// describe (with @N pins) and versions show the registry, as tables and as JSON.
func TestFeaturesPlanApply(t *testing.T) {
	c := featureProject(t)
	out := c.ok("plan")
	for _, want := range []string{"add  entity  user  v1  features/users.yaml", "add  view  user_stats  v1", "add  view  user_orders  v1",
		"add  service  churn  v1", "would store 4 change(s) in dev"} {
		require.Contains(t, normalize(out, c.dir), want)
	}
	require.Contains(t, c.ok("apply"), "stored 4 change(s) in dev")
	require.Contains(t, c.ok("plan"), "no changes: dev's feature registry matches features/")

	c.file("features/users.yaml", strings.Replace(userStatsYAML, "ttl: 30d", "ttl: 7d", 1))
	require.Contains(t, normalize(c.ok("plan"), c.dir), "change  view  user_stats  v1 -> v2  features/users.yaml  ttl")
	c.ok("apply")

	var defs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("features", "list", "-o", "json")), &defs))
	require.Len(t, defs, 4)
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("features", "describe", "user_stats@1", "-o", "json")), &d))
	require.Equal(t, float64(1), d["version"])
	require.Equal(t, "30d", d["spec"].(map[string]any)["ttl"])
	require.Contains(t, c.ok("features", "describe", "user_stats"), "view user_stats@2")
	var vs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("features", "versions", "user_stats", "-o", "json")), &vs))
	require.Len(t, vs, 2)
	require.Contains(t, c.fail(exitNotFound, "features", "describe", "user_stats@5"), "has no version 5")

	// Versions are per environment: prod has none yet.
	require.Contains(t, c.fail(exitNotFound, "features", "describe", "user_stats", "--env", "prod"), "strata apply --env prod")
	var audit []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("env", "audit", "dev", "-o", "json")), &audit))
	applies := 0
	for _, e := range audit {
		if e["action"] == "features.apply" {
			applies++
		}
	}
	require.Equal(t, 2, applies)
}

// TestFeaturesApplyInvalidStoresNothing: an invalid definition fails naming file, line and field, and no
// definition of the run is stored.
func TestFeaturesApplyInvalidStoresNothing(t *testing.T) {
	c := featureProject(t)
	cases := []struct{ name, from, to, want string }{
		{"unknown column", "{name: country, type: string}", "{name: city, type: string}",
			`features/users.yaml:14: feature_views.user_stats.features[1].name: unknown column "city"`},
		{"type mismatch", "{name: country, type: string}", "{name: country, type: long}",
			"features/users.yaml:14: feature_views.user_stats.features[1].name: type mismatch"},
		{"unknown table", "source: {table: clean.users}", "source: {table: clean.nope}",
			"features/users.yaml:7: feature_views.user_stats.source.table: unknown table clean.nope"},
		{"bad sql column", "total * {{ factor }} AS scaled", "total * {{ factor }} AS other", `features[0].name: unknown column "scaled"`},
		{"bad ttl", "ttl: 30d", "ttl: soon", `features/users.yaml:10: feature_views[0].ttl: bad TTL "soon"`},
	}
	for _, tc := range cases {
		c.file("features/users.yaml", strings.Replace(userStatsYAML, tc.from, tc.to, 1))
		errOut := c.fail(exitUsage, "apply")
		require.Contains(t, errOut, tc.want, tc.name)
	}
	var defs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("features", "list", "-o", "json")), &defs))
	require.Empty(t, defs)
}

// TestDatasetBuildCLI: a training set built from a spine file, shown with its lineage, readable with SQL.
func TestDatasetBuildCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n1,2023-12-01 00:00:00,y\n2,2024-01-03 00:00:00,z\n")
	out := c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total,user_orders:scaled",
		"--param", "user_orders.factor=3", "--full-names")
	require.Contains(t, out, "built datasets.train version 1 in dev: 3 rows")
	rows := c.ok("sql", "SELECT spine_row, label, user_stats__total, user_orders__scaled FROM datasets.train ORDER BY spine_row", "--format", "csv")
	require.Equal(t, "spine_row,label,user_stats__total,user_orders__scaled\n1,x,3.25,9.75\n2,y,,\n3,z,3.25,9.75\n", rows)

	show := c.ok("dataset", "show", "train")
	require.Contains(t, show, "user_orders@1: scaled (factor=3 skip=x) <- clean.users@")
	require.Regexp(t, `spine .*spine.csv \(time column event_timestamp, sha256:[0-9a-f]{64}\)`, show)
	require.Contains(t, c.ok("dataset", "list"), "train")

	require.Contains(t, c.fail(exitUsage, "dataset", "build", "bad", "--spine", spine, "--features", "user_orders:scaled",
		"--param", "user_orders.factor=1 OR 1=1"), "parameter factor")
	require.Contains(t, c.fail(exitUsage, "dataset", "build", "bad", "--spine", c.file("nokey.csv", "id,event_timestamp\n1,2024-01-01 00:00:00\n"),
		"--features", "user_stats:total"), `has no join key column "user_id"`)
	c.fail(exitNotFound, "dataset", "show", "bad")
}
