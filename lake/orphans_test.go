package lake_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

func TestRemoveOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := laketest.New(t, testenv.SQLiteDSN(t), "dev", "prod")
	id := lake.Ident{Zone: "raw", Name: "orders"}
	_, err := l.Write(ctx, "dev", id, laketest.Rows(0, 1000, 500), lake.WriteOptions{CreateIfMissing: true})
	require.NoError(t, err)
	require.NoError(t, l.Clone(ctx, "dev", id, 0, "prod"))
	before, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
	require.NoError(t, err)

	dataDir := filepath.Join(filepath.Dir(before.Files[0]))
	old := time.Now().Add(-48 * time.Hour)
	stray := filepath.Join(dataDir, "00000-killed-write.parquet")
	fresh := filepath.Join(dataDir, "00001-write-in-progress.parquet")
	for _, p := range []string{stray, fresh} {
		require.NoError(t, os.WriteFile(p, []byte("PAR1"), 0o644))
	}
	require.NoError(t, os.Chtimes(stray, old, old))
	for _, f := range before.Files { // referenced files are old too: they must stay
		require.NoError(t, os.Chtimes(f, old, old))
	}

	res, err := l.RemoveOrphans(ctx, "dev", id, time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, res.DeletedFiles)
	require.NoFileExists(t, stray)
	require.FileExists(t, fresh)
	for _, f := range before.Files {
		require.FileExists(t, f)
	}
	after, err := l.Plan(ctx, "prod", id, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Equal(t, int64(1000), after.Rows)

	_, err = l.RemoveOrphans(ctx, "dev", lake.Ident{Zone: "raw", Name: "nope"}, time.Now())
	require.ErrorIs(t, err, lake.ErrNotFound)
}
