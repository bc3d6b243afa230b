package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestInstanceEndToEnd: one parameterised instance, user_orders(factor=10), named in a feature service, is
// materialised into its own table, served by a real `strata serve` from its own key space, and read by a
// dataset build through the service — the same values everywhere, distinct from the default instance's.
func TestInstanceEndToEnd(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "clean.users", c.file("users.csv", featureUsersCSV))
	defs := strings.Replace(userStatsYAML, "    ttl: 0\n    features: [{name: scaled, type: double}]", "    ttl: 0\n    online: true\n    features: [{name: scaled, type: double}]", 1)
	defs = strings.Replace(defs, "features: [user_stats:total, user_orders]", `features: ["user_orders(factor=10):scaled"]`, 1)
	require.Contains(t, defs, "online: true\n    features: [{name: scaled")
	c.file("features/users.yaml", defs)
	c.ok("apply")
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "-o", "json")), &runs))
	tables := map[string]bool{}
	for _, r := range runs {
		tables[r["table"].(string)] = true
	}
	require.True(t, tables["features.user_orders"] && tables["features.user_orders__p6685b5791e"],
		"without arguments: the default instance and the service's instance, each its own table: %v", tables)
	require.Equal(t, "scaled\n105\n32.5\n", c.ok("sql", "--format", "csv", "SELECT scaled FROM features.user_orders__p6685b5791e ORDER BY user_id"))

	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR="}, "--addr", "127.0.0.1:0")
	req := `{"features":["user_orders(factor=10):scaled","user_orders:scaled"],"entities":{"user_id":[1,2,3]},"full_feature_names":true}`
	var resp onlineAnswer
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := p.post(t, "/get-online-features?env=dev", req)
		require.Equal(t, 200, status, body)
		require.NoError(t, json.Unmarshal([]byte(body), &resp))
		if resp.Results[1].Statuses[0] == "PRESENT" && resp.Results[2].Statuses[0] == "PRESENT" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, []string{"user_id", "user_orders__p6685b5791e__scaled", "user_orders__scaled"}, resp.Metadata.FeatureNames)
	require.Equal(t, []any{105.0, 32.5, nil}, resp.Results[1].Values, "the instance's own key space")
	require.Equal(t, []any{21.0, 6.5, nil}, resp.Results[2].Values, "the default instance's")
	status, body := p.post(t, "/get-online-features?env=dev", `{"feature_service":"churn","entities":{"user_id":[2]}}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, "[32.5]", "the service names the instance")

	spine := c.file("spine.csv", "user_id,event_timestamp\n2,2024-01-03 00:00:00\n1,2024-01-03 00:00:00\n")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "churn")
	require.Equal(t, "scaled\n32.5\n105\n", c.ok("sql", "--format", "csv", "SELECT scaled FROM datasets.train ORDER BY spine_row"))
	require.Contains(t, c.ok("dataset", "show", "train"), "user_orders@1: scaled (factor=10 skip=x)")
}

// onlineAnswer is the part of a get-online-features answer the tests read.
type onlineAnswer struct {
	Metadata struct {
		FeatureNames []string `json:"feature_names"`
	} `json:"metadata"`
	Results []struct {
		Values   []any    `json:"values"`
		Statuses []string `json:"statuses"`
	} `json:"results"`
}
