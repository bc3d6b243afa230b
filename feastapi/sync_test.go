package feastapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/embedded"
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

// stores are the online store backends the replica tests run on: the embedded file, and a real Redis server
// under a fresh key prefix.
func stores(t *testing.T) map[string]func(t *testing.T) online.Store {
	return map[string]func(t *testing.T) online.Store{
		"embedded": func(t *testing.T) online.Store {
			b, err := embedded.Open(filepath.Join(t.TempDir(), "online.db"))
			require.NoError(t, err)
			return online.New(b)
		},
		"redis": func(t *testing.T) online.Store {
			s, err := online.Open(context.Background(), online.Options{Backend: "redis", RedisAddr: testenv.RedisAddr(t),
				RedisPrefix: "feastapi-" + strings.ReplaceAll(t.Name(), "/", "-") + fmt.Sprint(time.Now().UnixNano()) + ":"})
			require.NoError(t, err)
			return s
		},
	}
}

// replica is a second server sharing f's definitions, environments and online store, with its own syncer.
func (f *fixture) replica(sync *feastapi.Syncer, first *feastapi.Syncer) *fixture {
	sync.Defs, sync.Envs, sync.Engine, sync.Store = first.Defs, first.Envs, first.Engine, first.Store
	r := chi.NewRouter()
	feastapi.New(feastapi.Options{Defs: f.reg, Store: f.store, Envs: f.envs, Now: func() time.Time { return now }, Sync: sync}).Mount(r)
	g := *f
	g.h = r
	return &g
}

// twoReplicas is a fixture whose syncer a serves from store, and a replica of it (syncer b, fixture fb) sharing
// the store and its pointer records; both syncers keep superseded spaces for a minute of clk.
func twoReplicas(t *testing.T, store online.Store) (clk *clock, a, b *feastapi.Syncer, f, fb *fixture) {
	clk = &clock{t: now}
	a = &feastapi.Syncer{Grace: time.Minute, Now: clk.now}
	f = newFixture(t, feastapi.Options{Sync: a, Store: store})
	b = &feastapi.Syncer{Grace: time.Minute, Now: clk.now}
	return clk, a, b, f, f.replica(b, a)
}

// clock is a settable clock for grace periods.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestSyncReplicasFollowOnePointer: replicas sharing a store follow one pointer record per instance. A replica
// that has not yet re-read the record after another switched snapshots still answers with the previous values
// (the superseded space stays for the grace period), never NOT_FOUND; after re-reading it serves the new
// snapshot without loading it; once the grace period has passed the superseded space is deleted.
func TestSyncReplicasFollowOnePointer(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			clk, a, b, f, fb := twoReplicas(t, open(t))

			s1 := f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
			require.NoError(t, a.Sync(f.ctx, "dev"))
			require.NoError(t, b.Sync(f.ctx, "dev"))
			require.Equal(t, []string{"1", "-", "-"}, fb.served(t, "dev", "user_stats:total"))
			space1, _ := b.Served("dev", "user_stats")
			require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", s1), space1)

			s2 := f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 2.0, "fr", 1}, []any{2, now, nil, 3.0, "de", 1})
			require.NoError(t, a.Sync(f.ctx, "dev"))
			require.Equal(t, []string{"2", "3", "-"}, f.served(t, "dev", "user_stats:total"))
			require.Equal(t, []string{"1", "-", "-"}, fb.served(t, "dev", "user_stats:total"), "b has not re-read the record: the previous values, not NOT_FOUND")

			clk.t = clk.t.Add(30 * time.Second)
			hide := hideFiles(t, f, "dev", "user_stats") // b must not load: it follows the record
			require.NoError(t, b.Start(f.ctx))
			require.Equal(t, []string{"2", "3", "-"}, fb.served(t, "dev", "user_stats:total"), "b follows the record")
			require.NoError(t, b.Sync(f.ctx, "dev"), "the recorded space is the visible snapshot's: nothing to load")
			space2, _ := b.Served("dev", "user_stats")
			require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", s2), space2)
			_, kept, err := f.store.LastEvent(f.ctx, space1)
			require.NoError(t, err)
			require.True(t, kept, "within the grace period the superseded space stays")

			clk.t = clk.t.Add(31 * time.Second)
			require.NoError(t, b.Sync(f.ctx, "dev"))
			_, kept, err = f.store.LastEvent(f.ctx, space1)
			require.NoError(t, err)
			require.False(t, kept, "after the grace period it is deleted")
			hide.undo(t)
			require.Equal(t, []string{"2", "3", "-"}, f.served(t, "dev", "user_stats:total"))
			require.Equal(t, []string{"2", "3", "-"}, fb.served(t, "dev", "user_stats:total"))
		})
	}
}

