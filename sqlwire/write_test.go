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

// TestDevWritesThroughEnvs: in dev, CREATE TABLE AS, INSERT (SELECT and VALUES, with and without a column
// list) and DROP TABLE each commit one snapshot through envs, audited with the session user, visible to
// the next query; prod refuses them with 25006 and other writes stay 42501.
func TestDevWritesThroughEnvs(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	exec := func(sql string) string {
		t.Helper()
		res, err := simple(t, c, sql)
		require.NoError(t, err, sql)
		return res[len(res)-1].CommandTag.String()
	}
	snapshots := func() int {
		tv, err := f.svc.Describe(ctx, "dev", lake.Ident{Zone: "clean", Name: "scores"})
		require.NoError(t, err)
		return len(tv.Snapshots)
	}

	require.Equal(t, "SELECT 2", exec("CREATE TABLE clean.scores AS SELECT id, name, score FROM raw.people WHERE id <= 2"))
	require.Equal(t, 1, snapshots())
	require.Equal(t, "INSERT 0 1", exec("INSERT INTO clean.scores SELECT id, name, score FROM raw.people WHERE id = 3"))
	require.Equal(t, "INSERT 0 2", exec("INSERT INTO clean.scores VALUES (10, 'ünï', 10.25), (11, NULL, NULL)"))
	require.Equal(t, "INSERT 0 1", exec("INSERT INTO Clean.Scores (score, id) VALUES (12.5, 12)"))
	require.Equal(t, 4, snapshots(), "one snapshot per statement")
	ext := f.connect(t, "dev", pgx.QueryExecModeExec)
	tag, err := ext.Exec(ctx, "INSERT INTO clean.scores (id, name) VALUES ($1, $2)", int64(13), "param")
	require.NoError(t, err)
	require.Equal(t, "INSERT 0 1", tag.String(), "extended protocol with parameters")
	_, err = simple(t, c, "DELETE FROM clean.scores WHERE id = 13") // refused: stays
	require.Error(t, err)

	rows, err := c.Query(ctx, "SELECT id, name, score FROM clean.scores ORDER BY id")
	require.NoError(t, err)
	type row struct {
		ID    int64
		Name  *string
		Score *float64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	require.NoError(t, err)
	ids := []int64{}
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	require.Equal(t, []int64{1, 2, 3, 10, 11, 12, 13}, ids, "visible to the next query")
	require.Equal(t, "ünï", *got[3].Name)
	require.Nil(t, got[4].Name)
	require.Nil(t, got[5].Name, "a column left out of the list is NULL")
	require.Equal(t, 12.5, *got[5].Score)

	log, err := f.svc.AuditLog(ctx, "dev", 20)
	require.NoError(t, err)
	writes := 0
	for _, e := range log {
		if e.Target == "clean.scores" {
			require.Equal(t, "tester", e.Actor, "the session user is the actor")
			writes++
		}
	}
	require.Equal(t, 5, writes)

	for sql, state := range map[string]string{
		"CREATE TABLE clean.scores AS SELECT 1 AS id":                "42P07",
		"INSERT INTO clean.nope VALUES (1)":                          "42P01",
		"INSERT INTO clean.scores (nope) VALUES (1)":                 "42703",
		"INSERT INTO clean.scores VALUES ('not a number', 'x', 1.0)": "22P02",
		"INSERT INTO clean.scores DEFAULT VALUES":                    "0A000",
		"DROP TABLE clean.nope":                                      "42P01",
		"CREATE TABLE \"Bad Zone\".t AS SELECT 1":                    "42601",
		"UPDATE clean.scores SET score = 0":                          "42501",
	} {
		_, err := simple(t, c, sql)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
		require.Equal(t, state, pe.Code, "%s: %s", sql, pe.Message)
	}
	require.Equal(t, 5, snapshots(), "failed writes commit nothing")
	require.Equal(t, "CREATE TABLE AS", exec("CREATE TABLE IF NOT EXISTS clean.scores AS SELECT 1 AS id"))
	require.Equal(t, "SELECT 1", exec("CREATE OR REPLACE TABLE clean.scores AS SELECT 7::BIGINT AS id, 'x' AS name, 1.0::DOUBLE AS score"))
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM clean.scores").Scan(&n))
	require.Equal(t, int64(1), n)

	require.Equal(t, "DROP TABLE", exec("DROP TABLE clean.scores"))
	_, err = simple(t, c, "SELECT * FROM clean.scores")
	require.Error(t, err, "dropped")
	require.Equal(t, "DROP TABLE", exec("DROP TABLE IF EXISTS clean.scores"))

	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	for _, sql := range []string{"CREATE TABLE clean.x AS SELECT 1 AS a", "INSERT INTO raw.people VALUES (5, 'x', 1)", "DROP TABLE raw.people"} {
		_, err := simple(t, prod, sql)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
		require.Equal(t, "25006", pe.Code, sql)
		require.Contains(t, pe.Message, "release")
	}
	require.NoError(t, prod.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
	require.Equal(t, int64(2), n, "prod unchanged")
}
