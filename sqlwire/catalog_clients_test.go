//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestCatalogClientStatements replays the metadata statements real clients send (research/data-access.md §2,
// §10: RPostgres, RPostgreSQL, psqlODBC, SQLAlchemy, psycopg, pgjdbc, DBeaver, ADBC, Power BI) and checks each
// answer, in the protocol the client uses.
func TestCatalogClientStatements(t *testing.T) {
	t.Parallel()
	f := start(t)
	simple := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	extended := f.connect(t, "prod", pgx.QueryExecModeDescribeExec)
	tests := []struct {
		client string
		conn   *pgx.Conn
		sql    string
		args   []any
		want   string // rows joined by "; ", columns by "|"
	}{
		{"RPostgreSQL", simple, `select tablename from pg_tables where schemaname !='information_schema' and schemaname !='pg_catalog'`,
			nil, "people"},
		{"RPostgres dbListTables", extended, `SELECT * FROM unnest(current_schemas(true)) WITH ORDINALITY AS tbl(table_schema, nr)`,
			nil, "pg_catalog|1; public|2"},
		{"RPostgres", extended, `SELECT oid, typname FROM pg_type WHERE typname IN ('int4', '_text') ORDER BY oid`, nil,
			"23|int4; 1009|_text"},
		{"psqlODBC", simple, `select oid, typbasetype from pg_type where typname = 'lo'`, nil, ""},
		{"SQLAlchemy hstore probe", simple, `SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'`,
			nil, ""},
		{"psycopg TypeInfo", extended, `SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS regtype, typdelim AS delimiter
			FROM pg_type t WHERE t.oid = to_regtype($1) ORDER BY t.oid`, []any{"numeric"}, "numeric|1700|1231|numeric|,"},
		{"pgjdbc type by OID", extended, `SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t
			JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = $1`, []any{"1184"}, "true|pg_catalog|timestamptz"},
		{"pgjdbc current schema", extended, `select (pg_catalog.current_schemas(true))[1]`, nil, "pg_catalog"},
		{"DBeaver", simple, `SELECT count(*) FROM pg_catalog.pg_description d WHERE d.classoid='pg_namespace'::regclass`, nil, "0"},
		{"ADBC attributes", extended, `SELECT attrelid, attname, atttypid FROM pg_catalog.pg_attribute ORDER BY attrelid, attnum`, nil,
			"%[1]d|id|20; %[1]d|name|25; %[1]d|score|701"}, // checked as a part: the strata.* tables follow
		{"ADBC types", extended, `SELECT count(*) > 100 FROM pg_catalog.pg_type WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r'`,
			nil, "true"},
		{"ADBC type resolver", extended, `SELECT oid, typname, typreceive, typbasetype, typrelid, typarray FROM pg_catalog.pg_type
			WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r' AND typreceive::TEXT != 'array_recv'
			AND typname IN ('int8', '_int8', 'numeric', 'timestamptz', 'text') ORDER BY oid`, nil,
			"20|int8|int8recv|0|0|1016; 25|text|textrecv|0|0|1009; 1184|timestamptz|timestamptz_recv|0|0|1185; 1700|numeric|numeric_recv|0|0|1231"},
		{"regproc columns under *", extended, `SELECT * FROM pg_catalog.pg_range WHERE rngtypid = 3904`, nil,
			"3904|23|4451|0|1978|int4range_canonical|int4range_subdiff"},
		{"Power BI navigator", extended, `select TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE from INFORMATION_SCHEMA.tables
			where TABLE_SCHEMA not in ('information_schema', 'pg_catalog') and TABLE_SCHEMA = 'raw' order by TABLE_SCHEMA, TABLE_NAME`,
			nil, "raw|people|BASE TABLE"},
		{"Power BI columns", extended, `select COLUMN_NAME, ORDINAL_POSITION, IS_NULLABLE, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE
			from INFORMATION_SCHEMA.columns where TABLE_SCHEMA = 'raw' and TABLE_NAME = 'people' order by ORDINAL_POSITION`,
			nil, "id|1|YES|bigint|64|0; name|2|YES|text|NULL|NULL; score|3|YES|double precision|53|NULL"},
		{"Power BI relationships", extended, `select pkcol.COLUMN_NAME as PK_COLUMN_NAME, fkcol.TABLE_SCHEMA AS FK_TABLE_SCHEMA,
			fkcol.TABLE_NAME AS FK_TABLE_NAME, fkcol.COLUMN_NAME as FK_COLUMN_NAME, fkcol.ORDINAL_POSITION as ORDINAL,
			fkcon.CONSTRAINT_SCHEMA || '_' || fkcol.TABLE_NAME || '_' || 'people' || '_' || fkcon.CONSTRAINT_NAME as FK_NAME
			from (select distinct constraint_catalog, constraint_schema, unique_constraint_schema, constraint_name, unique_constraint_name
			from INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS) fkcon
			inner join INFORMATION_SCHEMA.KEY_COLUMN_USAGE fkcol on fkcon.CONSTRAINT_SCHEMA = fkcol.CONSTRAINT_SCHEMA
			and fkcon.CONSTRAINT_NAME = fkcol.CONSTRAINT_NAME
			inner join INFORMATION_SCHEMA.KEY_COLUMN_USAGE pkcol on fkcon.UNIQUE_CONSTRAINT_SCHEMA = pkcol.CONSTRAINT_SCHEMA
			and fkcon.UNIQUE_CONSTRAINT_NAME = pkcol.CONSTRAINT_NAME and fkcol.ORDINAL_POSITION = pkcol.ORDINAL_POSITION
			where pkcol.TABLE_SCHEMA = 'raw' and pkcol.TABLE_NAME = 'people'`, nil, ""},
		{"schemata", simple, `SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT LIKE 'pg_%' ORDER BY 1`,
			nil, "clean; datasets; features; information_schema; public; raw; strata"},
	}
	oid := ""
	require.NoError(t, simple.QueryRow(context.Background(), "SELECT CAST('raw.people'::regclass AS VARCHAR)").Scan(&oid))
	for _, tc := range tests {
		want := tc.want
		if strings.Contains(want, "%[1]d") {
			var n int64
			_, _ = fmt.Sscan(oid, &n)
			want = fmt.Sprintf(want, n)
		}
		got := rowsText(t, tc.conn, tc.sql, tc.args...)
		if tc.client == "ADBC attributes" {
			require.Contains(t, got, want, tc.client)
			require.Len(t, strings.Split(got, "; "), 3+len(strings.Split(strataAttributes(t, simple), "; ")))
			continue
		}
		require.Equal(t, want, got, tc.client)
	}
}

// strataAttributes lists the strata.* system tables' attributes the way the ADBC query prints them.
func strataAttributes(t *testing.T, c *pgx.Conn) string {
	t.Helper()
	return rowsText(t, c, `SELECT a.attrelid, a.attname, a.atttypid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'strata' ORDER BY a.attrelid, a.attnum`)
}

// rowsText runs sql and prints its rows as "a|b; c|d" (NULL for NULL), in text format.
func rowsText(t *testing.T, c *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	rows, err := c.Query(context.Background(), sql, args...)
	require.NoError(t, err, sql)
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		cells := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	require.NoError(t, rows.Err(), sql)
	return strings.Join(out, "; ")
}
