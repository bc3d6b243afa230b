//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// catalogBenchQueries are metadata statements clients send, by name; %s is the table's OID.
var catalogBenchQueries = []struct{ name, sql string }{
	{"select_1", "SELECT 1"},
	{"pg_type_by_name", "SELECT oid, typarray FROM pg_catalog.pg_type WHERE typname = 'numeric'"},
	{"psql_d_columns", `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), a.attnotnull
FROM pg_catalog.pg_attribute a WHERE a.attrelid = '%s' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`},
	{"information_schema_columns", "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'people' ORDER BY ordinal_position"},
}

// BenchmarkCatalogQuery runs metadata queries through the endpoint (pgx, simple protocol) and, when
// STRATA_TEST_PG_DSN names a PostgreSQL server, the same queries on PostgreSQL in the same run.
func BenchmarkCatalogQuery(b *testing.B) {
	f := start(b)
	ctx := context.Background()
	targets := map[string]*pgx.Conn{"strata": f.connect(b, "dev", pgx.QueryExecModeSimpleProtocol)}
	if dsn := os.Getenv("STRATA_TEST_PG_DSN"); dsn != "" {
		pg, err := pgx.Connect(ctx, dsn)
		require.NoError(b, err)
		b.Cleanup(func() { _ = pg.Close(ctx) })
		_, err = pg.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS raw; CREATE TABLE IF NOT EXISTS raw.people (id bigint, name text, score double precision)")
		require.NoError(b, err)
		targets["postgres"] = pg
	}
	for _, target := range []string{"strata", "postgres"} {
		c := targets[target]
		if c == nil {
			continue
		}
		var oid string
		require.NoError(b, c.QueryRow(ctx, "SELECT CAST(CAST('raw.people'::regclass AS oid) AS text)").Scan(&oid))
		for _, q := range catalogBenchQueries {
			sql := q.sql
			if q.name == "psql_d_columns" {
				sql = fmt.Sprintf(sql, oid)
			}
			b.Run(target+"/"+q.name, func(b *testing.B) {
				for range b.N {
					rows, err := c.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
					require.NoError(b, err)
					for rows.Next() {
					}
					require.NoError(b, rows.Err())
				}
			})
		}
	}
}
