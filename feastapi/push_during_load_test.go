package feastapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/embedded"
)

// hookStore runs after once, right after the syncer copied the pushes into a space it is loading (Copy).
type hookStore struct {
	online.Store
	once  sync.Once
	after func()
}

func (h *hookStore) Copy(ctx context.Context, from, to string) error {
	err := h.Store.Copy(ctx, from, to)
	if h.after != nil {
		h.once.Do(h.after)
	}
	return err
}

// TestPushDuringLoadIsKept: a push that arrives while the syncer loads a new snapshot — after it copied the
// earlier pushes into the new space, before it swaps the pointer record — is served at once and stays served
// after the swap and after later syncs of the same snapshot ("a push to online is served at once and kept").
func TestPushDuringLoadIsKept(t *testing.T) {
	b, err := embedded.Open(filepath.Join(t.TempDir(), "online.db"))
	require.NoError(t, err)
	hs := &hookStore{Store: online.New(b)}
	syncer := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: syncer, Store: hs})
	t1 := now.Add(-30 * time.Minute)
	f.writeFeatureTable(t, "dev", "user_stats", []any{1, t1, nil, 1.0, "fr", 1})
	hs.after = func() {
		status, body := f.post(t, "/push?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[3],"event_ts":["`+
			now.Add(-time.Minute).Format(time.RFC3339)+`"],"total":[9.5],"country":["x"],"n":[9]}}`)
		require.Equal(t, 200, status, body)
	}
	require.NoError(t, syncer.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"1", "-", "9.5"}, f.served(t, "dev", "user_stats:total"), "the push made during the load")
	require.NoError(t, syncer.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"1", "-", "9.5"}, f.served(t, "dev", "user_stats:total"), "and after the next sync")
}

// TestPushDuringLoadNewerWins: the pushes copied into a space once it is served keep the newer row of each
// entity: a push made during the load that is older than the loaded row of its entity does not replace it, a
// newer one does, and a push for an entity the table lacks is served.
func TestPushDuringLoadNewerWins(t *testing.T) {
	b, err := embedded.Open(filepath.Join(t.TempDir(), "online.db"))
	require.NoError(t, err)
	hs := &hookStore{Store: online.New(b)}
	syncer := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: syncer, Store: hs})
	push := func(user int, at time.Time, total float64) {
		status, body := f.post(t, "/push?env=dev", fmt.Sprintf(`{"push_source_name":"user_stats","df":{"user_id":[%d],"event_ts":[%q],"total":[%v],"country":["p"],"n":[0]}}`,
			user, at.Format(time.RFC3339), total))
		require.Equal(t, 200, status, body)
	}
	f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-30 * time.Minute), nil, 1.0, "fr", 1}, []any{2, now.Add(-30 * time.Minute), nil, 2.0, "de", 2})
	hs.after = func() {
		push(1, now.Add(-2*time.Hour), 7)   // older than the table's row of user 1
		push(2, now.Add(-time.Minute), 8)   // newer than the table's row of user 2
		push(3, now.Add(-3*time.Hour), 9.5) // no table row
	}
	require.NoError(t, syncer.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"1", "8", "9.5"}, f.served(t, "dev", "user_stats:total"))

	// A new snapshot whose row of user 2 is newer than the push: the table wins; a push during that load newer
	// than user 1's new row wins.
	f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-20 * time.Minute), nil, 1.5, "fr", 1}, []any{2, now.Add(-10 * time.Second), nil, 2.5, "de", 2})
	hs.once, hs.after = sync.Once{}, func() { push(1, now.Add(-5*time.Minute), 6) }
	require.NoError(t, syncer.Sync(f.ctx, "dev"))
	require.Equal(t, []string{"6", "2.5", "9.5"}, f.served(t, "dev", "user_stats:total"))
}

