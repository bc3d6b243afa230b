package lake_test

import (
	"testing"

	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
	"github.com/strata-data/strata/meta"
)

// TestPlanRejectsDeleteFiles: another engine (here iceberg-go itself, standing in for Spark) switches a table
// to merge-on-read and deletes rows; Plan must refuse the snapshot rather than return files whose deleted
// rows a reader would still see.
func TestPlanRejectsDeleteFiles(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, db := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		before := write(t, l, "dev", id, 0, 100, lake.WriteOptions{CreateIfMissing: true}).SnapshotID

		dialect := sqlcat.SQLite
		if db.Dialect == meta.Postgres {
			dialect = sqlcat.Postgres
		}
		cat, err := sqlcat.NewCatalog("dev", db.SQL, dialect, iceberg.Properties{"init_catalog_tables": "false"})
		require.NoError(t, err)
		tbl, err := cat.LoadTable(ctx, table.Identifier{"raw", "events"})
		require.NoError(t, err)
		txn := tbl.NewTransaction()
		require.NoError(t, txn.SetProperties(iceberg.Properties{"write.delete.mode": "merge-on-read"}))
		tbl, err = txn.Commit(ctx)
		require.NoError(t, err)
		_, err = tbl.Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(5)), nil)
		require.NoError(t, err)

		_, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorContains(t, err, "delete file")
		require.ErrorContains(t, err, "copy-on-write")
		p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{ID: before})
		require.NoError(t, err)
		require.EqualValues(t, 100, countRows(t, p.Files))
	})
}
