//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/scratch"
)

// TestCloseForExitRemovesScratch: CloseForExit leaves the databases open but removes every temporary directory
// the engine made — a spare's, a finished query's (closing in the background) and that of a result still
// open with spilled sort runs on disk — and refuses new work; Close afterwards still frees the databases.
func TestCloseForExitRemovesScratch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tmp := t.TempDir()
	e, err := New(Options{TempDir: tmp, MemoryLimit: "64MB", Threads: 1})
	require.NoError(t, err)
	spill := "SELECT i, repeat('x', 100) || i AS s FROM range(3000000) t(i) ORDER BY s DESC"
	require.Equal(t, [][]string{{"3000000"}}, query(t, e, "SELECT count(*) FROM ("+spill+")"))
	open, err := e.Query(ctx, spill, nil)
	require.NoError(t, err)
	require.True(t, open.Next())
	dirs, err := filepath.Glob(filepath.Join(tmp, scratch.Folder, "*", "q-*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs, "the open result's and the spare's temporary directories")
	spilled := 0
	for _, d := range dirs {
		files, err := os.ReadDir(d)
		require.NoError(t, err)
		spilled += len(files)
	}
	require.Positive(t, spilled, "the open result's sort spilled to its temporary directory")

	require.NoError(t, e.CloseForExit())
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "no scratch is left for the next process to sweep")
	_, err = e.Query(ctx, "SELECT 1", nil)
	require.True(t, errors.Is(err, ErrClosed), "%v", err)

	require.NoError(t, open.Close())
	require.NoError(t, e.Close(), "Close after CloseForExit frees the databases (a process that goes on)")
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestCloseForExitWhileASpilledDatabaseCloses: right after a result that spilled is closed, its database is
// still closing in the background when CloseForExit removes the spill files its destructor is about to delete
// (the log shows how many were left each time): the process must not abort (DuckDB's destructor tolerates the
// files being gone) and nothing may be left. Repeated, since it is a race.
func TestCloseForExitWhileASpilledDatabaseCloses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for range 5 {
		tmp := t.TempDir()
		e, err := New(Options{TempDir: tmp, MemoryLimit: "64MB", Threads: 1, Spares: -1})
		require.NoError(t, err)
		res, err := e.Query(ctx, "SELECT i, repeat('x', 100) || i AS s FROM range(3000000) t(i) ORDER BY s DESC", nil)
		require.NoError(t, err)
		require.True(t, res.Next())
		require.NoError(t, res.Close()) // the database closes in the background, deleting its spill files
		files, _ := filepath.Glob(filepath.Join(tmp, scratch.Folder, "*", "q-*", "*"))
		t.Logf("spill files left when CloseForExit starts: %d", len(files))
		require.NoError(t, e.CloseForExit())
		entries, err := os.ReadDir(tmp)
		require.NoError(t, err)
		require.Empty(t, entries)
		require.NoError(t, e.Close())
	}
}
