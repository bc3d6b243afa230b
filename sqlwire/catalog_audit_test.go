//go:build duckdb_arrow

package sqlwire_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestCatalogAnswersAsPostgres: the catalog relations and functions the issue lists answer exactly as a real
// PostgreSQL 15 does where the answer does not depend on the data (type rows and their I/O functions,
// pg_range, ::regtype of plain and pg_catalog-qualified names, current_schemas, OPERATOR(pg_catalog.~),
// pg_get_expr, has_*_privilege); the relations of what the lake lacks (indexes, constraints, keys, enums,
// descriptions) are empty, and those of the lake's tables are consistent with each other.
func TestCatalogAnswersAsPostgres(t *testing.T) {
	t.Parallel()
	f := start(t)
	pg := connectPostgres(t)
	strata := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	for _, q := range []string{
		`SELECT oid::text || ' ' || typname || ' ' || typreceive::text || ' ' || typsend::text || ' ' || typinput::text || ' ' ||
			typoutput::text || ' ' || typarray::text || ' ' || typlen::text || ' ' || typtype::text || ' ' || typcategory::text
			FROM pg_catalog.pg_type WHERE oid IN (16, 17, 20, 21, 23, 25, 114, 700, 701, 1043, 1082, 1083, 1114, 1184, 1186,
			1266, 1700, 2950, 1007, 1009, 3904) ORDER BY oid`,
		`SELECT rngtypid::text || ' ' || rngsubtype::text || ' ' || rngmultitypid::text FROM pg_catalog.pg_range ORDER BY 1`,
		`SELECT 'int4'::regtype::oid::text || ' ' || 'integer'::regtype::oid::text || ' ' || 'pg_catalog.int4'::regtype::oid::text
			|| ' ' || 'character varying'::regtype::oid::text || ' ' || 'pg_catalog.text'::regtype::oid::text`,
		`SELECT array_to_string(current_schemas(false), ',') || ' ' || array_to_string(current_schemas(true), ',') || ' ' || current_schema()`,
		`SELECT ('abc' OPERATOR(pg_catalog.~) '^a')::text || ' ' || ('abc' OPERATOR(pg_catalog.~) '^b')::text`,
		`SELECT coalesce(pg_get_expr(NULL, 0), 'null') || ' ' || pg_catalog.pg_encoding_to_char(6)`,
		`SELECT has_schema_privilege('public', 'USAGE')::text || ' ' || has_database_privilege(current_database(), 'CONNECT')::text`,
	} {
		require.Equal(t, texts(t, pg, q), texts(t, strata, q), q)
	}
	for q, want := range map[string]string{
		"SELECT count(*)::text FROM pg_catalog.pg_index":                                                              "0",
		"SELECT count(*)::text FROM pg_catalog.pg_constraint":                                                         "0",
		"SELECT count(*)::text FROM pg_catalog.pg_enum":                                                               "0",
		"SELECT count(*)::text FROM pg_catalog.pg_description":                                                        "0",
		"SELECT count(*)::text FROM information_schema.table_constraints WHERE table_schema = 'raw'":                  "0",
		"SELECT count(*)::text FROM information_schema.key_column_usage WHERE table_schema = 'raw'":                   "0",
		"SELECT has_table_privilege('raw.people', 'SELECT')::text":                                                    "true",
		"SELECT ('raw.people'::regclass::oid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'people'))::text": "true",
		"SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a " +
			"WHERE a.attrelid = 'raw.people'::regclass AND a.attnum > 0": "id:bigint,name:text,score:double precision",
		"SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns " +
			"WHERE table_schema = 'raw' AND table_name = 'people'": "id:bigint,name:text,score:double precision",
		"SELECT datname FROM pg_catalog.pg_database WHERE datname = current_database()": "dev",
		"SELECT setting FROM pg_catalog.pg_settings WHERE name = 'server_version_num'":  "150000",
	} {
		require.Equal(t, []string{want}, texts(t, strata, q), q)
	}
}