// TestPushesRacingLoadsAreKept: pushes made while loads of new snapshots run and swap are all served at the
// end (run with -race).
func TestPushesRacingLoadsAreKept(t *testing.T) {
	syncer := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: syncer})
	const pushes = 40
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for u := 100; u < 100+pushes; u++ {
			status, body := f.post(t, "/push?env=dev", fmt.Sprintf(`{"push_source_name":"user_stats","df":{"user_id":[%d],"event_ts":[%q],"total":[%d],"country":["p"],"n":[0]}}`,
				u, now.Add(-time.Minute).Format(time.RFC3339), u))
			if status != 200 {
				errc <- fmt.Errorf("push %d: %d %s", u, status, body)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i := 0; i < 4; i++ {
		f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-time.Duration(30-i) * time.Minute), nil, float64(i), "fr", 1})
		require.NoError(t, syncer.Sync(f.ctx, "dev"))
	}
	require.NoError(t, <-errc)
	f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-20 * time.Minute), nil, 9.0, "fr", 1})
	require.NoError(t, syncer.Sync(f.ctx, "dev"))
	ids := make([]string, pushes)
	for i := range ids {
		ids[i] = fmt.Sprint(100 + i)
	}
	status, body := f.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total"],"entities":{"user_id":[`+strings.Join(ids, ",")+`]}}`)
	require.Equal(t, 200, status, body)
	var resp struct {
		Results []struct {
			Statuses []string `json:"statuses"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	for i, st := range resp.Results[1].Statuses {
		require.NotEqual(t, "NOT_FOUND", st, "the push of user %d is lost", 100+i)
	}
}

// blockStore holds the first WriteLatest into space until release is closed, after telling started.
type blockStore struct {
	online.Store
	space   string
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (b *blockStore) WriteLatest(ctx context.Context, space string, keys []string, rdr array.RecordReader) error {
	if space == b.space {
		b.once.Do(func() {
			close(b.started)
			<-b.release
		})
	}
	return b.Store.WriteLatest(ctx, space, keys, rdr)
}

// TestPushInFlightHoldsTheSwap: a push still writing when a load swaps in its space is not lost: the swap waits
// for it (else the copy of the pushes after the swap would miss the push, written to the plain space after it).
func TestPushInFlightHoldsTheSwap(t *testing.T) {
	b, err := embedded.Open(filepath.Join(t.TempDir(), "online.db"))
	require.NoError(t, err)
	bs := &blockStore{Store: online.New(b), space: online.Space("dev", "user_stats"), started: make(chan struct{}), release: make(chan struct{})}
	syncer := &feastapi.Syncer{}
	f := newFixture(t, feastapi.Options{Sync: syncer, Store: bs})
	f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-30 * time.Minute), nil, 1.0, "fr", 1})
	release := sync.OnceFunc(func() { close(bs.release) })
	t.Cleanup(release) // a failing test does not leave the push blocked
	pushed := make(chan string, 1)
	go func() {
		status, body := f.post(t, "/push?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[3],"event_ts":["`+
			now.Add(-time.Minute).Format(time.RFC3339)+`"],"total":[9.5],"country":["x"],"n":[9]}}`)
		pushed <- fmt.Sprint(status, body)
	}()
	<-bs.started // the push is writing into the plain space (nothing is served yet)
	synced := make(chan error, 1)
	go func() { synced <- syncer.Sync(f.ctx, "dev") }()
	select {
	case err := <-synced:
		t.Fatalf("the load swapped in its space while a push was being written (err %v)", err)
	case <-time.After(500 * time.Millisecond):
	}
	release()
	require.Contains(t, <-pushed, "200")
	require.NoError(t, <-synced)
	require.Equal(t, []string{"1", "-", "9.5"}, f.served(t, "dev", "user_stats:total"))
}

// TestPushOnLaggingReplicaIsKept: a push to a replica that has not yet followed another's swap goes to the
// superseded space (and the plain one); when the replica follows the record it gives the newly served space
// the pushes, so both replicas serve the push.
func TestPushOnLaggingReplicaIsKept(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			_, a, b, f, fb := twoReplicas(t, open(t))
			f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-time.Hour), nil, 1.0, "fr", 1})
			require.NoError(t, a.Sync(f.ctx, "dev"))
			require.NoError(t, b.Sync(f.ctx, "dev"))

			f.writeFeatureTable(t, "dev", "user_stats", []any{1, now.Add(-30 * time.Minute), nil, 2.0, "fr", 1})
			require.NoError(t, a.Sync(f.ctx, "dev")) // a serves the new snapshot; b has not re-read the record
			status, body := fb.post(t, "/push?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[3],"event_ts":["`+
				now.Add(-time.Minute).Format(time.RFC3339)+`"],"total":[9.5],"country":["x"],"n":[9]}}`)
			require.Equal(t, 200, status, body)
			require.NoError(t, b.Start(f.ctx)) // b follows the record
			require.Equal(t, []string{"2", "-", "9.5"}, fb.served(t, "dev", "user_stats:total"))
			require.Equal(t, []string{"2", "-", "9.5"}, f.served(t, "dev", "user_stats:total"), "the space both serve has the push")
		})
	}
}
