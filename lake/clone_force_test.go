package lake

import (
	"context"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

func idRows(t *testing.T, ids ...int64) array.RecordReader {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	return rdr
}

// TestCloneRefusesUnmergeableHistory: when the destination's history cannot live next to the source's (here a
// format version 1 table, as another engine may create), the clone refuses and names what would become
// unreachable; Force replaces the table and reports the dropped snapshots.
func TestCloneRefusesUnmergeableHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	l, err := Open(ctx, db, Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	for _, env := range []string{"prod", "dev"} {
		require.NoError(t, l.EnsureEnv(ctx, env))
	}
	id := Ident{Zone: "raw", Name: "orders"}
	_, err = l.Write(ctx, "prod", id, idRows(t, 1, 2, 3), WriteOptions{CreateIfMissing: true})
	require.NoError(t, err)

	c, err := l.catalogFor("dev")
	require.NoError(t, err)
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64})
	_, err = c.CreateTable(ctx, table.Identifier{id.Zone, id.Name}, sc, icecat.WithLocation(fileURL(l.tableDir("dev", id))),
		icecat.WithProperties(iceberg.Properties{"format-version": "1"}))
	require.NoError(t, err)
	own, err := l.Write(ctx, "dev", id, idRows(t, 9), WriteOptions{})
	require.NoError(t, err)

	err = l.Clone(ctx, "prod", id, 0, "dev")
	require.ErrorIs(t, err, ErrConflict)
	require.ErrorContains(t, err, "1 snapshot(s) of the existing table ("+strconv.FormatInt(own.SnapshotID, 10)+") would become unreachable")
	require.ErrorContains(t, err, "format versions 1 and 2")
	p, err := l.Plan(ctx, "dev", id, SnapshotRef{})
	require.NoError(t, err)
	require.Equal(t, own.SnapshotID, p.SnapshotID, "a refused clone changes nothing")

	res, err := l.CloneWith(ctx, "prod", id, 0, "dev", CloneOptions{Force: true})
	require.NoError(t, err)
	require.Equal(t, []int64{own.SnapshotID}, res.Dropped)
	p, err = l.Plan(ctx, "dev", id, SnapshotRef{})
	require.NoError(t, err)
	require.EqualValues(t, 3, p.Rows)
}
