//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
)

// TestDevWritesTakeOneRead: CREATE TABLE AS and INSERT INTO write the rows of one read, and nothing else gets
// in through them: an EXPLAIN ANALYZE of a write or a WITH ... INSERT as the source, a source that reads a
// file, a second statement in one extended-protocol Parse, a table in a schema that is not a zone (pg_catalog,
// information_schema, strata, strata_at). Each is refused, and the lake is unchanged.
func TestDevWritesTakeOneRead(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	tables := func() []string {
		c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
		return texts(t, c, "SELECT table_schema || '.' || table_name FROM information_schema.tables "+
			"WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'strata') ORDER BY 1")
	}
	snaps := func() int {
		tv, err := f.svc.Describe(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"})
		require.NoError(t, err)
		return len(tv.Snapshots)
	}
	before := snaps()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		c := f.connect(t, "dev", mode)
		for sql, code := range map[string]string{
			"CREATE TABLE clean.t AS EXPLAIN ANALYZE CREATE TABLE y AS SELECT 1":              "42501",
			"CREATE TABLE clean.t AS EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/strata-x.csv'":  "42501",
			"CREATE TABLE clean.t AS WITH x AS (SELECT 1 AS a) INSERT INTO y SELECT * FROM x": "42501",
			"INSERT INTO raw.people EXPLAIN ANALYZE CREATE TABLE y AS SELECT 1":               "42501",
			"INSERT INTO raw.people WITH x AS (SELECT 1) DELETE FROM y":                       "42501",
			"CREATE TABLE clean.t AS SELECT * FROM read_text('/etc/hostname')":                "42501",
			"INSERT INTO raw.people SELECT 9, content, 1.0 FROM read_text('/etc/hostname')":   "42501",
			"CREATE TABLE pg_catalog.pg_class AS SELECT 1 AS oid":                             "42P01",
			"CREATE TABLE information_schema.tables AS SELECT 1 AS a":                         "42P01",
			"CREATE TABLE strata.releases AS SELECT 1 AS a":                                   "42P01",
			"CREATE TABLE strata_at.x AS SELECT 1 AS a":                                       "42P01",
		} {
			err := execIn(c, mode, sql)
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe), "%v %s: %v", mode, sql, err)
			require.Equal(t, code, pe.Code, "%v %s: %s", mode, sql, pe.Message)
		}
	}
	ext := f.connect(t, "dev", pgx.QueryExecModeExec)
	err := execIn(ext, pgx.QueryExecModeExec, "CREATE TABLE clean.t AS SELECT 1 AS a; DROP TABLE raw.people")
	require.Error(t, err, "two statements in one Parse")
	err = execIn(ext, pgx.QueryExecModeExec, "INSERT INTO raw.people SELECT 5, 'x', 1.0; DROP TABLE raw.people")
	require.Error(t, err, "two statements in one Parse")
	require.Equal(t, []string{"raw.people"}, tables())
	require.Equal(t, before, snaps(), "raw.people has no new snapshot")
}