// TestSyncStartServesRecordedSpace: a starting server (a new syncer over the same store) serves the recorded
// space before any load, even when the table could not be read now; a recorded space that lost its rows is not
// served, and the next sync loads the snapshot again.
func TestSyncStartServesRecordedSpace(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			first := &feastapi.Syncer{}
			f := newFixture(t, feastapi.Options{Sync: first, Store: open(t)})
			f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
			require.NoError(t, first.Sync(f.ctx, "dev"))

			hide := hideFiles(t, f, "dev", "user_stats")
			restarted := &feastapi.Syncer{}
			g := f.replica(restarted, first)
			require.Equal(t, []string{"-", "-", "-"}, g.served(t, "dev", "user_stats:total"), "before Start")
			require.NoError(t, restarted.Start(f.ctx))
			require.Equal(t, []string{"1", "-", "-"}, g.served(t, "dev", "user_stats:total"), "served at start, no load")

			space, _ := restarted.Served("dev", "user_stats")
			require.NoError(t, f.store.DeleteSpace(f.ctx, space))
			again := &feastapi.Syncer{}
			h := f.replica(again, first)
			require.NoError(t, again.Start(f.ctx))
			_, ok := again.Served("dev", "user_stats")
			require.False(t, ok, "a recorded space without its rows is not served")
			require.Error(t, again.Sync(f.ctx, "dev"), "the files are hidden: the load fails")
			hide.undo(t)
			require.NoError(t, again.Sync(f.ctx, "dev"))
			require.Equal(t, []string{"1", "-", "-"}, h.served(t, "dev", "user_stats:total"), "loaded again")
		})
	}
}

// TestSyncStartAfterRollbackWhileDown: prod is rolled back while no server runs; a starting server does not
// serve the recorded space (the rolled-back release's rows) but answers as before a load (NOT_FOUND) until its
// first load serves the release's rows. A record of an earlier state of what prod shows (a newer release was
// published while every server was down) is still served at once.
func TestSyncStartAfterRollbackWhileDown(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			first := &feastapi.Syncer{}
			f := newFixture(t, feastapi.Options{Sync: first, Store: open(t)})
			id := lake.Ident{Zone: "features", Name: "user_stats"}
			publish := func() *envs.Release {
				rel, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{id}, envs.PublishOptions{Actor: "test"})
				require.NoError(t, err)
				return rel
			}
			f.writeFeatureTable(t, "prod", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
			rel1 := publish()
			f.writeFeatureTable(t, "prod", "user_stats", []any{1, now, nil, 2.0, "fr", 1}, []any{2, now, nil, 3.0, "de", 1})
			publish()
			require.NoError(t, first.Sync(f.ctx, "prod"))
			require.Equal(t, []string{"2", "3", "-"}, f.served(t, "prod", "user_stats:total"))

			// Down: a newer release is published. The restarted server serves the recorded (earlier) rows at once.
			f.writeFeatureTable(t, "prod", "user_stats", []any{1, now, nil, 4.0, "fr", 1}, []any{2, now, nil, 5.0, "de", 1})
			publish()
			hide := hideFiles(t, f, "prod", "user_stats")
			next := &feastapi.Syncer{}
			g := f.replica(next, first)
			require.NoError(t, next.Start(f.ctx))
			require.Equal(t, []string{"2", "3", "-"}, g.served(t, "prod", "user_stats:total"), "an earlier release's rows, served at start")
			hide.undo(t)
			require.NoError(t, next.Sync(f.ctx, "prod"))
			require.Equal(t, []string{"4", "5", "-"}, g.served(t, "prod", "user_stats:total"))

			// Down again: prod is rolled back to release 1. The recorded space holds rolled-back rows.
			_, err := f.envs.Rollback(f.ctx, "prod", rel1.ID, "test")
			require.NoError(t, err)
			restarted := &feastapi.Syncer{}
			h := f.replica(restarted, first)
			require.NoError(t, restarted.Start(f.ctx))
			_, ok := restarted.Served("prod", "user_stats")
			require.False(t, ok, "the recorded space is not what prod shows")
			require.Equal(t, []string{"-", "-", "-"}, h.served(t, "prod", "user_stats:total"), "as before a load, never the rolled-back rows")
			require.NoError(t, restarted.Sync(f.ctx, "prod"))
			require.Equal(t, []string{"1", "-", "-"}, h.served(t, "prod", "user_stats:total"), "the first load serves the release's rows")

			again := &feastapi.Syncer{}
			k := f.replica(again, first)
			require.NoError(t, again.Start(f.ctx))
			require.Equal(t, []string{"1", "-", "-"}, k.served(t, "prod", "user_stats:total"), "the record now matches prod: served at start")
		})
	}
}

