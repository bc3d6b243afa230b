package lake_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
	"github.com/strata-data/strata/meta"
)

// TestCatalogLayout checks what PyIceberg's SqlCatalog and Spark's JdbcCatalog (jdbc.schema-version=V1) rely
// on: the JDBC tables with iceberg_type, catalog_name = environment, absolute metadata locations, and files
// under <warehouse>/<env>/<zone>/<table>.
func TestCatalogLayout(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, db := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		write(t, l, "dev", id, 0, 10, lake.WriteOptions{CreateIfMissing: true})
		write(t, l, "dev", id, 10, 10, lake.WriteOptions{})

		var typ, loc string
		var prev sql.NullString
		err := db.SQL.QueryRowContext(ctx, `SELECT iceberg_type, metadata_location, previous_metadata_location
			FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`,
			"dev", "raw", "events").Scan(&typ, &loc, &prev)
		require.NoError(t, err)
		require.Equal(t, "TABLE", typ)
		tableDir := filepath.Join(l.Warehouse(), "dev", "raw", "events")
		require.Regexp(t, "^file://"+regexp.QuoteMeta(tableDir)+`/metadata/00002-[0-9a-f-]{36}\.metadata\.json$`, loc)
		require.True(t, prev.Valid)
		require.FileExists(t, strings.TrimPrefix(loc, "file://"))
		require.FileExists(t, strings.TrimPrefix(prev.String, "file://"))
		entries, err := os.ReadDir(filepath.Join(tableDir, "data"))
		require.NoError(t, err)
		require.Len(t, entries, 2)

		var nsLoc string
		err = db.SQL.QueryRowContext(ctx, `SELECT property_value FROM iceberg_namespace_properties
			WHERE catalog_name = $1 AND namespace = $2 AND property_key = 'location'`, "dev", "features").Scan(&nsLoc)
		require.NoError(t, err)
		require.Equal(t, "file://"+filepath.Join(l.Warehouse(), "dev", "features"), nsLoc)
	})
}

// TestLegacyCatalogGetsIcebergType opens a lake on a catalog created without iceberg_type (the Java V0
// default) and checks the column is added and used.
func TestLegacyCatalogGetsIcebergType(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		db, err := meta.Open(ctx, dsn)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.SQL.ExecContext(ctx, `CREATE TABLE iceberg_tables (
			catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL,
			table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000),
			previous_metadata_location VARCHAR(1000),
			PRIMARY KEY (catalog_name, table_namespace, table_name))`)
		require.NoError(t, err)
		_, err = db.SQL.ExecContext(ctx, `CREATE TABLE iceberg_namespace_properties (
			catalog_name VARCHAR(255) NOT NULL, namespace VARCHAR(255) NOT NULL,
			property_key VARCHAR(255) NOT NULL, property_value VARCHAR(1000),
			PRIMARY KEY (catalog_name, namespace, property_key))`)
		require.NoError(t, err)

		l := laketest.Open(t, db, t.TempDir())
		require.NoError(t, l.EnsureEnv(ctx, "dev"))
		write(t, l, "dev", lake.Ident{Zone: "raw", Name: "t"}, 0, 5, lake.WriteOptions{CreateIfMissing: true})
		var typ string
		require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT iceberg_type FROM iceberg_tables`).Scan(&typ))
		require.Equal(t, "TABLE", typ)
	})
}
