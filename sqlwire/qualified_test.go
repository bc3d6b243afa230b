//go:build duckdb_arrow

package sqlwire_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
)

// TestDatabaseQualifiedNames: as in PostgreSQL, a table may be named database.zone.name when the database is
// the one connected to (dev), quoted or not, with spaces around the dots, and a column database.zone.name.col,
// through the simple and extended protocols, DECLARE and COPY, reads and writes alike; another environment's
// name is a cross-database reference (0A000) that writes nothing. Literals and struct field access are left
// as they are.
func TestDatabaseQualifiedNames(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		c := f.connect(t, "dev", mode)
		for _, sql := range []string{
			"SELECT count(*) FROM dev.raw.people",
			`SELECT count(*) FROM "dev"."raw"."people"`,
			"SELECT count(*) FROM dev . raw . people",
			"SELECT count(dev.raw.people.id) FROM dev.raw.people",
			"SELECT count(*) FROM DEV.raw.people p JOIN raw.people q USING (id)",
		} {
			var n int64
			require.NoError(t, c.QueryRow(ctx, sql).Scan(&n), "%v: %s", mode, sql)
			require.Equal(t, int64(3), n, "%v: %s", mode, sql)
		}
		var n int64
		require.NoError(t, c.QueryRow(ctx, `SELECT count(*) FROM "dev".information_schema.tables WHERE table_schema = 'raw' AND table_name = 'people'`).Scan(&n))
		require.Equal(t, int64(1), n, "%v: the emulated catalog, database-qualified as DataGrip writes it", mode)
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM dev.pg_catalog.pg_class WHERE relname = 'people'").Scan(&n))
		require.Equal(t, int64(1), n, "%v: pg_class, database-qualified", mode)
		var name string
		require.NoError(t, c.QueryRow(ctx, "SELECT name FROM dev.raw.people WHERE id = $1", 2).Scan(&name))
		require.Equal(t, "Zoë ✓ 2", name)
		var s string
		require.NoError(t, c.QueryRow(ctx, "SELECT 'dev.raw.people' || ' prod.raw.people' FROM raw.people LIMIT 1").Scan(&s))
		require.Equal(t, "dev.raw.people prod.raw.people", s, "a literal is left as it is")
		var v int64
		require.NoError(t, c.QueryRow(ctx, "SELECT t.dev.raw FROM (SELECT {'raw': 5} AS dev) t").Scan(&v))
		require.Equal(t, int64(5), v, "a struct field access t.dev.raw is not a table name")

		for _, sql := range []string{"SELECT count(*) FROM prod.raw.people", `SELECT * FROM "prod".raw.people`,
			"SELECT prod.raw.people.id FROM raw.people"} {
			err := c.QueryRow(ctx, sql).Scan(&v)
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe), "%v: %s: %v", mode, sql, err)
			require.Equal(t, "0A000", pe.Code, "%v: %s: %s", mode, sql, pe.Message)
			require.Contains(t, pe.Message, "cross-database references are not implemented: prod.raw.people")
			require.Contains(t, pe.Message, "connect to database prod")
		}
	}

	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	exec := func(sql string) string {
		t.Helper()
		res, err := simple(t, c, sql)
		require.NoError(t, err, sql)
		return res[len(res)-1].CommandTag.String()
	}
	snapshots := func(env, name string) int {
		tv, err := f.svc.Describe(ctx, env, lake.Ident{Zone: "clean", Name: name})
		if err != nil {
			return 0
		}
		return len(tv.Snapshots)
	}
	require.Equal(t, "SELECT 2", exec("CREATE TABLE dev.clean.x AS SELECT id, name FROM dev.raw.people WHERE id <= 2"))
	require.Equal(t, "INSERT 0 1", exec(`INSERT INTO "dev"."clean"."x" SELECT id, name FROM dev.raw.people WHERE id = 3`))
	ext := f.connect(t, "dev", pgx.QueryExecModeExec)
	tag, err := ext.Exec(ctx, "INSERT INTO dev . clean . x (id, name) VALUES ($1, $2)", int64(4), "param")
	require.NoError(t, err)
	require.Equal(t, "INSERT 0 1", tag.String())
	require.Equal(t, 3, snapshots("dev", "x"))

	// DECLARE and COPY (query) TO STDOUT read dev.zone.name too.
	res, err := simple(t, c, "BEGIN; DECLARE cu CURSOR FOR SELECT id FROM dev.clean.x ORDER BY id; FETCH ALL FROM cu; COMMIT")
	require.NoError(t, err)
	require.Len(t, res[2].Rows, 4)
	var buf bytes.Buffer
	_, err = c.PgConn().CopyTo(ctx, &buf, "COPY (SELECT id FROM dev.clean.x ORDER BY id) TO STDOUT")
	require.NoError(t, err)
	require.Equal(t, "1\n2\n3\n4\n", buf.String())

	for _, sql := range []string{
		"CREATE TABLE prod.clean.x AS SELECT 1 AS id",
		"INSERT INTO prod.clean.x SELECT id, name FROM raw.people",
		"INSERT INTO clean.x SELECT id, name FROM prod.raw.people",
		"DROP TABLE prod.raw.people",
	} {
		_, err := simple(t, c, sql)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
		require.Equal(t, "0A000", pe.Code, "%s: %s", sql, pe.Message)
		require.Contains(t, pe.Message, "cross-database references are not implemented: prod.")
	}
	require.Equal(t, 3, snapshots("dev", "x"), "nothing written in dev")
	require.Equal(t, 0, snapshots("prod", "x"), "nothing written in prod")
	tv, err := f.svc.Describe(ctx, "prod", lake.Ident{Zone: "raw", Name: "people"})
	require.NoError(t, err, "prod's table is still there")
	require.NotEmpty(t, tv.Snapshots)

	require.Equal(t, "DROP TABLE", exec("DROP TABLE dev.clean.x"))
	require.Equal(t, 0, snapshots("dev", "x"), "dropped")
}
