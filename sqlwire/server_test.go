//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestConnectDevAndProd(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for env, want := range map[string][]int64{"dev": {1, 2, 3}, "prod": {1, 2}} {
		c := f.connect(t, env, pgx.QueryExecModeSimpleProtocol)
		rows, err := c.Query(ctx, "SELECT id FROM raw.people ORDER BY id")
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
		require.Equal(t, want, ids, "%s: prod sees only its release, not the forced unpublished write of id 100", env)
	}
}

func TestStartupParameters(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	pc := c.PgConn()
	for name, want := range map[string]string{"server_version": "15.0 (Strata)", "server_encoding": "UTF8",
		"client_encoding": "UTF8", "DateStyle": "ISO, MDY", "integer_datetimes": "on",
		"standard_conforming_strings": "on", "TimeZone": "UTC"} {
		require.Equal(t, want, pc.ParameterStatus(name), name)
	}
	require.NotZero(t, pc.PID(), "BackendKeyData was sent")
}

func TestUnknownDatabase(t *testing.T) {
	f := start(t)
	_, err := pgx.Connect(context.Background(), f.url("nope"))
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "3D000", pe.Code)
	require.Equal(t, "FATAL", pe.Severity)
	require.Contains(t, pe.Message, "dev, prod")
}

// simple runs sql with the simple protocol and returns every result's text values.
func simple(t *testing.T, c *pgx.Conn, sql string) ([]*pgconn.Result, error) {
	t.Helper()
	return c.PgConn().Exec(context.Background(), sql).ReadAll()
}

func TestTypesAndTextEncodings(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	cases := []struct {
		expr string
		oid  uint32
		mod  int32
		text string
	}{
		{"1::SMALLINT", 21, -1, "1"},
		{"2::INTEGER", 23, -1, "2"},
		{"-3::BIGINT", 20, -1, "-3"},
		{"1.5::REAL", 700, -1, "1.5"},
		{"0.1::DOUBLE", 701, -1, "0.1"},
		{"'NaN'::DOUBLE", 701, -1, "NaN"},
		{"12.30::DECIMAL(12,2)", 1700, 12<<16 | 2 + 4, "12.30"},
		{"-0.05::DECIMAL(5,3)", 1700, 5<<16 | 3 + 4, "-0.050"},
		{"-123456789012345678901234.5::DECIMAL(38,1)", 1700, 38<<16 | 1 + 4, "-123456789012345678901234.5"},
		{"'Zoë ✓ 日本'::VARCHAR", 25, -1, "Zoë ✓ 日本"},
		{"true", 16, -1, "t"},
		{"false", 16, -1, "f"},
		{"DATE '2026-01-02'", 1082, -1, "2026-01-02"},
		{"TIME '10:00:00.5'", 1083, -1, "10:00:00.5"},
		{"TIMESTAMP '2026-01-02 10:00:00'", 1114, -1, "2026-01-02 10:00:00"},
		{"TIMESTAMP '2026-01-02 10:00:00.123456'", 1114, -1, "2026-01-02 10:00:00.123456"},
		{"TIMESTAMPTZ '2026-01-02 12:00:00+02'", 1184, -1, "2026-01-02 10:00:00+00"},
		{"INTERVAL '1 year 2 months 3 days 04:05:06'", 1186, -1, "1 year 2 mons 3 days 04:05:06"},
		{"INTERVAL '1 day'", 1186, -1, "1 day"},
		{"'\\xDE\\xAD'::BLOB", 17, -1, `\xdead`},
		{"[1, 2, NULL]::INTEGER[]", 1007, -1, "{1,2,NULL}"},
		{"['a b', 'c', 'x\"y']", 1009, -1, `{"a b",c,"x\"y"}`},
		{"[1.5, 2]::DOUBLE[]", 1022, -1, "{1.5,2}"},
		{"{'a': 1}", 114, -1, `{"a":1}`},
	}
	for _, tc := range cases {
		res, err := simple(t, c, "SELECT "+tc.expr+" AS v")
		require.NoError(t, err, tc.expr)
		require.Len(t, res, 1)
		fd := res[0].FieldDescriptions[0]
		require.Equal(t, tc.oid, fd.DataTypeOID, tc.expr)
		require.Equal(t, tc.mod, fd.TypeModifier, tc.expr)
		require.Equal(t, tc.text, string(res[0].Rows[0][0]), tc.expr)
	}
	res, err := simple(t, c, "SELECT NULL::INTEGER AS n, '' AS e")
	require.NoError(t, err)
	require.Nil(t, res[0].Rows[0][0], "NULL is sent as length -1")
	require.NotNil(t, res[0].Rows[0][1], "an empty string is not NULL")
}

