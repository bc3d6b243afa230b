package lake_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

func stringColumn(n int64, value string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for range n {
		b.Append(value)
	}
	return b.NewArray()
}

func TestSchemaEvolution(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "clean", Name: "orders"}
		first := write(t, l, "dev", id, 0, 100, lake.WriteOptions{CreateIfMissing: true})

		// Appending a new column adds it in the same commit.
		col := stringColumn(50, "web")
		defer col.Release()
		rdr := extraBatch(100, 50, "channel", arrow.BinaryTypes.String, col)
		defer rdr.Release()
		res, err := l.Write(ctx, "dev", id, rdr, lake.WriteOptions{})
		require.NoError(t, err)
		require.EqualValues(t, 50, res.AddedRows)

		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 2)
		require.Len(t, info.Columns, 13)
		require.Equal(t, lake.Column{FieldID: 13, Name: "channel", Type: "string"}, info.Columns[12])
		require.Equal(t, 1, info.Snapshots[1].SchemaID)

		p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Len(t, p.Files, 2, "old files stay in the plan")
		require.EqualValues(t, 150, countRows(t, p.Files))
		require.Len(t, p.Columns, 13)
		old, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{ID: first.SnapshotID})
		require.NoError(t, err)
		require.Len(t, old.Columns, 12, "time travel uses the snapshot's schema")
		require.Len(t, old.Files, 1)

		// Writing without the new column still works (nulls).
		write(t, l, "dev", id, 150, 10, lake.WriteOptions{})

		// An incompatible type fails clearly and commits nothing.
		amount := stringColumn(5, "12.50")
		defer amount.Release()
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "amount", Type: arrow.BinaryTypes.String, Nullable: true},
		}, nil)
		ids := array.NewInt64Builder(memory.DefaultAllocator)
		ids.AppendValues([]int64{1, 2, 3, 4, 5}, nil)
		idCol := ids.NewArray()
		defer idCol.Release()
		rec := array.NewRecordBatch(sc, []arrow.Array{idCol, amount}, 5)
		defer rec.Release()
		bad, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		require.NoError(t, err)
		defer bad.Release()
		_, err = l.Write(ctx, "dev", id, bad, lake.WriteOptions{})
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorContains(t, err, `column "amount"`)
		require.ErrorContains(t, err, "double")
		require.ErrorContains(t, err, "string")
		info, err = l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 3)
		require.Len(t, parquetFiles(t, filepath.Join(l.Warehouse(), "dev")), 3)
	})
}

func TestNanosecondTimestampsAndNonNullableInput(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
			{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		b.Field(0).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1_700_000_000_123_456_789}, nil)
		b.Field(1).(*array.Int64Builder).AppendValues([]int64{7}, nil)
		rec := b.NewRecordBatch()
		defer rec.Release()
		rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		require.NoError(t, err)
		defer rdr.Release()
		id := lake.Ident{Zone: "raw", Name: "ticks"}
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{CreateIfMissing: true})
		require.NoError(t, err)
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Equal(t, []lake.Column{{FieldID: 1, Name: "ts", Type: "timestamptz"}, {FieldID: 2, Name: "n", Type: "long"}}, info.Columns)
	})
}

func TestFailedInputCommitsNothing(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		write(t, l, "dev", id, 0, 100, lake.WriteOptions{CreateIfMissing: true})
		dataDir := filepath.Join(l.Warehouse(), "dev", "raw", "events", "data")

		// The source breaks after 3 batches of a 10-batch input: no snapshot, no leftover files.
		src := laketest.Rows(100, 10_000, 1000)
		defer src.Release()
		_, err := l.Write(ctx, "dev", id, laketest.FailAfter(src, 3), lake.WriteOptions{})
		require.ErrorIs(t, err, laketest.ErrBroken)
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 1)
		require.Len(t, parquetFiles(t, dataDir), 1)

		// Same for an overwrite, and for a table the write would have created.
		src2 := laketest.Rows(100, 10_000, 1000)
		defer src2.Release()
		_, err = l.Write(ctx, "dev", id, laketest.FailAfter(src2, 5), lake.WriteOptions{Mode: lake.Overwrite})
		require.ErrorIs(t, err, laketest.ErrBroken)
		src3 := laketest.Rows(0, 10_000, 1000)
		defer src3.Release()
		_, err = l.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "fresh"}, laketest.FailAfter(src3, 2), lake.WriteOptions{CreateIfMissing: true})
		require.ErrorIs(t, err, laketest.ErrBroken)
		_, err = l.Describe(ctx, "dev", lake.Ident{Zone: "raw", Name: "fresh"})
		require.ErrorIs(t, err, lake.ErrNotFound, "a table created by a failed write is removed")

		p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.EqualValues(t, 100, countRows(t, p.Files))

		// A re-run with a healthy source succeeds.
		res := write(t, l, "dev", id, 100, 10_000, lake.WriteOptions{})
		require.EqualValues(t, 10_000, res.AddedRows)
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.EqualValues(t, 10_100, countRows(t, p.Files))
	})
}

