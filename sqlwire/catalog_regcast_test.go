//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestRegCastsPrintNamesAsPostgres: a value of an OID alias type that a statement returns ('int4'::regtype,
// oid::regtype, CAST(x AS regclass), ::regnamespace, ::regproc) prints as the name of what it stands for, with
// the column named as PostgreSQL names it, exactly as a real PostgreSQL 15 answers; cast on to oid or int, or
// compared, it is the OID. A column of a derived table or CTE that holds one prints the name too when the
// statement returns it as it is. Both servers are read in text (the simple protocol) as psql reads them. (Known
// differences: ORDER BY the shown column itself sorts the names here, the OIDs in PostgreSQL; such a column
// renamed by a column list, s(t), or returned by *, or nested deeper, prints the OID.)
func TestRegCastsPrintNamesAsPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := start(t)
	cfg, err := pgx.ParseConfig(testenv.PostgresDSN(t))
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pg, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close(ctx) })
	strata := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	for _, q := range []string{
		`SELECT 'int4'::regtype, 'character varying'::regtype AS v, 'pg_catalog.text'::regtype, 'timestamptz'::regtype "t z"`,
		`SELECT oid::regtype, t.oid::pg_catalog.regtype AS o, typname FROM pg_catalog.pg_type t
			WHERE oid IN (16, 20, 23, 25, 701, 1043, 1114, 1184, 1700) ORDER BY typname`,
		`SELECT CAST('int8' AS regtype), CAST('int8' AS pg_catalog.regtype) AS c`,
		`SELECT 'int4'::regtype::oid AS o, 'int4'::regtype::int AS i, 'int4'::regtype::text AS t`,
		`SELECT count(*) AS n FROM pg_catalog.pg_type WHERE oid = 'int4'::regtype OR oid = 'text'::regtype`,
		`SELECT DISTINCT 'bool'::regtype FROM pg_catalog.pg_type`,
		`SELECT 'pg_catalog'::regnamespace, 'pg_catalog'::regnamespace::oid AS o`,
		`SELECT 'int4in'::regproc, 'int4in'::regproc::oid AS o`,
		`SELECT 'int4'::regtype = 23 AS eq, 'int4'::regtype IS NULL AS n`,
		`SELECT t FROM (SELECT 'int4'::regtype AS t) s`,
		`SELECT ty, typname FROM (SELECT oid::regtype AS ty, typname FROM pg_catalog.pg_type) AS s
			WHERE ty IN (16, 23, 25) ORDER BY typname`,
		`WITH x AS (SELECT oid::regtype ty, typname FROM pg_catalog.pg_type WHERE oid IN (16, 20, 1043))
			SELECT ty, ty::oid AS o, typname FROM x ORDER BY typname`,
		`SELECT ty AS y, ty = 16 AS is_bool FROM (SELECT 'bool'::regtype AS ty) s`,
		`SELECT regtype, oid FROM (SELECT 'text'::regtype, 5 AS oid) s`,
		`SELECT n FROM (SELECT 'pg_catalog'::regnamespace AS n) s JOIN (SELECT 1 AS k) k ON true`,
		`SELECT t FROM (SELECT count(*) AS t FROM (SELECT 'int4'::regtype AS t) a) b`,
		`WITH x AS (SELECT 'int4'::regtype AS oid) SELECT oid FROM pg_catalog.pg_type WHERE typname = 'bool'`,
	} {
		require.Equal(t, shown(t, pg, q), shown(t, strata, q), q)
	}
	for q, want := range map[string]string{ // the lake's tables: PostgreSQL prints a schema not on the search path
		`SELECT 'raw.people'::regclass`: "regclass\nraw.people",
		`SELECT attrelid::regclass, attname FROM pg_catalog.pg_attribute WHERE attrelid = 'raw.people'::regclass AND attnum = 1`: "attrelid|attname\nraw.people|id",
		`SELECT 'raw.people'::regclass::oid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'people') AS same`:            "same\nt",
	} {
		require.Equal(t, want, shown(t, strata, q), q)
	}
}

// shown is a result as psql would show it: the column names, then each row's text values, "|"-separated.
func shown(t *testing.T, c *pgx.Conn, sql string) string {
	t.Helper()
	rows, err := c.Query(context.Background(), sql)
	require.NoError(t, err, sql)
	defer rows.Close()
	var names []string
	for _, fd := range rows.FieldDescriptions() {
		names = append(names, fd.Name)
	}
	lines := []string{strings.Join(names, "|")}
	for rows.Next() {
		var vals []string
		for _, v := range rows.RawValues() {
			vals = append(vals, string(v))
		}
		lines = append(lines, strings.Join(vals, "|"))
	}
	require.NoError(t, rows.Err(), sql)
	return strings.Join(lines, "\n")
}
