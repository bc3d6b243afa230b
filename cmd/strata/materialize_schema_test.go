package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaterializeDropsRemovedFeatureCLI: after a feature is removed from a view and applied, a range run keeps
// the table's column and says so (text and JSON); a full run drops it from the table and says so; the older
// snapshot still shows it (table preview --snapshot); the server no longer serves it.
func TestMaterializeDropsRemovedFeatureCLI(t *testing.T) {
	c := featureProject(t)
	c.file("features/users.yaml", userStatsYAML+"  - name: stats_all\n    features: [user_stats]\n")
	c.ok("apply")
	var firstRuns []struct {
		SnapshotID int64   `json:"snapshot_id"`
		Note       *string `json:"note"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "user_stats", "-o", "json")), &firstRuns))
	first := fmt.Sprint(firstRuns[0].SnapshotID)
	require.Nil(t, firstRuns[0].Note, "nothing to say")
	var runs []map[string]any

	country := "      - {name: country, type: string}\n"
	require.Contains(t, userStatsYAML, country)
	c.file("features/users.yaml", strings.Replace(userStatsYAML, country, "", 1)+"  - name: stats_all\n    features: [user_stats]\n")
	c.ok("apply")

	stale := "features.user_stats still has column(s) country, which user_stats@2 no longer declares: this range run wrote them as NULL; " +
		"a full materialisation of the instance (without --incremental, --start or --end) drops them"
	require.Contains(t, c.ok("materialize", "user_stats", "--start", "2024-01-02"), "note: "+stale)
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "user_stats", "--start", "2024-01-02", "-o", "json")), &runs))
	require.Equal(t, []any{"country"}, runs[0]["stale_columns"])
	require.Equal(t, stale, runs[0]["note"])
	require.Equal(t, "user_id,country\n1,fr\n2,\n", c.ok("sql", "SELECT user_id, country FROM features.user_stats ORDER BY user_id", "--format", "csv"))

	out := c.ok("materialize", "user_stats", "-o", "json")
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	require.Equal(t, "full", runs[0]["mode"])
	require.Equal(t, []any{"country"}, runs[0]["dropped_columns"])
	require.Equal(t, "dropped column(s) country of features.user_stats, which user_stats@2 no longer declares (older snapshots keep them)", runs[0]["note"])
	require.Equal(t, "user_id,event_ts,created_ts,total\n", c.ok("sql", "SELECT * FROM features.user_stats LIMIT 0", "--format", "csv"))
	require.Contains(t, c.ok("table", "preview", "--env", "dev", "features.user_stats", "--snapshot", first), "country")

	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR="}, "--addr", "127.0.0.1:0")
	status, body := p.post(t, "/get-online-features?env=dev", `{"feature_service": "stats_all", "entities": {"user_id": [1]}}`)
	require.Equal(t, 200, status, body)
	var resp struct {
		Metadata struct {
			FeatureNames []string `json:"feature_names"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	require.Equal(t, []string{"user_id", "total"}, resp.Metadata.FeatureNames)
}

// TestMaterializeRunsListNotes: `strata materialize runs` shows the note a run printed, in text and in -o json
// (with the stale or dropped columns), after the run.
func TestMaterializeRunsListNotes(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	c.ok("materialize", "user_stats")
	country := "      - {name: country, type: string}\n"
	c.file("features/users.yaml", strings.Replace(userStatsYAML, country, "", 1))
	c.ok("apply")
	c.ok("materialize", "user_stats", "--start", "2024-01-02")
	c.ok("materialize", "user_stats")

	stale := "note: features.user_stats still has column(s) country, which user_stats@2 no longer declares: this range run wrote them as NULL"
	dropped := "note: dropped column(s) country of features.user_stats, which user_stats@2 no longer declares (older snapshots keep them)"
	text := c.ok("materialize", "runs", "--view", "user_stats")
	require.Contains(t, text, stale)
	require.Contains(t, text, dropped)

	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "runs", "--view", "user_stats", "-o", "json")), &runs))
	require.Len(t, runs, 3)
	modes := map[string]map[string]any{}
	for _, r := range runs {
		modes[fmt.Sprint(r["mode"])+fmt.Sprint(r["view_version"])] = r
	}
	require.Equal(t, []any{"country"}, modes["full2"]["dropped_columns"])
	require.Equal(t, []any{"country"}, modes["range2"]["stale_columns"])
	require.Contains(t, modes["range2"]["note"], "this range run wrote them as NULL")
	require.Nil(t, modes["full1"]["note"])
	require.Nil(t, modes["full1"]["dropped_columns"])
}