type hidden map[string]string

// hideFiles moves the data files of env's features.<name> away, so loading it fails.
func hideFiles(t *testing.T, f *fixture, env, name string) hidden {
	t.Helper()
	plan, err := f.envs.Resolve(f.ctx, env, lake.Ident{Zone: "features", Name: name}, lake.SnapshotRef{})
	require.NoError(t, err)
	h := hidden{}
	for _, file := range plan.Files {
		p := strings.TrimPrefix(file, "file://")
		require.NoError(t, os.Rename(p, p+".away"))
		h[p] = p + ".away"
	}
	return h
}

func (h hidden) undo(t *testing.T) {
	for p, away := range h {
		require.NoError(t, os.Rename(away, p))
	}
}

// TestSyncConcurrentReplicasAgree: replicas loading the same new snapshot at the same moment both succeed and
// serve the same space (the one whose swap lost adopts the winner's record).
func TestSyncConcurrentReplicasAgree(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a := &feastapi.Syncer{Grace: time.Hour}
			f := newFixture(t, feastapi.Options{Sync: a, Store: open(t)})
			b := &feastapi.Syncer{Grace: time.Hour}
			fb := f.replica(b, a)
			f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
			errc := make(chan error, 2)
			go func() { errc <- a.Sync(f.ctx, "dev") }()
			go func() { errc <- b.Sync(f.ctx, "dev") }()
			require.NoError(t, <-errc)
			require.NoError(t, <-errc)
			sa, _ := a.Served("dev", "user_stats")
			sb, _ := b.Served("dev", "user_stats")
			require.Equal(t, sa, sb)
			require.Equal(t, []string{"1", "-", "-"}, fb.served(t, "dev", "user_stats:total"))
		})
	}
}

// TestSyncLoadsInChunks: a table larger than LoadChunkRows is loaded in chunks of entities, with the same
// result: the latest row of every entity (an entity's rows are always in one chunk).
func TestSyncLoadsInChunks(t *testing.T) {
	sync := &feastapi.Syncer{LoadChunkRows: 2}
	f := newFixture(t, feastapi.Options{Sync: sync})
	t1, t2 := now.Add(-30*time.Minute), now.Add(-10*time.Minute)
	f.writeFeatureTable(t, "dev", "user_stats",
		[]any{1, t1, nil, 1.0, "fr", 1}, []any{1, t2, nil, 2.0, "fr", 2}, []any{2, t2, nil, 5.5, "de", 4},
		[]any{2, t1, nil, 9.0, "de", 4}, []any{3, t1, nil, 7.0, "it", 1}, []any{3, t1, t2, 8.0, "it", 1})
	require.NoError(t, sync.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"2", "5.5", "8"}, f.served(t, "dev", "user_stats:total"))
}
