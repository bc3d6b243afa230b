package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/api"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

const featureDefs = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: user_stats
    entities: [user]
    source: {table: clean.users}
    event_time: event_ts
    ttl: 30d
    features: [{name: total, type: double}]
feature_services:
  - name: churn
    features: [user_stats:total]
`

// TestFeaturesBrowse: GET /envs/{env}/features lists current definitions by kind (views with their last
// materialised event time when known), /features/{name} one (NAME@N pinned), /versions every version.
func TestFeaturesBrowse(t *testing.T) {
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	reg := features.NewRegistry(db)
	d1, err := features.Parse("features/a.yaml", []byte(featureDefs))
	require.NoError(t, err)
	_, err = reg.Apply(ctx, "dev", d1, "ann")
	require.NoError(t, err)
	d2, err := features.Parse("features/a.yaml", []byte(strings.Replace(featureDefs, "ttl: 30d", "ttl: 7d", 1)))
	require.NoError(t, err)
	_, err = reg.Apply(ctx, "dev", d2, "bob")
	require.NoError(t, err)
	last := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	f := setup(t, api.Options{Features: reg, Freshness: func(_ context.Context, env, view string) (time.Time, bool, error) {
		return last, env == "dev" && view == "user_stats", nil
	}})

	code, _, body := f.get(t, "/envs/dev/features")
	require.Equal(t, 200, code, body)
	var list struct {
		Env          string
		Entities     []map[string]any `json:"entities"`
		FeatureViews []map[string]any `json:"feature_views"`
		Services     []map[string]any `json:"feature_services"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Entities, 1)
	require.Len(t, list.Services, 1)
	require.Len(t, list.FeatureViews, 1)
	v := list.FeatureViews[0]
	require.Equal(t, "user_stats", v["name"])
	require.EqualValues(t, 2, v["version"])
	require.Equal(t, "2026-11-20T08:00:00Z", v["last_materialized_event_time"])
	require.Equal(t, "7d", v["spec"].(map[string]any)["ttl"])
	require.NotContains(t, list.Services[0], "last_materialized_event_time", "freshness is for views")

	code, _, body = f.get(t, "/envs/dev/features/user_stats@1")
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `"ttl": "30d"`)
	code, _, body = f.get(t, "/envs/dev/features/user_stats/versions")
	require.Equal(t, 200, code, body)
	var vs struct{ Versions []features.Def }
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Len(t, vs.Versions, 2)
	require.Equal(t, "ann", vs.Versions[0].Actor)
	require.Equal(t, "bob", vs.Versions[1].Actor)

	// prod has no definitions yet: empty lists, not nulls; unknown names and environments are 404s.
	code, _, body = f.get(t, "/envs/prod/features")
	require.Equal(t, 200, code, body)
	require.JSONEq(t, `{"env":"prod","entities":[],"feature_views":[],"feature_services":[]}`, body)
	for _, p := range []string{"/envs/dev/features/nope", "/envs/dev/features/nope/versions", "/envs/qa/features", "/envs/dev/features/user_stats@9"} {
		code, _, body = f.get(t, p)
		require.Equal(t, 404, code, p+": "+body)
	}
	code, _, body = f.get(t, "/envs/dev/features/user_stats@x")
	require.Equal(t, 400, code, body)
	code, _, _ = f.get(t, "/envs/dev/features?kind=view")
	require.Equal(t, 400, code, "unknown query parameters are refused")
}

// TestFeaturesWithoutRegistry: a server without a registry answers 503, not a panic.
func TestFeaturesWithoutRegistry(t *testing.T) {
	f := setup(t, api.Options{})
	code, _, body := f.get(t, "/envs/dev/features")
	require.Equal(t, 503, code, body)
}
