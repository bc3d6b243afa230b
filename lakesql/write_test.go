//go:build duckdb_arrow

package lakesql_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lakesql"
	"github.com/strata-data/strata/meta"
)

// writer returns a Writer of env over a fresh lake, its queries run by a real engine.
func writer(t *testing.T, env string) *lakesql.Writer {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	return &lakesql.Writer{Envs: svc, Env: env, Actor: "ann", Source: "test",
		Query: func(ctx context.Context, sql string) (*engine.Result, error) {
			tables, err := svc.BindSQL(ctx, env, sql)
			if err != nil {
				return nil, err
			}
			return eng.Query(ctx, sql, tables)
		}}
}

func run(t *testing.T, w *lakesql.Writer, sql string) (*lakesql.Result, error) {
	t.Helper()
	st := lakesql.ParseWrite(sql)
	require.NotNil(t, st, sql)
	return w.Run(context.Background(), st)
}

// TestWriterResults: each write says what it did — created, appended, replaced, dropped, or nothing for IF
// [NOT] EXISTS — with its rows and snapshot, and the snapshot carries the writer's actor and source.
func TestWriterResults(t *testing.T) {
	t.Parallel()
	w := writer(t, "dev")
	res, err := run(t, w, "CREATE TABLE clean.t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, s)")
	require.NoError(t, err)
	require.True(t, res.Changed && res.Created && !res.Replaced)
	require.Equal(t, int64(2), res.Rows)
	require.NotZero(t, res.SnapshotID)
	tv, err := w.Envs.Describe(context.Background(), "dev", lake.Ident{Zone: "clean", Name: "t"})
	require.NoError(t, err)
	require.Equal(t, res.SnapshotID, tv.Snapshots[len(tv.Snapshots)-1].ID)
	require.Equal(t, "ann", tv.Snapshots[len(tv.Snapshots)-1].Summary[envs.PropActor])
	require.Equal(t, "test", tv.Snapshots[len(tv.Snapshots)-1].Summary[envs.PropSource])

	res, err = run(t, w, "INSERT INTO clean.t (s) VALUES ('c')")
	require.NoError(t, err)
	require.Equal(t, lakesql.Result{Statement: lakesql.Insert, Env: "dev", Table: "clean.t", Changed: true, Rows: 1,
		SnapshotID: res.SnapshotID, AuditID: res.AuditID}, *res)

	res, err = run(t, w, "CREATE OR REPLACE TABLE clean.t AS SELECT 9 AS id, 'z' AS s")
	require.NoError(t, err)
	require.True(t, res.Changed && res.Replaced && !res.Created)

	res, err = run(t, w, "CREATE TABLE IF NOT EXISTS clean.t AS SELECT 1 AS id")
	require.NoError(t, err)
	require.Equal(t, lakesql.Result{Statement: lakesql.Create, Env: "dev", Table: "clean.t"}, *res)

	res, err = run(t, w, "DROP TABLE clean.t")
	require.NoError(t, err)
	require.Equal(t, lakesql.Result{Statement: lakesql.Drop, Env: "dev", Table: "clean.t", Changed: true}, *res)
	res, err = run(t, w, "DROP TABLE IF EXISTS clean.t")
	require.NoError(t, err)
	require.False(t, res.Changed)
}

