//go:build duckdb_arrow

package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRekeySetupUpdatesAPooledDatabaseInPlace: a pooled database of one key becomes the next key's database
// after its rows are updated, without building the next key's script; a database that is running a query
// is not taken, so that query sees the old rows to its end.
func TestRekeySetupUpdatesAPooledDatabaseInPlace(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	built := 0
	script := "CREATE MACRO answer() AS 42; CREATE TABLE facts (n INTEGER); INSERT INTO facts VALUES "
	v1 := countingSetup("v1", script+"(1), (2);", &built)
	v2 := countingSetup("v2", script+"(1), (3);", &built)
	first := inSetup(t, e, v1, whichDB)
	require.Equal(t, 1, built)

	moved, err := e.RekeySetup(ctx, v1, v2, nil, "DELETE FROM facts WHERE n = 2; INSERT INTO facts VALUES (3);")
	require.NoError(t, err)
	require.True(t, moved)
	require.False(t, e.SetupPooled(v1, nil), "the database left the old key")
	require.True(t, e.SetupPooled(v2, nil))
	require.Equal(t, first, inSetup(t, e, v2, whichDB), "the same database")
	require.Equal(t, [][]string{{"42", "1"}, {"42", "3"}}, inSetup(t, e, v2, "SELECT answer(), n FROM facts ORDER BY n"))
	require.Equal(t, 1, built, "v2's script never ran")

	// Nothing idle under the old key: nothing moves, and the next query builds as usual.
	moved, err = e.RekeySetup(ctx, v1, v2, nil, "SELECT 1")
	require.NoError(t, err)
	require.False(t, moved)

	// A database running a query is not idle: its query reads the old rows to the end.
	res, err := e.QueryInSetup(ctx, v2, "SELECT n FROM facts ORDER BY n", nil)
	require.NoError(t, err)
	v3 := countingSetup("v3", script+"(1);", &built)
	moved, err = e.RekeySetup(ctx, v2, v3, nil, "DELETE FROM facts WHERE n = 3;")
	require.NoError(t, err)
	require.False(t, moved)
	require.Equal(t, [][]string{{"1"}, {"3"}}, drain(t, res))
	require.NoError(t, res.Close())
	require.True(t, e.SetupPooled(v2, nil))
}

// TestRekeySetupFailureRetiresTheDatabase: an update that fails half-way is rolled back with its database,
// which is never pooled again under either key; the next query builds the new key's script.
func TestRekeySetupFailureRetiresTheDatabase(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	built := 0
	v1 := countingSetup("v1", "CREATE TABLE facts (n INTEGER PRIMARY KEY); INSERT INTO facts VALUES (1);", &built)
	v2 := countingSetup("v2", "CREATE TABLE facts (n INTEGER PRIMARY KEY); INSERT INTO facts VALUES (2);", &built)
	require.Equal(t, [][]string{{"1"}}, inSetup(t, e, v1, "SELECT n FROM facts"))
	moved, err := e.RekeySetup(ctx, v1, v2, nil, "INSERT INTO facts VALUES (2); INSERT INTO facts VALUES (2);")
	require.Error(t, err)
	require.False(t, moved)
	require.Equal(t, 0, e.Pooled())
	require.Equal(t, [][]string{{"2"}}, inSetup(t, e, v2, "SELECT n FROM facts"))
	require.Equal(t, 2, built)

	_, err = e.RekeySetup(ctx, v2, v2, nil, "SELECT 1")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = e.RekeySetup(ctx, v2, Setup{Key: "v3", Base: &Base{Name: "other"}}, nil, "SELECT 1")
	require.ErrorIs(t, err, ErrInvalid)

	// Without a pool nothing is ever rekeyed.
	off := newEngine(t, Options{Pool: -1})
	moved, err = off.RekeySetup(ctx, v1, v2, nil, "SELECT 1")
	require.NoError(t, err)
	require.False(t, moved)
}
