package lake

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// TestReplayedCommitIsRestamped: a write whose commit loses the race to a peer's commit is replayed on the new
// head. iceberg-go builds the snapshot (and its timestamp) once, before the first attempt, and the catalog
// refuses a snapshot more than a minute older than the table's last one: what a replay after a long wait is
// (TestConcurrentWriters/separate-lakes/postgres failed so under load). The peer's commit lands while the
// writer's files are written, with a clock two minutes ahead of the one the writer's snapshot was built with:
// "later" (both clocks moved on, as after a long wait) and "skewed" (only the peer's runs ahead). Either way
// the replay commits, and the snapshot log stays in order.
func TestReplayedCommitIsRestamped(t *testing.T) {
	t.Parallel()
	ahead := func() time.Time { return time.Now().Add(2 * time.Minute) }
	for _, c := range []struct {
		name             string
		writer, peerTime func() time.Time
	}{
		{"later", ahead, ahead},
		{"skewed", time.Now, ahead},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			wh := t.TempDir()
			peer, err := Open(ctx, db, Options{Warehouse: wh})
			require.NoError(t, err)
			require.NoError(t, peer.EnsureEnv(ctx, "dev"))
			id := Ident{Zone: "raw", Name: "events"}
			_, err = peer.Write(ctx, "dev", id, int64Rows(0, 10), WriteOptions{CreateIfMissing: true})
			require.NoError(t, err)
			peer.now = c.peerTime

			fired := false
			w, err := Open(ctx, db, Options{Warehouse: wh, Hook: func(p string) {
				if p == "write:files-written" && !fired {
					fired = true
					_, err := peer.Write(ctx, "dev", id, int64Rows(100, 10), WriteOptions{})
					require.NoError(t, err)
				}
			}})
			require.NoError(t, err)
			w.now = c.writer
			res, err := w.Write(ctx, "dev", id, int64Rows(200, 10), WriteOptions{})
			require.NoError(t, err)
			require.True(t, fired)

			info, err := w.Describe(ctx, "dev", id)
			require.NoError(t, err)
			require.Len(t, info.Snapshots, 3)
			require.Equal(t, res.SnapshotID, info.CurrentSnapshotID)
			require.EqualValues(t, 30, info.Snapshots[2].TotalRecords)
			for i := 1; i < len(info.Snapshots); i++ {
				require.False(t, info.Snapshots[i].Timestamp.Before(info.Snapshots[i-1].Timestamp), "snapshot log in order: %v", info.Snapshots)
			}
		})
	}
}

// int64Rows is a reader of one batch of n rows of one column, id = first, first+1, ...
func int64Rows(first, n int64) array.RecordReader {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := range n {
		b.Append(first + i)
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, n)
	defer rec.Release()
	rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	return rdr
}
