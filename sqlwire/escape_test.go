//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
)

// TestEveryEscapeIsRefused tries, as an attacker would, every DuckDB way to reach the file system, the
// network, extensions or secrets, and every way to write, through both protocols and in dev and prod: each
// is refused with 42501 and the session keeps serving. Where DuckDB could run the statement in a scratch
// database anyway (EXPLAIN ANALYZE executes what it explains, a second statement after a SELECT), it is
// refused before it reaches DuckDB.
func TestEveryEscapeIsRefused(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	// a lake file prod's release does not pin: dev's latest snapshot of raw.people
	plan, err := f.svc.Resolve(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, lake.SnapshotRef{})
	require.NoError(t, err)
	require.NotEmpty(t, plan.Files)
	devFile := strings.TrimPrefix(plan.Files[0], "file://")
	devDir := filepath.Dir(devFile)

	attacks := []string{
		// files, by every reader DuckDB has
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_csv_auto('/etc/passwd')",
		"SELECT * FROM sniff_csv('/etc/passwd')",
		"SELECT * FROM read_json('/etc/passwd')",
		"SELECT * FROM read_json_auto('/etc/passwd')",
		"SELECT * FROM read_ndjson_objects('/etc/passwd')",
		"SELECT * FROM read_text('/etc/hostname')",
		"SELECT * FROM read_blob('/etc/hostname')",
		"SELECT * FROM read_parquet('/etc/hostname')",
		"SELECT * FROM read_parquet(['/etc/hostname'])",
		"SELECT * FROM parquet_metadata('/etc/hostname')",
		"SELECT * FROM parquet_schema('/etc/hostname')",
		"SELECT * FROM parquet_file_metadata('/etc/hostname')",
		"SELECT * FROM parquet_kv_metadata('/etc/hostname')",
		"SELECT * FROM glob('/etc/*')",
		"SELECT * FROM glob('" + devDir + "/*')",
		"SELECT * FROM read_parquet('" + devFile + "')", // the lake behind prod's back
		"SELECT count(*) FROM '" + devFile + "'",
		"FROM read_csv('/etc/passwd')",
		"DESCRIBE SELECT * FROM read_csv('/etc/passwd')",
		"SUMMARIZE SELECT * FROM read_csv('/etc/passwd')",
		"WITH x AS (SELECT * FROM read_text('/etc/hostname')) SELECT * FROM x",
		"SELECT (SELECT content FROM read_text('/etc/hostname'))",
		// the network
		"SELECT * FROM read_csv('https://example.com/x.csv')",
		"SELECT * FROM 'https://example.com/x.csv'",
		"SELECT * FROM read_parquet('s3://bucket/x.parquet')",
		// extensions and secrets
		"SELECT * FROM duckdb_extensions()",
		"SELECT * FROM duckdb_secrets()",
		"SELECT * FROM which_secret('s3://x/y', 's3')",
		"INSTALL httpfs",
		"LOAD httpfs",
		"FORCE INSTALL httpfs",
		"UNINSTALL httpfs",
		"CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
		// writing files, attaching databases, settings that open files
		"COPY (SELECT 1) TO '" + out + "'",
		"COPY raw.people TO '" + out + "'",
		"COPY (SELECT 1) TO PROGRAM 'touch " + out + "'",
		"EXPORT DATABASE '" + dir + "'",
		"IMPORT DATABASE '" + dir + "'",
		"ATTACH '" + filepath.Join(dir, "x.db") + "' AS x",
		"ATTACH ':memory:' AS x",
		"DETACH memory",
		"USE memory",
		"SET temp_directory = '" + dir + "'",
		"SET allowed_directories = ['/']",
		"SET enable_external_access = true",
		"SET lock_configuration = false",
		"SET log_query_path = '" + out + "'",
		"SET profiling_output = '" + out + "'",
		"SET extension_directory = '" + dir + "'",
		"SET secret_directory = '" + dir + "'",
		"PRAGMA enable_profiling",
		"PRAGMA profiling_output = '" + out + "'",
		"CALL enable_logging()",
		"CHECKPOINT",
		// EXPLAIN ANALYZE runs what it explains
		"EXPLAIN ANALYZE COPY (SELECT 1) TO '" + out + "'",
		"EXPLAIN COPY (SELECT 1) TO '" + out + "'",
		"EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
		"EXPLAIN ANALYZE CREATE OR REPLACE VIEW raw.people AS SELECT 999 AS id",
		"EXPLAIN ANALYZE INSTALL httpfs",
		"EXPLAIN ANALYZE INSERT INTO raw.people SELECT 5, 'x', 1.0",
		"EXPLAIN (FORMAT json) CREATE TABLE x AS SELECT 1",
		"explain analyse create table x as select 1",
		// ... and so do the queries of COPY and DECLARE
		"COPY (EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1) TO STDOUT",
		"COPY (WITH x AS (SELECT 1) DELETE FROM y) TO STDOUT",
		"DECLARE c1 CURSOR WITH HOLD FOR EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
		"DECLARE c2 CURSOR WITH HOLD FOR WITH x AS (SELECT 1 AS a) INSERT INTO y SELECT * FROM x",
		// writes other than the three dev ones, including CTE-led ones
		"WITH a AS (SELECT 1) INSERT INTO raw.people SELECT 5, 'x', 1.0",
		"WITH a AS (SELECT 1) DELETE FROM raw.people",
		"WITH a AS (SELECT 1) UPDATE raw.people SET id = 0",
		"CREATE TEMP TABLE t AS SELECT 1",
		"CREATE MACRO m(x) AS x",
		"CREATE VIEW raw.v AS SELECT 1",
		"ALTER TABLE raw.people ADD COLUMN c INTEGER",
		"TRUNCATE raw.people",
		"UPDATE raw.people SET id = 0",
		"DELETE FROM raw.people",
		"MERGE INTO raw.people USING (SELECT 1 AS id) s ON s.id = people.id WHEN MATCHED THEN DELETE",
		"VACUUM",
		"ANALYZE",
		"PREPARE p AS SELECT 1",
		"EXECUTE p",
	}
	for _, env := range []string{"dev", "prod"} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			c := f.connect(t, env, mode)
			for _, sql := range attacks {
				name := fmt.Sprintf("%s %v: %s", env, mode, sql)
				err := execIn(c, mode, sql)
				var pe *pgconn.PgError
				require.True(t, errors.As(err, &pe), "%s: %v", name, err)
				require.Equal(t, "42501", pe.Code, "%s: %s", name, pe.Message)
				require.NotContains(t, pe.Message, "root:", name)
				var n int64
				require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n), "the session survives %s", name)
				require.Equal(t, map[string]int64{"dev": 3, "prod": 2}[env], n, name)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was written")
}

