//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPoolReusesPreparedStatements(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 5)
	stats := func() Stats { return e.Stats() }

	// The same parameterless SELECT again: its prepared statement runs again.
	for range 3 {
		require.Equal(t, [][]string{{"5"}}, queryWith(t, e, "SELECT count(*) FROM raw.a", reuse, a))
	}
	require.Equal(t, Stats{Prepared: 1, Reused: 2}, stats())

	// PREPARE + EXECUTE with other literals: the PREPARE already in effect is not run again.
	const prep = "PREPARE strata_stmt AS SELECT id FROM raw.a WHERE id = $1;\nEXECUTE strata_stmt(%s)"
	for _, id := range []string{"1", "4", "2"} {
		require.Equal(t, [][]string{{id}}, queryWith(t, e, fmt.Sprintf(prep, id), reuse, a))
	}
	require.Equal(t, Stats{Prepared: 1 + 2 + 1 + 1, Reused: 2 + 2}, stats())

	// Another body under the same name replaces it, and the first body is prepared again after it.
	const times10 = "PREPARE strata_stmt AS SELECT id * 10 FROM raw.a WHERE id = $1;\nEXECUTE strata_stmt(%s)"
	require.Equal(t, [][]string{{"30"}}, queryWith(t, e, fmt.Sprintf(times10, "3"), reuse, a))
	require.Equal(t, [][]string{{"40"}}, queryWith(t, e, fmt.Sprintf(times10, "4"), reuse, a))
	require.Equal(t, [][]string{{"3"}}, queryWith(t, e, fmt.Sprintf(prep, "3"), reuse, a))
	require.Equal(t, Stats{Prepared: 5 + 2 + 1 + 2, Reused: 4 + 1}, stats())

	// Semicolons inside literals and comments do not split statements.
	const tricky = "PREPARE s2 AS SELECT ';' || id /* ; */ FROM raw.a WHERE id = $1 -- ;\n;EXECUTE s2(%s)"
	require.Equal(t, [][]string{{";2"}}, queryWith(t, e, fmt.Sprintf(tricky, "2"), reuse, a))
	require.Equal(t, [][]string{{";3"}}, queryWith(t, e, fmt.Sprintf(tricky, "3"), reuse, a))
	require.Equal(t, int64(5+1), stats().Reused)

	// Without Reuse nothing is kept or counted.
	before := stats()
	require.Equal(t, [][]string{{"5"}}, queryWith(t, e, "SELECT count(*) FROM raw.a", QueryOptions{}, a))
	require.Equal(t, before, stats())
}

func TestPoolKeepsABoundedNumberOfStatements(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 50)
	for round := range 2 {
		for i := range maxKeptStatements + 4 {
			got := queryWith(t, e, fmt.Sprintf("SELECT count(*) FROM raw.a WHERE id < %d", i), reuse, a)
			require.Equal(t, [][]string{{fmt.Sprint(i)}}, got, "round %d", round)
		}
	}
	require.Equal(t, Stats{Prepared: maxKeptStatements + 4 + 4, Reused: maxKeptStatements}, e.Stats())
	require.Equal(t, 1, e.Pooled())
}

func TestFirstStatement(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ sql, stmt, rest string }{
		{"SELECT 1; SELECT 2", "SELECT 1", " SELECT 2"},
		{"SELECT ';' ; x", "SELECT ';'", " x"},
		{"SELECT E'\\';' ; x", "SELECT E'\\';'", " x"},
		{"SELECT $$;$$; x", "SELECT $$;$$", " x"},
		{"SELECT 1 -- ;\n; x", "SELECT 1 -- ;", " x"},
		{"SELECT /* ; */ 1; x", "SELECT /* ; */ 1", " x"},
		{`SELECT ";"; x`, `SELECT ";"`, " x"},
		{"SELECT 1", "SELECT 1", ""},
	} {
		stmt, rest, _ := firstStatement(c.sql)
		require.Equal(t, c.stmt, stmt, c.sql)
		require.Equal(t, c.rest, rest, c.sql)
	}
	name, ok := prepareName("prepare Strata_Stmt AS SELECT 1")
	require.True(t, ok)
	require.Equal(t, "strata_stmt", name)
	_, ok = prepareName("EXECUTE s(1)")
	require.False(t, ok)
}

// ParamTypes (a driver's Parse/Describe) prepares in a pooled database and leaves it for the query that follows.
func TestParamTypesLeavesAPooledDatabase(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 5)
	types, err := e.ParamTypes(context.Background(), "SELECT id FROM raw.a WHERE id = $1", []Table{a})
	require.NoError(t, err)
	require.Equal(t, []string{"BIGINT"}, types)
	require.Equal(t, 1, e.Pooled())
	db := queryWith(t, e, whichDB, reuse, a)
	require.Equal(t, 1, e.Pooled())
	types, err = e.ParamTypes(context.Background(), "SELECT id FROM raw.a WHERE id = $1", []Table{a})
	require.NoError(t, err)
	require.Equal(t, []string{"BIGINT"}, types)
	require.Equal(t, db, queryWith(t, e, whichDB, reuse, a), "the same database served both")

	// A failed one is not pooled.
	_, err = e.ParamTypes(context.Background(), "SELECT nope FROM raw.a WHERE id = $1", []Table{a})
	require.ErrorIs(t, err, ErrInvalid)
	require.Equal(t, 0, e.Pooled())
}
