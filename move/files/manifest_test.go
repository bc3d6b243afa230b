//go:build duckdb_arrow

package files

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

// TestPublishedFiles: the files of the manifests since the last overwrite, sorted; an overwrite whose earlier
// files were not removed yet (killed between its manifest and the removal) hides them; manifests of earlier
// versions (no time) sort first; a listed file that is missing is BadData; no manifest means not published.
func TestPublishedFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	put := func(name string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("id\n1\n"), 0o644))
	}
	man := func(m manifest) {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, ManifestName(m.Run)), b, 0o644))
	}
	put("loose.csv")
	_, ok, err := PublishedFiles(ctx, Dir(dir))
	require.NoError(t, err)
	require.False(t, ok)

	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []string{"part-old-00000.csv", "part-a-00000.csv", "day=1/part-b-00000.csv", "part-c-00000.csv", "part-killed-00000.csv"} {
		put(f)
	}
	man(manifest{Run: "old", Files: []string{"part-old-00000.csv"}}) // no time: written before times were kept
	man(manifest{Run: "a", Files: []string{"part-a-00000.csv"}, Written: t0})
	names, ok, err := PublishedFiles(ctx, Dir(dir))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"part-a-00000.csv", "part-old-00000.csv"}, names)

	man(manifest{Run: "b", Files: []string{"day=1/part-b-00000.csv"}, Written: t0.Add(time.Minute), Overwrite: true})
	man(manifest{Run: "c", Files: []string{"part-c-00000.csv"}, Written: t0.Add(2 * time.Minute)})
	names, _, err = PublishedFiles(ctx, Dir(dir))
	require.NoError(t, err)
	require.Equal(t, []string{"day=1/part-b-00000.csv", "part-c-00000.csv"}, names)

	require.NoError(t, os.Remove(filepath.Join(dir, "part-c-00000.csv")))
	_, _, err = PublishedFiles(ctx, Dir(dir))
	require.Equal(t, errs.BadData, errs.KindOf(err))
	require.ErrorContains(t, err, ManifestName("c")+" lists part-c-00000.csv, which is missing")
}
