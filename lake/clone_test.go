package lake_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

func plan(t *testing.T, l *lake.Lake, env string, id lake.Ident, snapshotID int64) *lake.Plan {
	t.Helper()
	p, err := l.Plan(ctx, env, id, lake.SnapshotRef{ID: snapshotID})
	require.NoError(t, err)
	return p
}

func requireExist(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		_, err := os.Stat(f)
		require.NoError(t, err, "%s must still exist", f)
	}
}

func requireGone(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		_, err := os.Stat(f)
		require.True(t, os.IsNotExist(err), "%s must be deleted", f)
	}
}

// newFiles returns the files of b that are not in a.
func newFiles(a, b []string) []string {
	var out []string
	for _, f := range b {
		if !strings.Contains(strings.Join(a, "\n"), f) {
			out = append(out, f)
		}
	}
	return out
}

func TestCloneExpireDropKeepSharedFiles(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "prod", "dev")
		id := lake.Ident{Zone: "features", Name: "user_stats"}
		prodDir := filepath.Join(l.Warehouse(), "prod", "features", "user_stats")
		devDir := filepath.Join(l.Warehouse(), "dev", "features", "user_stats")
		var s []int64
		for i := range int64(3) {
			s = append(s, write(t, l, "prod", id, i*1000, 1000, lake.WriteOptions{CreateIfMissing: true}).SnapshotID)
		}
		f01 := plan(t, l, "prod", id, s[1]).Files
		f2 := newFiles(f01, plan(t, l, "prod", id, s[2]).Files)
		require.Len(t, f01, 2)
		require.Len(t, f2, 1)

		// Clone prod@s1 into dev: same snapshot, no data copied.
		require.NoError(t, l.Clone(ctx, "prod", id, s[1], "dev"))
		dev, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		prod, err := l.Describe(ctx, "prod", id)
		require.NoError(t, err)
		require.Equal(t, s[1], dev.CurrentSnapshotID)
		require.Len(t, dev.Snapshots, 2)
		require.NotEqual(t, prod.UUID, dev.UUID)
		require.Contains(t, dev.Location, devDir)
		require.Contains(t, dev.MetadataLocation, devDir)
		require.Equal(t, "prod.features.user_stats@"+strconv.FormatInt(s[1], 10), dev.Properties["strata.cloned-from"])
		dp := plan(t, l, "dev", id, 0)
		require.ElementsMatch(t, f01, dp.Files)
		require.EqualValues(t, 2000, countRows(t, dp.Files))
		require.Empty(t, parquetFiles(t, devDir))
		require.EqualValues(t, 1000, countRows(t, plan(t, l, "dev", id, s[0]).Files), "the clone keeps the history")

		// Writes on either side leave the other unchanged.
		d1 := write(t, l, "dev", id, 100_000, 1000, lake.WriteOptions{}).SnapshotID
		p3 := write(t, l, "prod", id, 3000, 1000, lake.WriteOptions{}).SnapshotID
		fd1 := newFiles(f01, plan(t, l, "dev", id, d1).Files)
		require.Len(t, fd1, 1)
		require.True(t, strings.HasPrefix(fd1[0], devDir), "dev writes land in dev's directory")
		f3 := newFiles(append(f01, f2...), plan(t, l, "prod", id, p3).Files)
		require.Len(t, f3, 1)
		require.EqualValues(t, 3000, countRows(t, plan(t, l, "dev", id, 0).Files))
		require.EqualValues(t, 4000, countRows(t, plan(t, l, "prod", id, 0).Files))
		dev, err = l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, dev.Snapshots, 3)
		prod, err = l.Describe(ctx, "prod", id)
		require.NoError(t, err)
		require.Len(t, prod.Snapshots, 4)
		require.Equal(t, p3, prod.CurrentSnapshotID)

		// Overwrite prod and expire everything but its current snapshot: prod's old files go, except those
		// dev still uses.
		p4 := write(t, l, "prod", id, 9000, 500, lake.WriteOptions{Mode: lake.Overwrite}).SnapshotID
		f4 := plan(t, l, "prod", id, p4).Files
		res, err := l.ExpireSnapshots(ctx, "prod", id, time.Now().Add(time.Minute), 1, nil)
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{s[0], s[1], s[2], p3}, res.Expired)
		require.GreaterOrEqual(t, res.DeletedFiles, 2)
		require.GreaterOrEqual(t, res.SharedFiles, 2)
		requireGone(t, append(f2, f3...)...)
		requireExist(t, f01...)
		require.EqualValues(t, 3000, countRows(t, plan(t, l, "dev", id, 0).Files))
		require.EqualValues(t, 1000, countRows(t, plan(t, l, "dev", id, s[0]).Files))
		require.EqualValues(t, 500, countRows(t, plan(t, l, "prod", id, 0).Files))
		_, err = l.Plan(ctx, "prod", id, lake.SnapshotRef{ID: s[1]})
		require.ErrorIs(t, err, lake.ErrNotFound)

		// Expiring the clone's inherited history keeps the data its current snapshot reads.
		res, err = l.ExpireSnapshots(ctx, "dev", id, time.Now().Add(time.Minute), 1, nil)
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{s[0], s[1]}, res.Expired)
		requireExist(t, f01...)
		require.EqualValues(t, 3000, countRows(t, plan(t, l, "dev", id, 0).Files))

		// Dropping prod deletes its own files only.
		require.NoError(t, l.Drop(ctx, "prod", id))
		_, err = l.Describe(ctx, "prod", id)
		require.ErrorIs(t, err, lake.ErrNotFound)
		requireGone(t, f4...)
		requireExist(t, f01...)
		require.EqualValues(t, 3000, countRows(t, plan(t, l, "dev", id, 0).Files))

		// Dropping dev, the last user, deletes everything.
		require.NoError(t, l.Drop(ctx, "dev", id))
		require.Empty(t, parquetFiles(t, l.Warehouse()))
		requireGone(t, prodDir, devDir)
	})
}

