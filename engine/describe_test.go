//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDescribeGivesWhatQueryReturns: Describe's schema and hints are exactly those of the Result the same SQL
// returns (plain, JSON, UUID, TIME WITH TIME ZONE, lists, decimals, a PREPARE/EXECUTE with typed literals), and
// it does not run the statement: one that fails only when it runs is described.
func TestDescribeGivesWhatQueryReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 5)
	for _, sql := range []string{
		"SELECT * FROM raw.a",
		"SELECT id, id::DECIMAL(12,2) AS d, 'x' || id AS s, [id] AS l, {'k': id} AS st FROM raw.a",
		"SELECT uuid() AS u, '{}'::JSON AS j, ['{}'::JSON] AS jl, TIMETZ '01:02:03+04' AS tz, [TIMETZ '01:02:03+04'] AS tzl",
		"PREPARE strata_stmt AS SELECT id, $1 || 'x' AS s, $2 * 2 AS n FROM raw.a WHERE id = $3;\n" +
			"EXECUTE strata_stmt(CAST('a' AS VARCHAR), CAST('1.5' AS DECIMAL(38,10)), CAST('1' AS BIGINT))",
	} {
		d, err := e.Describe(ctx, sql, []Table{a})
		require.NoError(t, err, sql)
		res, err := e.QueryWith(ctx, sql, []Table{a}, reuse)
		require.NoError(t, err, sql)
		require.Equal(t, schemaString(res.Schema()), schemaString(d.Schema), sql)
		require.Equal(t, res.ColumnHints(), d.Hints, sql)
		drain(t, res)
		require.NoError(t, res.Close())
	}

	failing := "SELECT id, error('ran: ' || id) AS e FROM raw.a"
	d, err := e.Describe(ctx, failing, []Table{a})
	require.NoError(t, err, "described without running")
	require.Equal(t, []string{"id", "e"}, []string{d.Schema.Field(0).Name, d.Schema.Field(1).Name})
	_, err = e.QueryWith(ctx, failing, []Table{a}, reuse)
	require.ErrorContains(t, err, "ran: ")

	_, err = e.Describe(ctx, "SELECT nope FROM raw.a", []Table{a})
	require.ErrorIs(t, err, ErrInvalid)
}

// TestDescribeLeavesAPooledDatabase: Describe runs in the pooled database of its tables and puts it back, so
// the query that follows (a driver's Execute after its Describe) finds it, and the described SELECT stays
// prepared there for the same text.
func TestDescribeLeavesAPooledDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 5)
	const sql = "SELECT count(*) FROM raw.a"
	_, err := e.Describe(ctx, sql, []Table{a})
	require.NoError(t, err)
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, Stats{Prepared: 1}, e.Stats())
	require.Equal(t, [][]string{{"5"}}, queryWith(t, e, sql, reuse, a))
	require.Equal(t, Stats{Prepared: 1, Reused: 1}, e.Stats(), "the described statement ran without being prepared again")
	require.Equal(t, 1, e.Pooled())

	db := queryWith(t, e, whichDB, reuse, a)
	_, err = e.Describe(ctx, fmt.Sprintf("%s WHERE id > %d", sql, 2), []Table{a})
	require.NoError(t, err)
	require.Equal(t, db, queryWith(t, e, whichDB, reuse, a), "the same database served both")
}