// TestWriterRefuses: each refused write is an *Error naming its rule, of the rule's kind, and writes nothing;
// prod refuses every write; MayWrite and CheckQuery are the caller's own checks.
func TestWriterRefuses(t *testing.T) {
	t.Parallel()
	w := writer(t, "dev")
	_, err := run(t, w, "CREATE TABLE raw.t AS SELECT 1::BIGINT AS id")
	require.NoError(t, err)
	for _, tc := range []struct {
		sql  string
		rule lakesql.Rule
		kind errs.Kind
	}{
		{`CREATE TABLE "Bad".t AS SELECT 1`, lakesql.RuleBadName, errs.Invalid},
		{"CREATE TABLE raw.t AS SELECT 1", lakesql.RuleExists, errs.Exists},
		{"CREATE TABLE raw.u AS SELECT 1 WITH NO DATA", lakesql.RuleUnsupported, errs.Unsupported},
		{"INSERT INTO raw.nope VALUES (1)", lakesql.RuleNoTable, errs.NotFound},
		{"DROP TABLE raw.nope", lakesql.RuleNoTable, errs.NotFound},
		{"INSERT INTO raw.t (x) VALUES (1)", lakesql.RuleNoColumn, errs.Invalid},
		{"INSERT INTO raw.t (id, id) VALUES (1, 2)", lakesql.RuleDuplicateColumn, errs.Invalid},
		{"INSERT INTO raw.t DEFAULT VALUES", lakesql.RuleUnsupported, errs.Unsupported},
		{"INSERT INTO raw.t VALUES (1, 2)", lakesql.RuleColumnCount, errs.Invalid},
		{"INSERT INTO raw.t SELECT 1, 'x' FROM range(3)", lakesql.RuleColumnCount, errs.Invalid},
		{"INSERT INTO raw.t (id) SELECT 1, 2", lakesql.RuleColumnCount, errs.Invalid},
		{"CREATE TABLE raw.u AS SELECT 1; SELECT 2", lakesql.RuleOneRead, errs.Forbidden},
		// database.zone.name of another environment: a cross-database reference; of no environment: a bad name
		{"INSERT INTO prod . raw.t (id) VALUES (1)", lakesql.RuleUnsupported, errs.Unsupported},
		{`CREATE TABLE "prod".raw.u AS SELECT 1`, lakesql.RuleUnsupported, errs.Unsupported},
		{"DROP TABLE IF EXISTS prod.raw.t", lakesql.RuleUnsupported, errs.Unsupported},
		{"INSERT INTO nope.raw.t SELECT 1", lakesql.RuleBadName, errs.Invalid},
		{`CREATE TABLE "Dev".raw.u AS SELECT 1`, lakesql.RuleBadName, errs.Invalid},
	} {
		_, err := run(t, w, tc.sql)
		var le *lakesql.Error
		require.True(t, errors.As(err, &le), "%s: %v", tc.sql, err)
		require.Equal(t, tc.rule, le.Rule, tc.sql)
		require.Equal(t, tc.kind, errs.KindOf(err), tc.sql)
		if tc.rule == lakesql.RuleBadName && strings.Contains(tc.sql, "raw.t") {
			require.ErrorContains(t, err, "lake tables are named zone.name", tc.sql)
			require.ErrorContains(t, err, "write raw.t", tc.sql)
		}
		if strings.Contains(tc.sql, "prod") {
			require.ErrorContains(t, err, "cross-database references are not implemented: prod.raw.", tc.sql)
			require.ErrorContains(t, err, "connect to database prod", tc.sql)
		}
	}
	_, err = run(t, w, "INSERT INTO raw.t SELECT 1 UNION ALL SELECT 1, 2")
	var le *lakesql.Error
	require.False(t, errors.As(err, &le), "the source's own set operation keeps DuckDB's message: %v", err)
	require.ErrorContains(t, err, "same number of result columns")
	tv, err := w.Envs.Describe(context.Background(), "dev", lake.Ident{Zone: "raw", Name: "t"})
	require.NoError(t, err)
	require.Len(t, tv.Snapshots, 1, "nothing written")

	prod := writer(t, "prod")
	for _, sql := range []string{"CREATE TABLE raw.t AS SELECT 1", "INSERT INTO raw.t VALUES (1)", "DROP TABLE raw.t"} {
		_, err := run(t, prod, sql)
		require.ErrorIs(t, err, lakesql.ErrReadOnlyEnv, sql)
		require.ErrorContains(t, err, "strata release publish", sql)
	}
	require.ErrorIs(t, prod.Check(context.Background()), lakesql.ErrReadOnlyEnv)

	denied := errors.New("denied")
	w.MayWrite = func() error { return denied }
	_, err = run(t, w, "DROP TABLE raw.t")
	require.ErrorIs(t, err, denied)
	w.MayWrite = nil
	w.CheckQuery = func(sql string) error { return errs.E(errs.Forbidden, "no: %s", sql) }
	_, err = run(t, w, "INSERT INTO raw.t SELECT 5")
	require.ErrorContains(t, err, "no: SELECT 5")
	_, err = run(t, w, "DROP TABLE raw.t")
	require.NoError(t, err, "a drop has no query to check")
}

// TestWriterDatabaseQualified: the environment written may qualify the table, as PostgreSQL accepts the current
// database's name: dev.raw.u writes dev's raw.u.
func TestWriterDatabaseQualified(t *testing.T) {
	t.Parallel()
	w := writer(t, "dev")
	res, err := run(t, w, `CREATE TABLE "dev".raw.u AS SELECT 1::BIGINT AS id`)
	require.NoError(t, err)
	require.True(t, res.Created)
	require.Equal(t, "raw.u", res.Table)
	res, err = run(t, w, "INSERT INTO dev . raw.u SELECT 2")
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Rows)
	tv, err := w.Envs.Describe(context.Background(), "dev", lake.Ident{Zone: "raw", Name: "u"})
	require.NoError(t, err)
	require.Len(t, tv.Snapshots, 2)
	res, err = run(t, w, "DROP TABLE IF EXISTS DEV.raw.u")
	require.NoError(t, err)
	require.True(t, res.Changed)
	_, err = w.Envs.Describe(context.Background(), "dev", lake.Ident{Zone: "raw", Name: "u"})
	require.Equal(t, errs.NotFound, errs.KindOf(err), "%v", err)
}