func TestExpireKeepsProtectedSnapshots(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "prod")
		id := lake.Ident{Zone: "clean", Name: "orders"}
		var s []int64
		for i := range int64(4) {
			s = append(s, write(t, l, "prod", id, i*100, 100, lake.WriteOptions{CreateIfMissing: true}).SnapshotID)
		}
		res, err := l.ExpireSnapshots(ctx, "prod", id, time.Time{}, 1, nil)
		require.NoError(t, err)
		require.Empty(t, res.Expired, "a zero time expires nothing")

		res, err = l.ExpireSnapshots(ctx, "prod", id, time.Now().Add(time.Minute), 1, map[int64]bool{s[1]: true})
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{s[0], s[2]}, res.Expired)
		require.Equal(t, 2, res.DeletedFiles, "only the two manifest lists: appends share every data file")
		info, err := l.Describe(ctx, "prod", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 2)
		require.EqualValues(t, 200, countRows(t, plan(t, l, "prod", id, s[1]).Files))
		require.EqualValues(t, 400, countRows(t, plan(t, l, "prod", id, 0).Files))
		_, err = l.Plan(ctx, "prod", id, lake.SnapshotRef{ID: s[0]})
		require.ErrorIs(t, err, lake.ErrNotFound)
		_, err = l.Plan(ctx, "prod", id, lake.SnapshotRef{AsOf: info.Snapshots[0].Timestamp})
		require.ErrorIs(t, err, lake.ErrNotFound, "history before the newest expired snapshot is gone; pinned ones are read by id")

		// retainLast keeps the newest snapshots of the current history.
		s4 := write(t, l, "prod", id, 1000, 100, lake.WriteOptions{}).SnapshotID
		res, err = l.ExpireSnapshots(ctx, "prod", id, time.Now().Add(time.Minute), 2, nil)
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{s[1]}, res.Expired)
		info, err = l.Describe(ctx, "prod", id)
		require.NoError(t, err)
		require.Equal(t, []int64{s[3], s4}, []int64{info.Snapshots[0].ID, info.Snapshots[1].ID})
	})
}

func TestCloneReplacesExistingTable(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "prod", "dev")
		id := lake.Ident{Zone: "datasets", Name: "train"}
		s0 := write(t, l, "prod", id, 0, 100, lake.WriteOptions{CreateIfMissing: true}).SnapshotID
		s1 := write(t, l, "prod", id, 100, 100, lake.WriteOptions{}).SnapshotID
		d0 := write(t, l, "dev", id, 0, 7, lake.WriteOptions{CreateIfMissing: true}).SnapshotID
		devFiles := plan(t, l, "dev", id, d0).Files

		require.NoError(t, l.Clone(ctx, "prod", id, s0, "dev"))
		require.EqualValues(t, 100, countRows(t, plan(t, l, "dev", id, 0).Files))
		requireExist(t, devFiles...) // a replaced table's files are left alone
		require.NoError(t, l.Clone(ctx, "prod", id, 0, "dev"))
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Equal(t, s1, info.CurrentSnapshotID)

		err = l.Clone(ctx, "prod", id, 12345, "dev")
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorIs(t, l.Clone(ctx, "prod", id, 0, "prod"), lake.ErrInvalid)
		require.ErrorIs(t, l.Clone(ctx, "prod", lake.Ident{Zone: "datasets", Name: "nope"}, 0, "dev"), lake.ErrNotFound)
	})
}
