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
// compared, it is the OID. Both servers are read in text (the simple protocol) as psql reads them. (Known
// difference: ORDER BY the shown column itself sorts the names here, the OIDs in PostgreSQL.)
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
