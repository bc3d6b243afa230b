package feastapi_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

// TestSyncBulkFill: the syncer loads a snapshot with the store's bulk fill, on both backends: a table of more
// rows than one write batch, several per entity, is served as its latest row per entity, and the load's rows
// replace whatever the new space held (a leftover of a killed load is not "newer"), while pushes stay newer-wins.
func TestSyncBulkFill(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			sync := &feastapi.Syncer{}
			f := newFixture(t, feastapi.Options{Sync: sync, Store: open(t)})
			const entities = 40_000
			var rows [][]any
			for i := entities; i >= 1; i-- { // two rows per entity, the older one second
				rows = append(rows, []any{i, now.Add(-time.Minute), nil, float64(i), "new", 1}, []any{i, now.Add(-time.Hour), nil, -1.0, "old", 2})
			}
			snap := f.writeFeatureTable(t, "dev", "user_stats", rows...)
			space := feastapi.LoadedSpace("dev", "user_stats", snap)
			f.userStats(t, space, []any{7, now.Add(time.Hour), nil, 777.0, "leftover", 3}) // newer than the table's row
			require.NoError(t, sync.Sync(f.ctx, "dev"))
			got, ok := sync.Served("dev", "user_stats")
			require.True(t, ok)
			require.Equal(t, space, got)
			ids := []int64{1, 7, 20_000, entities, entities + 1}
			ents := make([][]online.Value, len(ids))
			for i, id := range ids {
				ents[i] = []online.Value{record.IntValue(id)}
			}
			res, err := f.store.Get(f.ctx, space, ents, []string{"total", "country"})
			require.NoError(t, err)
			for i, id := range ids[:len(ids)-1] {
				require.True(t, res[i].Found, "entity %d", id)
				require.Equal(t, []online.Value{record.FloatValue(float64(id)), record.StringValue("new")}, res[i].Values, "entity %d", id)
			}
			require.False(t, res[len(ids)-1].Found)
			require.Equal(t, []string{"1", "2", "3"}, f.served(t, "dev", "user_stats:total"))

			status, body := f.post(t, "/push?env=dev", `{"push_source_name": "user_stats", "df": {"user_id": [1, 2], "event_ts": ["2026-11-24T10:00:00Z", "2026-11-24T12:30:00Z"],
				"created_ts": [null, null], "total": [50.0, 60.0], "country": ["x", "y"], "n": [1, 1]}}`)
			require.Equal(t, 200, status, body)
			require.Equal(t, []string{"1", "60", "3"}, f.served(t, "dev", "user_stats:total"), "a push older than the loaded row loses; a newer one wins")
		})
	}
}

// faultyFill is a store whose bulk fills fail while armed: after writing every row (a load that dies before it
// reports success), or with the load's context cancelled before the fill starts (a server shutting down).
type faultyFill struct {
	online.Store
	mode   string // "", "after-rows" or "cancel"
	cancel context.CancelFunc
	fills  int
}

func (s *faultyFill) Fill(ctx context.Context, space string, keys []string, rdr array.RecordReader) error {
	s.fills++
	switch s.mode {
	case "after-rows":
		if err := s.Store.Fill(ctx, space, keys, rdr); err != nil {
			return err
		}
		return errors.New("injected: the load died after its rows")
	case "cancel":
		s.cancel()
	}
	return s.Store.Fill(ctx, space, keys, rdr)
}

// TestSyncFailedBulkFillKeepsPreviousSpace: a bulk fill that fails after writing its rows, or is cancelled, is
// an error naming the table; the previous snapshot's space stays served (the half-loaded space is never
// served); the next sync fills the snapshot again and serves it.
func TestSyncFailedBulkFillKeepsPreviousSpace(t *testing.T) {
	for name, open := range stores(t) {
		for _, mode := range []string{"after-rows", "cancel"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				sync := &feastapi.Syncer{}
				f := newFixture(t, feastapi.Options{Sync: sync, Store: open(t)})
				faulty := &faultyFill{Store: f.store}
				sync.Store = faulty
				s1 := f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 1.0, "fr", 1})
				require.NoError(t, sync.Sync(f.ctx, "dev"))
				require.Equal(t, []string{"1", "-", "-"}, f.served(t, "dev", "user_stats:total"))

				s2 := f.writeFeatureTable(t, "dev", "user_stats", []any{1, now, nil, 2.0, "fr", 1}, []any{2, now, nil, 3.0, "de", 1})
				ctx, cancel := context.WithCancel(f.ctx)
				defer cancel()
				faulty.mode, faulty.cancel = mode, cancel
				err := sync.Sync(ctx, "dev")
				require.Error(t, err)
				if mode == "cancel" {
					require.ErrorContains(t, err, context.Canceled.Error())
				} else {
					require.ErrorContains(t, err, "features.user_stats")
				}
				require.Equal(t, []string{"1", "-", "-"}, f.served(t, "dev", "user_stats:total"), "the previous rows stay served")
				space, _ := sync.Served("dev", "user_stats")
				require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", s1), space)

				faulty.mode = ""
				fills := faulty.fills
				require.NoError(t, sync.Sync(f.ctx, "dev"))
				require.Equal(t, fills+1, faulty.fills, "the snapshot is filled again, not taken from the failed load")
				require.Equal(t, []string{"2", "3", "-"}, f.served(t, "dev", "user_stats:total"))
				space, _ = sync.Served("dev", "user_stats")
				require.Equal(t, feastapi.LoadedSpace("dev", "user_stats", s2), space, fmt.Sprint(s2))
			})
		}
	}
}