func TestCancelBeforeCommit(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l0, db := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		write(t, l0, "dev", id, 0, 100, lake.WriteOptions{CreateIfMissing: true})

		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var points []string
		l, err := lake.Open(ctx, db, lake.Options{Warehouse: l0.Warehouse(), Hook: func(p string) {
			points = append(points, p)
			if p == "write:files-written" {
				cancel()
			}
		}})
		require.NoError(t, err)
		rdr := laketest.Rows(100, 5000, 1000)
		defer rdr.Release()
		_, err = l.Write(wctx, "dev", id, rdr, lake.WriteOptions{})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, []string{"write:files-written"}, points)
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 1)
		require.Len(t, parquetFiles(t, filepath.Join(l.Warehouse(), "dev")), 1, "written files are removed")

		points = nil
		res := write(t, l, "dev", id, 100, 10, lake.WriteOptions{})
		require.Equal(t, []string{"write:files-written", "write:committed"}, points)
		require.EqualValues(t, 10, res.AddedRows)
	})
}

// TestConcurrentWriters runs 8 writers × 25 appends against one table, through one shared Lake (the
// in-process lock) and through 8 Lakes on the same database (the cross-process retry path), and checks that
// every append is one snapshot and no row is lost.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const writers, appends, rows = 8, 25, 10
	for _, shared := range []bool{true, false} {
		name := "separate-lakes"
		if shared {
			name = "shared-lake"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			backends(t, func(t *testing.T, dsn string) {
				l, db := laketest.New(t, dsn, "dev")
				lakes := make([]*lake.Lake, writers)
				for i := range lakes {
					lakes[i] = l
					if !shared {
						lakes[i] = laketest.Open(t, db, l.Warehouse())
					}
				}
				id := lake.Ident{Zone: "raw", Name: "concurrent"}
				var wg sync.WaitGroup
				errs := make(chan error, writers*appends)
				for w := range writers {
					wg.Go(func() {
						for a := range appends {
							first := int64((w*appends + a) * rows)
							rdr := laketest.Rows(first, rows, rows)
							_, err := lakes[w].Write(ctx, "dev", id, rdr, lake.WriteOptions{CreateIfMissing: true})
							rdr.Release()
							if err != nil {
								errs <- err
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				var all []error
				for err := range errs {
					all = append(all, err)
				}
				require.NoError(t, errors.Join(all...))

				info, err := l.Describe(ctx, "dev", id)
				require.NoError(t, err)
				require.Len(t, info.Snapshots, writers*appends)
				byID := map[int64]lake.Snapshot{}
				for _, s := range info.Snapshots {
					byID[s.ID] = s
				}
				// The history is one chain through all 200 snapshots.
				n := 0
				for sid := info.CurrentSnapshotID; sid != 0; sid = byID[sid].ParentID {
					n++
					require.EqualValues(t, rows, byID[sid].AddedRecords)
				}
				require.Equal(t, writers*appends, n)
				require.EqualValues(t, writers*appends*rows, byID[info.CurrentSnapshotID].TotalRecords)
				p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
				require.NoError(t, err)
				require.Len(t, p.Files, writers*appends)
				require.EqualValues(t, writers*appends*rows, countRows(t, p.Files))
				if shared { // serialised commits always see a fresh base, so metadata clean-up is exact
					metadataFiles, err := filepath.Glob(filepath.Join(l.Warehouse(), "dev", "raw", "concurrent", "metadata", "*.metadata.json"))
					require.NoError(t, err)
					require.LessOrEqual(t, len(metadataFiles), 21, "write.metadata.previous-versions-max=20")
				}
			})
		})
	}
}
