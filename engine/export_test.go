//go:build duckdb_arrow

package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExport(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	tbl := ordersTable(t)
	dir := t.TempDir()
	const sql = "SELECT id, f_new FROM raw.orders WHERE id >= 3 ORDER BY id;"
	for format, want := range map[string]string{
		"csv":   "id,f_new\n3,n0\n4,n1\n",
		"json":  "[\n\t{\"id\":3,\"f_new\":\"n0\"},\n\t{\"id\":4,\"f_new\":\"n1\"}\n]\n",
		"jsonl": "{\"id\":3,\"f_new\":\"n0\"}\n{\"id\":4,\"f_new\":\"n1\"}\n",
	} {
		p := filepath.Join(dir, "out."+format)
		require.NoError(t, e.Export(context.Background(), sql, []Table{tbl}, format, p))
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, want, string(got), format)
	}
	p := filepath.Join(dir, "out.parquet")
	require.NoError(t, e.Export(context.Background(), sql, []Table{tbl}, "PARQUET", p))
	_, rows, _, err := readAll(t, e, p, ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"3", "n0"}, {"4", "n1"}}, rows)

	// A failing export leaves the earlier file alone and no scratch behind.
	err = e.Export(context.Background(), "SELECT error('boom') FROM raw.orders", []Table{tbl}, "parquet", p)
	require.ErrorContains(t, err, "boom")
	_, rows, _, err = readAll(t, e, p, ReadOptions{})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 4)

	require.ErrorIs(t, e.Export(context.Background(), sql, []Table{tbl}, "xlsx", p), ErrInvalid)
	require.ErrorContains(t, e.Export(context.Background(), sql, []Table{tbl}, "csv", filepath.Join(dir, "no", "x.csv")), "writable")
}