// TestSecondStatementsAreRefused: a SELECT followed by a statement that writes or reaches files, in one simple
// Query message or one extended-protocol Parse, never runs the second one; in the extended protocol, as in
// PostgreSQL, several statements are one error (42601). A "--" comment ends at a carriage return too, as
// DuckDB's lexer has it: the statement after "-- ...\r;" is a statement, not part of the comment; and
// DATE'...\' is a plain string ending at the backslash's quote, not an escape string (E'...').
func TestSecondStatementsAreRefused(t *testing.T) {
	f := start(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	for _, second := range []string{
		"COPY (SELECT 1) TO '" + out + "'",
		"CREATE TEMP TABLE x AS SELECT 1 AS a",
		"EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
		"INSTALL httpfs",
		"CREATE OR REPLACE VIEW raw.people AS SELECT 999 AS id",
	} {
		for _, sql := range []string{"SELECT 1; " + second, "SELECT 1 -- a comment DuckDB ends at CR\r; " + second,
			"SELECT DATE'2020-01-01\\'; " + second + "; --'"} { // a typed literal is no E'' string
			secondStatement(t, f, sql)
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was written")
}

// secondStatement checks that sql (a SELECT, then a refused statement) is refused in both protocols.
func secondStatement(t *testing.T, f *fixture, sql string) {
	t.Helper()
	simpleConn := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	_, err := simple(t, simpleConn, sql)
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%q: %v", sql, err)
	require.Equal(t, "42501", pe.Code, "%q: %s", sql, pe.Message)

	ext := f.connect(t, "dev", pgx.QueryExecModeExec)
	err = execIn(ext, pgx.QueryExecModeExec, sql)
	require.True(t, errors.As(err, &pe), "%q: %v", sql, err)
	require.Equal(t, "42601", pe.Code, "%q: %s", sql, pe.Message)
	for _, c := range []*pgx.Conn{simpleConn, ext} {
		require.Equal(t, []string{"1", "2", "3"}, texts(t, c, "SELECT CAST(id AS VARCHAR) FROM raw.people ORDER BY id"), sql)
	}
}

// execIn runs sql once: as a simple Query, or (any other mode) as one Parse/Bind/Execute without parameters;
// pgx's Exec would use the simple protocol for a statement without arguments.
func execIn(c *pgx.Conn, mode pgx.QueryExecMode, sql string) error {
	if mode == pgx.QueryExecModeSimpleProtocol {
		_, err := c.PgConn().Exec(context.Background(), sql).ReadAll()
		return err
	}
	return c.PgConn().ExecParams(context.Background(), sql, nil, nil, nil, nil).Read().Err
}

// TestStartupCannotEscape: the startup packet is no way around the checks: DuckDB settings in its options are
// FATAL 42501, and a hostile user name or application_name reaches the catalog only as a quoted value.
func TestStartupCannotEscape(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for _, opt := range []string{"-c enable_external_access=true", "-c temp_directory=/tmp", "-c allowed_directories=/"} {
		cfg, err := pgx.ParseConfig(f.url("dev"))
		require.NoError(t, err)
		cfg.RuntimeParams["options"] = opt
		_, err = pgx.ConnectConfig(ctx, cfg)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", opt, err)
		require.Equal(t, "42501", pe.Code, opt)
		require.Equal(t, "FATAL", pe.Severity, opt)
	}
	evil := `x'); DROP TABLE pg_class; --"\`
	cfg, err := pgx.ParseConfig(f.url("dev"))
	require.NoError(t, err)
	cfg.User = evil
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	c, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(ctx) })
	_, err = c.Exec(ctx, `SET application_name = 'a''); DROP TABLE pg_class; --\'`)
	require.NoError(t, err)
	require.Equal(t, []string{evil}, texts(t, c, "SELECT current_user"))
	require.Equal(t, []string{`a'); DROP TABLE pg_class; --\`}, texts(t, c, "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'application_name'"))
	require.NotEmpty(t, texts(t, c, "SELECT relname FROM pg_catalog.pg_class"))
}