func TestLakeRowsRoundTripThroughPgx(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	rows, err := c.Query(context.Background(), "SELECT id, name, score FROM raw.people ORDER BY id")
	require.NoError(t, err)
	type row struct {
		ID    int64
		Name  string
		Score *float64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	require.NoError(t, err)
	one, three := 1.5, 3.5
	require.Equal(t, []row{{1, "Zoë ✓ 1", &one}, {2, "Zoë ✓ 2", nil}, {3, "Zoë ✓ 3", &three}}, got)
}

func TestErrorsCarrySQLStateAndSessionSurvives(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	cases := []struct{ sql, state, msg string }{
		{"SELECT * FROM raw.nope", "42P01", "nope"},
		{"SELECT * FROM nowhere", "42P01", "nowhere"},
		{"SELEC 1", "42601", "syntax error"},
		{"SELECT nocolumn FROM raw.people", "42703", "nocolumn"},
		{"SELECT 1/0::INTEGER + 'x'::INTEGER", "22P02", "x"},
		{"CREATE TABLE raw.t (a INTEGER)", "42501", "CREATE"},
		{"UPDATE raw.people SET score = 1", "42501", "UPDATE"},
		{"COPY (SELECT 1) TO '/tmp/strata-sqlwire-out.csv'", "42501", "COPY"},
		{"ATTACH '/tmp/x.db'", "42501", "ATTACH"},
		{"INSTALL httpfs", "42501", "INSTALL"},
		{"LOAD httpfs", "42501", "LOAD"},
		{"SELECT * FROM read_csv('/etc/passwd')", "42501", "/etc/passwd"},
		{"SELECT * FROM read_parquet('/etc/hostname')", "42501", ""},
		{"SELECT * FROM '/etc/passwd'", "42P01", "/etc/passwd"}, // the file is not read: DuckDB looks for a table
		{"DELETE FROM raw.people", "42501", "DELETE"},
		{"PRAGMA enable_profiling", "42501", "PRAGMA"},
		{"SET nosuchvariable = 1", "42704", "nosuchvariable"},
		{"SHOW nosuchvariable", "42704", "nosuchvariable"},
	}
	for _, tc := range cases {
		_, err := simple(t, c, tc.sql)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", tc.sql, err)
		require.Equal(t, tc.state, pe.Code, "%s: %s", tc.sql, pe.Message)
		require.Contains(t, pe.Message, tc.msg, tc.sql)
		require.NotContains(t, pe.Message, "root:", "no file content leaks into errors")
		var one int
		require.NoError(t, c.QueryRow(context.Background(), "SELECT 1").Scan(&one), "the session survives %s", tc.sql)
	}
}

func TestMultiStatementAndEmptyQueries(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	res, err := simple(t, c, "SELECT 1 AS a; SELECT 'two' AS b;; SELECT count(*) FROM raw.people")
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.Equal(t, "1", string(res[0].Rows[0][0]))
	require.Equal(t, "two", string(res[1].Rows[0][0]))
	require.Equal(t, "3", string(res[2].Rows[0][0]))
	require.Equal(t, "SELECT 1", res[2].CommandTag.String())
	for _, empty := range []string{"", ";", "  -- nothing\n"} {
		res, err = simple(t, c, empty)
		require.NoError(t, err, "%q", empty)
		require.Len(t, res, 1, "%q: EmptyQueryResponse", empty)
		require.Empty(t, res[0].Rows)
		require.Empty(t, res[0].CommandTag.String())
	}
	// An error stops the rest of the message, as in PostgreSQL.
	res, err = simple(t, c, "SELECT 1; SELECT * FROM raw.nope; SELECT 3")
	require.Error(t, err)
	require.Len(t, res, 1)
	require.Equal(t, "1", string(res[0].Rows[0][0]))
}

func TestSessionCommands(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	cases := []struct{ sql, tag, value string }{
		{"BEGIN", "BEGIN", ""},
		{"SELECT 1", "SELECT 1", "1"},
		{"COMMIT", "COMMIT", ""},
		{"BEGIN READ ONLY", "BEGIN", ""},
		{"SAVEPOINT s1", "SAVEPOINT", ""},
		{"ROLLBACK TO s1", "ROLLBACK", ""},
		{"ROLLBACK", "ROLLBACK", ""},
		{"SET application_name = 'notebook'", "SET", ""},
		{"SHOW application_name", "SHOW", "notebook"},
		{"SET extra_float_digits TO 3", "SET", ""},
		{"SHOW extra_float_digits", "SHOW", "3"},
		{"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", "SET", ""},
		{"show transaction isolation level", "SHOW", "read committed"},
		{"SHOW standard_conforming_strings", "SHOW", "on"},
		{"SET TIME ZONE 'UTC'", "SET", ""},
		{"SHOW TimeZone", "SHOW", "UTC"},
		{"SET strata.anything = 'x'", "SET", ""},
		{"RESET application_name", "RESET", ""},
		{"SHOW application_name", "SHOW", ""},
		{"DISCARD ALL", "DISCARD ALL", ""},
		{"RESET ALL", "RESET", ""},
	}
	for _, tc := range cases {
		res, err := simple(t, c, tc.sql)
		require.NoError(t, err, tc.sql)
		require.Len(t, res, 1, tc.sql)
		require.Equal(t, tc.tag, res[0].CommandTag.String(), tc.sql)
		if len(res[0].Rows) > 0 {
			require.Equal(t, tc.value, string(res[0].Rows[0][0]), tc.sql)
		}
	}
	_, err := simple(t, c, "SET application_name = 'app'")
	require.NoError(t, err)
	require.Equal(t, "app", c.PgConn().ParameterStatus("application_name"), "SET reports a GUC_REPORT variable")
	require.Equal(t, byte('I'), c.PgConn().TxStatus())
	_, err = simple(t, c, "BEGIN")
	require.NoError(t, err)
	require.Equal(t, byte('T'), c.PgConn().TxStatus())
	_, err = simple(t, c, "SET client_encoding = 'LATIN1'")
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "22023", pe.Code)
	require.True(t, strings.Contains(pe.Message, "UTF8"))
}

// TestShowHotTables: SHOW strata.hot_tables reports the engine's in-memory table copies, so that a client timing
// queries can wait for them (bench/sql); it cannot be SET.
func TestShowHotTables(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	show := func() string {
		var v string
		require.NoError(t, c.QueryRow(ctx, "SHOW strata.hot_tables").Scan(&v))
		return v
	}
	require.Equal(t, "0 loaded, 0 loading, 0 bytes", show())
	for range 2 { // the second use of a pooled database copies its tables into memory
		var n int64
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
		require.Equal(t, int64(3), n)
	}
	require.Eventually(t, func() bool { return strings.HasPrefix(show(), "1 loaded, 0 loading, ") }, 20*time.Second, 5*time.Millisecond)
	require.NotEqual(t, "1 loaded, 0 loading, 0 bytes", show())

	_, err := simple(t, c, "SET strata.hot_tables = '9 loaded'")
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe))
	require.Contains(t, pe.Message, "cannot be changed")
}
