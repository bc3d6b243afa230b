package feastapi_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/onlinetest"
	"github.com/strata-data/strata/online/record"
)

// writeFeatureTable writes rows (user_id, event_ts, created_ts, total, country, n) as the whole of the
// materialized table features.<name> of env, as strata materialize does, and returns the new snapshot.
func (f *fixture) writeFeatureTable(t *testing.T, env, name string, rows ...[]any) int64 {
	t.Helper()
	rdr := onlinetest.Rows(t, []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts},
		{Name: "created_ts", Type: ts, Nullable: true}, {Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, rows...)
	defer rdr.Release()
	res, err := f.envs.Write(f.ctx, env, lake.Ident{Zone: "features", Name: name}, rdr,
		envs.WriteOptions{Mode: envs.Overwrite, CreateIfMissing: true, Force: env == "prod", Actor: "test"})
	require.NoError(t, err)
	return res.SnapshotID
}

// served returns total/country/n of users 1..3 from the instance ref of env through /get-online-features
// ("-" for NOT_FOUND).
func (f *fixture) served(t *testing.T, env, ref string) []string {
	t.Helper()
	status, body := f.post(t, "/get-online-features?env="+env, `{"features": ["`+ref+`"], "entities": {"user_id": [1, 2, 3]}}`)
	require.Equal(t, 200, status, body)
	var resp struct {
		Results []struct {
			Values   []any    `json:"values"`
			Statuses []string `json:"statuses"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	out := make([]string, 3)
	for e := range out {
		if resp.Results[1].Statuses[e] == "NOT_FOUND" {
			out[e] = "-"
			continue
		}
		b, _ := json.Marshal(resp.Results[1].Values[e])
		out[e] = string(b)
	}
	return out
}

// TestSyncLoadsFeatureTables: the syncer serves the latest row per entity (event_ts, then created_ts, nulls
// last) of each online view instance's table, named by the view or by features.InstanceName of its parameters;
// a new snapshot is loaded into a new key space and the old one deleted; tables of views that are not online,
// or of no view, are not loaded.
func TestSyncLoadsFeatureTables(t *testing.T) {
	sync := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: sync})
	require.Equal(t, []string{"-", "-", "-"}, f.served(t, "dev", "user_stats:total"), "nothing loaded yet")

	t1, t2 := now.Add(-30*time.Minute), now.Add(-10*time.Minute)
	snap := f.writeFeatureTable(t, "dev", "user_stats",
		[]any{1, t1, t1, 1.0, "fr", 1}, []any{1, t2, nil, 2.0, "fr", 2}, []any{1, t2, t1, 3.0, "es", 3}, // same event: created wins
		[]any{2, t1, nil, 5.5, "de", 4})
	f.writeFeatureTable(t, "dev", "orders_agg__p"+hash10("min_amount=50"), []any{1, t1, nil, nil, nil, 42})
	f.writeFeatureTable(t, "dev", "user_history", []any{1, t1, nil, nil, nil, 1}) // not an online view
	f.writeFeatureTable(t, "dev", "leftover", []any{1, t1, nil, nil, nil, 1})     // no view
	require.NoError(t, sync.Sync(f.ctx, "dev"))

	require.Equal(t, []string{"3", "5.5", "-"}, f.served(t, "dev", "user_stats:total"))
	require.Equal(t, []string{`"es"`, `"de"`, "-"}, f.served(t, "dev", "user_stats:country"))
	require.Equal(t, []string{"42", "-", "-"}, f.served(t, "dev", "orders_agg(min_amount=50):n"), "a parameterised instance")
	require.Equal(t, []string{"-", "-", "-"}, f.served(t, "dev", "orders_agg:n"), "the default instance has no table")
	space, ok := sync.Served("dev", "user_stats")
	require.True(t, ok)
	require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", snap), space)
	for _, name := range []string{"user_history", "leftover", "orders_agg"} {
		_, ok := sync.Served("dev", name)
		require.False(t, ok, name)
	}
	require.Equal(t, []string{"-", "-", "-"}, f.served(t, "prod", "user_stats:total"), "environments are apart")

	// A push is served at once and kept over the next load unless the table has a newer row for its entity.
	status, body := f.post(t, "/push?env=dev", `{"push_source_name": "user_stats", "df": {"user_id": [3], "event_ts": ["2026-11-24T11:55:00Z"],
		"created_ts": [null], "total": [9.0], "country": ["it"], "n": [1]}}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"online_space":"`+space+`"`)
	require.Equal(t, []string{"3", "5.5", "9"}, f.served(t, "dev", "user_stats:total"))

	snap2 := f.writeFeatureTable(t, "dev", "user_stats", []any{1, t2, nil, 7.0, "pt", 1}, []any{2, now, nil, 6.0, "de", 2})
	require.NoError(t, sync.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"7", "6", "9"}, f.served(t, "dev", "user_stats:total"), "the new snapshot, and the newer pushed row")
	space2, _ := sync.Served("dev", "user_stats")
	require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", snap2), space2)
	_, kept, err := f.store.LastEvent(f.ctx, space)
	require.NoError(t, err)
	require.False(t, kept, "the previous snapshot's key space is deleted")

	// The view's table is dropped: its instance is no longer served.
	require.NoError(t, f.envs.Drop(f.ctx, "dev", lake.Ident{Zone: "features", Name: "orders_agg__p" + hash10("min_amount=50")}, false, "test"))
	require.NoError(t, sync.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"-", "-", "-"}, f.served(t, "dev", "orders_agg(min_amount=50):n"))
}

// TestSyncFailureKeepsPreviousSpace: a snapshot that cannot be loaded (its data files are gone) is an error
// naming the table, and the previous snapshot's rows stay served; once the table is readable again, it loads.
func TestSyncFailureKeepsPreviousSpace(t *testing.T) {
	sync := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: sync})
	f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
	require.NoError(t, sync.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"1", "-", "-"}, f.served(t, "dev", "user_stats:total"))

	f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 2.0, "fr", 1})
	plan, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "features", Name: "user_stats"}, lake.SnapshotRef{})
	require.NoError(t, err)
	hidden := map[string]string{}
	for _, file := range plan.Files {
		p := strings.TrimPrefix(file, "file://")
		require.NoError(t, os.Rename(p, p+".away"))
		hidden[p] = p + ".away"
	}
	err = sync.Sync(f.ctx, "dev")
	require.ErrorContains(t, err, "features.user_stats")
	require.Equal(t, []string{"1", "-", "-"}, f.served(t, "dev", "user_stats:total"), "the previous rows stay served")

	for p, away := range hidden {
		require.NoError(t, os.Rename(away, p))
	}
	require.NoError(t, sync.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"2", "-", "-"}, f.served(t, "dev", "user_stats:total"))
}

// TestSyncProdServesReleasedSnapshots: in a prod environment only the current release's pin is loaded, and a
// rollback loads the earlier pin again.
func TestSyncProdServesReleasedSnapshots(t *testing.T) {
	sync := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: sync})
	id := lake.Ident{Zone: "features", Name: "user_stats"}
	f.writeFeatureTable(t, "prod", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
	require.NoError(t, sync.Sync(f.ctx, "prod"))
	require.Equal(t, []string{"-", "-", "-"}, f.served(t, "prod", "user_stats:total"), "not released")

	first, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{id}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.NoError(t, sync.Sync(f.ctx, "prod"))
	require.Equal(t, []string{"1", "-", "-"}, f.served(t, "prod", "user_stats:total"))

	f.writeFeatureTable(t, "prod", "user_stats", []any{1, now, nil, 2.0, "fr", 1}, []any{2, now, nil, 3.0, "de", 1})
	require.NoError(t, sync.Sync(f.ctx, "prod"))
	require.Equal(t, []string{"1", "-", "-"}, f.served(t, "prod", "user_stats:total"), "staged, not released")
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{id}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.NoError(t, sync.Sync(f.ctx, "prod"))
	require.Equal(t, []string{"2", "3", "-"}, f.served(t, "prod", "user_stats:total"))

	_, err = f.envs.Rollback(f.ctx, "prod", first.ID, "test")
	require.NoError(t, err)
	require.NoError(t, sync.Sync(f.ctx, "prod"))
	require.Equal(t, []string{"1", "-", "-"}, f.served(t, "prod", "user_stats:total"), "the rollback's rows, not newer-wins")
}

// TestSyncReusesCompletedSpace: replicas sharing a store load a snapshot once: a second syncer finds the
// snapshot's key space complete and serves it without reading the table (whose files are gone here).
func TestSyncReusesCompletedSpace(t *testing.T) {
	first := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: first})
	snap := f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
	require.NoError(t, first.Sync(f.ctx, "dev"))

	plan, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "features", Name: "user_stats"}, lake.SnapshotRef{})
	require.NoError(t, err)
	for _, file := range plan.Files {
		require.NoError(t, os.Remove(strings.TrimPrefix(file, "file://")))
	}
	second := &feastapi.Syncer{Defs: first.Defs, Envs: first.Envs, Engine: first.Engine, Store: first.Store}
	require.NoError(t, second.Sync(f.ctx, "dev"))
	space, ok := second.Served("dev", "user_stats")
	require.True(t, ok)
	require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", snap), space)
	rows, err := f.store.Get(f.ctx, space, [][]online.Value{{record.IntValue(1)}}, []string{"total"})
	require.NoError(t, err)
	require.True(t, rows[0].Found)
	require.Equal(t, 1.0, rows[0].Values[0].F)
}
