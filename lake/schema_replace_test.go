package lake_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

func int32s(vals ...int32) arrow.Array {
	b := array.NewInt32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

// colIDs gives each column's "name:type" its field id, and the names in order.
func colIDs(cols []lake.Column) (map[string]int, []string) {
	ids := map[string]int{}
	var names []string
	for _, c := range cols {
		ids[c.Name+":"+c.Type] = c.FieldID
		names = append(names, c.Name)
	}
	return ids, names
}

// TestReplaceSchema: an overwrite with ReplaceSchema makes the data's columns the table's, in one commit: kept
// columns keep their field ids (and may widen), new ones get fresh ids, absent ones are gone from the current
// schema, and the order is the data's; the earlier snapshot keeps its schema, so reading it gives its columns.
func TestReplaceSchema(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "datasets", Name: "train"}
		rdr := keys(t, []string{"id", "a", "b", "n"}, int64s(1, 2), strs("x", "y"), float64s(0.5, 1.5), int32s(7, 8))
		v1, err := l.Write(ctx, "dev", id, rdr, lake.WriteOptions{CreateIfMissing: true})
		rdr.Release()
		require.NoError(t, err)
		before := describe(t, l, "dev", id)
		ids1, names1 := colIDs(before.Columns)
		require.Equal(t, []string{"id", "a", "b", "n"}, names1)

		rdr = keys(t, []string{"b", "id", "c", "n"}, float64s(2.5), int64s(3), strs("new"), int64s(9))
		v2, err := l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Overwrite, ReplaceSchema: true})
		rdr.Release()
		require.NoError(t, err)
		info := describe(t, l, "dev", id)
		ids2, names2 := colIDs(info.Columns)
		require.Equal(t, []string{"b", "id", "c", "n"}, names2, "the data's columns, in its order; a is gone")
		require.Equal(t, ids1["id:long"], ids2["id:long"], "same-named columns keep their field id")
		require.Equal(t, ids1["b:double"], ids2["b:double"])
		require.Equal(t, ids1["n:int"], ids2["n:long"], "int widened to long, same id")
		require.NotContains(t, []int{ids1["id:long"], ids1["a:string"], ids1["b:double"], ids1["n:int"]}, ids2["c:string"],
			"a new column gets a fresh id, never a removed column's")
		require.NotZero(t, ids2["c:string"])
		require.Len(t, info.Snapshots, 2, "the schema change and the overwrite are one commit")
		require.Equal(t, info.SchemaID, info.Snapshots[1].SchemaID, "the overwrite's snapshot has the new schema")
		require.NotEqual(t, info.Snapshots[0].SchemaID, info.Snapshots[1].SchemaID)

		now := plan(t, l, "dev", id, v2.SnapshotID)
		_, names := colIDs(now.Columns)
		require.Equal(t, names2, names)
		require.EqualValues(t, 1, now.Rows)
		old := plan(t, l, "dev", id, v1.SnapshotID)
		oldIDs, oldNames := colIDs(old.Columns)
		require.Equal(t, names1, oldNames, "the older snapshot is read with its own columns")
		require.Equal(t, ids1, oldIDs)
		require.EqualValues(t, 2, old.Rows)
		require.EqualValues(t, 2, countRows(t, old.Files), "its files are kept")

		// Same columns again: no new schema.
		rdr = keys(t, []string{"b", "id", "c", "n"}, float64s(1.0), int64s(4), strs("again"), int64s(10))
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Overwrite, ReplaceSchema: true})
		rdr.Release()
		require.NoError(t, err)
		require.Equal(t, info.SchemaID, describe(t, l, "dev", id).SchemaID)
	})
}

// TestReplaceSchemaRefused: ReplaceSchema needs Overwrite, and a column type that can neither hold the data
// nor widen to it fails with a clear error; a refused write commits nothing.
func TestReplaceSchemaRefused(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "datasets", Name: "train"}
		rdr := keys(t, []string{"id", "a"}, int64s(1, 2), strs("x", "y"))
		_, err := l.Write(ctx, "dev", id, rdr, lake.WriteOptions{CreateIfMissing: true})
		rdr.Release()
		require.NoError(t, err)
		before := describe(t, l, "dev", id)

		for _, mode := range []lake.WriteMode{"", lake.Append} {
			rdr = keys(t, []string{"id"}, int64s(3))
			_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: mode, ReplaceSchema: true})
			rdr.Release()
			require.ErrorIs(t, err, lake.ErrInvalid)
			require.ErrorContains(t, err, `ReplaceSchema replaces the table's columns with the data's and needs mode "overwrite"`)
		}
		head := before.CurrentSnapshotID
		rdr = keys(t, []string{"id"}, int64s(3))
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Replace, BasedOn: &head, Replace: []string{}, ReplaceSchema: true})
		rdr.Release()
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorContains(t, err, "needs mode")

		rdr = keys(t, []string{"id", "a"}, int64s(3), int64s(4))
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Overwrite, ReplaceSchema: true})
		rdr.Release()
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorContains(t, err, `column "a" has type string in the table but long in the data`)
		require.ErrorContains(t, err, "cannot widen")

		after := describe(t, l, "dev", id)
		require.Equal(t, before.CurrentSnapshotID, after.CurrentSnapshotID, "refused writes commit nothing")
		require.Equal(t, before.Columns, after.Columns)
		require.Equal(t, before.SchemaID, after.SchemaID)
	})
}

// TestReplaceSchemaKeepsPartitionColumns: a ReplaceSchema write whose data lacks a column that partitions the
// table (partitioned elsewhere, e.g. by Spark) is refused, naming the column; it commits nothing.
func TestReplaceSchemaKeepsPartitionColumns(t *testing.T) {
	t.Parallel()
	l, db := laketest.New(t, testenv.SQLiteDSN(t), "dev")
	id := lake.Ident{Zone: "raw", Name: "events"}
	rdr := keys(t, []string{"id", "day"}, int64s(1, 2), strs("a", "b"))
	_, err := l.Write(ctx, "dev", id, rdr, lake.WriteOptions{CreateIfMissing: true})
	rdr.Release()
	require.NoError(t, err)
	cat, err := sqlcat.NewCatalog("dev", db.SQL, sqlcat.SQLite, iceberg.Properties{"init_catalog_tables": "false"})
	require.NoError(t, err)
	tbl, err := cat.LoadTable(ctx, table.Identifier{"raw", "events"})
	require.NoError(t, err)
	txn := tbl.NewTransaction()
	require.NoError(t, txn.UpdateSpec(true).AddIdentity("day").Commit())
	_, err = txn.Commit(ctx)
	require.NoError(t, err)
	before := describe(t, l, "dev", id)

	rdr = keys(t, []string{"id"}, int64s(3))
	_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Overwrite, ReplaceSchema: true})
	rdr.Release()
	require.ErrorIs(t, err, lake.ErrInvalid)
	require.ErrorContains(t, err, `the data lacks column "day", which partitions the table`)
	after := describe(t, l, "dev", id)
	require.Equal(t, before.CurrentSnapshotID, after.CurrentSnapshotID)
	require.Equal(t, before.Columns, after.Columns)
}
