package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestApplyEachInvalidCaseStoresNothing: every kind of invalid definition the issue lists — unknown table or
// column, type mismatch, duplicate name, bad TTL, bad window, a parameter without a type, a cycle — fails
// `strata plan` and `strata apply` naming the file, the line and the field; apply stores nothing of the run,
// not even the valid change made in the same files (user_stats' TTL), and the earlier versions stay current.
func TestApplyEachInvalidCaseStoresNothing(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	valid := strings.Replace(userStatsYAML, "ttl: 30d", "ttl: 7d", 1)
	cases := []struct {
		name, from, to, extra, want string
	}{
		{name: "unknown table", from: "source: {table: clean.users}", to: "source: {table: clean.nope}",
			want: "features/users.yaml:7: feature_views.user_stats.source.table: unknown table clean.nope"},
		{name: "unknown column", from: "{name: country, type: string}", to: "{name: city, type: string}",
			want: `features/users.yaml:14: feature_views.user_stats.features[1].name: unknown column "city"`},
		{name: "type mismatch", from: "{name: country, type: string}", to: "{name: country, type: long}",
			want: "features/users.yaml:14: feature_views.user_stats.features[1].name: type mismatch: feature country is declared long but the column is string"},
		{name: "duplicate name", extra: "entities:\n  - name: user\n    join_keys: [{name: user_id, type: long}]\n",
			want: `features/zz.yaml:2: name: duplicate entity "user" (also declared at features/users.yaml:2)`},
		{name: "duplicate view", extra: "feature_views:\n  - name: user_stats\n    entities: [user]\n    source: {table: clean.users}\n    event_time: event_ts\n    features: [{name: total, type: double}]\n",
			want: `features/zz.yaml:2: name: duplicate feature view "user_stats" (also declared at features/users.yaml:5)`},
		{name: "bad ttl", from: "ttl: 0", to: "ttl: forever",
			want: `features/users.yaml:23: feature_views[1].ttl: bad TTL "forever"`},
		{name: "bad window", from: "{name: country, type: string}", to: "{name: country, type: string}\n      - {name: t7, type: double, aggregation: {function: sum, column: total, window: 7 days}}",
			want: "features/users.yaml:15: feature_views[0].features[2].aggregation.window:"},
		{name: "bad aggregation function", from: "{name: country, type: string}", to: "{name: country, type: string}\n      - {name: t7, type: double, aggregation: {function: median, column: total, window: 7d}}",
			want: "features/users.yaml:15: feature_views[0].features[2].aggregation.function:"},
		{name: "parameter without a type", from: "factor: {type: int, default: 2}", to: "factor: {default: 2}",
			want: "features/users.yaml:20: feature_views[1].source.params.factor.type: a parameter needs a type"},
		{name: "cycle", extra: "feature_services:\n  - name: a\n    include: [b]\n  - name: b\n    include: [a]\n",
			want: "features/zz.yaml:2: include: cycle: a -> b -> a"},
		{name: "unknown entity", from: "entities: [user]\n    source: {table: clean.users}", to: "entities: [customer]\n    source: {table: clean.users}",
			want: `features/users.yaml:5: entities: unknown entity "customer" in view user_stats`},
	}
	for _, tc := range cases {
		text := valid
		if tc.from != "" {
			require.Contains(t, text, tc.from, tc.name)
			text = strings.Replace(text, tc.from, tc.to, 1)
		}
		c.file("features/users.yaml", text)
		zz := filepath.Join(c.dir, "features", "zz.yaml")
		_ = os.Remove(zz)
		if tc.extra != "" {
			c.file("features/zz.yaml", tc.extra)
		}
		require.Contains(t, c.fail(exitUsage, "plan"), tc.want, "plan: %s", tc.name)
		require.Contains(t, c.fail(exitUsage, "apply"), tc.want, "apply: %s", tc.name)
		_ = os.Remove(zz)
	}
	var defs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("features", "list", "-o", "json")), &defs))
	require.Len(t, defs, 4)
	for _, d := range defs {
		require.Equal(t, float64(1), d["version"], "%v: nothing of a failed apply is stored", d["name"])
	}
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("features", "describe", "user_stats", "-o", "json")), &d))
	require.Equal(t, "30d", d["spec"].(map[string]any)["ttl"], "the valid TTL change of a failed run is not stored")
	var audit []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("env", "audit", "dev", "-o", "json")), &audit))
	applies := 0
	for _, e := range audit {
		if e["action"] == "features.apply" {
			applies++
		}
	}
	require.Equal(t, 1, applies, "failed applies leave no audit entry")

	// The files fixed: the valid change is planned and applied as v2.
	c.file("features/users.yaml", valid)
	require.Contains(t, normalize(c.ok("plan"), c.dir), "change  view  user_stats  v1 -> v2")
	require.Contains(t, c.ok("apply"), "stored 1 change(s) in dev")
}
