package envs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// bound returns the file count and the first file of the one table BindSQL binds for sql.
func bound(t *testing.T, svc *envs.Service, env, sql string) []string {
	t.Helper()
	tables, err := svc.BindSQL(context.Background(), env, sql)
	require.NoError(t, err)
	require.Len(t, tables, 1)
	return tables[0].Files
}

// metadataDir returns the directory of the table's metadata files.
func metadataDir(t *testing.T, svc *envs.Service, env string, id lake.Ident) string {
	t.Helper()
	info, err := svc.Lake().Describe(context.Background(), env, id)
	require.NoError(t, err)
	return filepath.Dir(strings.TrimPrefix(info.MetadataLocation, "file://"))
}

// An unchanged table is bound from the plan cache: its metadata and manifests are not read again.
func TestResolveOfAnUnchangedTableReadsNoMetadataFiles(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	id := ident(t, "raw.events")
	s1 := write(t, svc, "dev", "raw.events", 0, 3)
	first := bound(t, svc, "dev", "SELECT * FROM raw.events")

	dir := metadataDir(t, svc, "dev", id)
	require.NoError(t, os.Rename(dir, dir+".away"))
	p, err := svc.Resolve(ctx, "dev", id, lake.SnapshotRef{})
	require.NoError(t, err, "a cached plan needs no metadata file")
	require.Equal(t, s1, p.SnapshotID)
	require.Equal(t, first, bound(t, svc, "dev", "SELECT count(*) FROM raw.events e WHERE e.id > 1"))
	require.NoError(t, os.Rename(dir+".away", dir))

	// The cache holds copies: a caller changing its plan changes nobody else's.
	p.Files[0] = "changed"
	require.Equal(t, first, bound(t, svc, "dev", "SELECT * FROM raw.events"))
}

// Every change a reader must see takes effect at the next statement: a dev write, a prod publish and rollback;
// time travel binds the selected snapshot's files.
func TestBindSQLSeesEveryChangeAtTheNextStatement(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			id := ident(t, "clean.orders")
			const q = "SELECT sum(value) FROM clean.orders WHERE id > 0"

			// dev: a write between two statements is visible to the second.
			d1 := write(t, svc, "dev", "clean.orders", 0, 3)
			require.Len(t, bound(t, svc, "dev", q), 1)
			between := time.Now()
			time.Sleep(5 * time.Millisecond)
			d2 := write(t, svc, "dev", "clean.orders", 3, 2)
			require.Len(t, bound(t, svc, "dev", q), 2)
			p, err := svc.Resolve(ctx, "dev", id, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, d2, p.SnapshotID)
			require.Equal(t, int64(5), p.Rows)

			// dev time travel: by snapshot id and by time, each the selected snapshot's files.
			for _, at := range []lake.SnapshotRef{{ID: d1}, {AsOf: between}} {
				p, err = svc.Resolve(ctx, "dev", id, at)
				require.NoError(t, err)
				require.Equal(t, d1, p.SnapshotID, "%+v", at)
				require.Equal(t, int64(3), p.Rows)
				require.Len(t, p.Files, 1)
			}
			p, err = svc.Resolve(ctx, "dev", id, lake.SnapshotRef{ID: d2})
			require.NoError(t, err)
			require.Len(t, p.Files, 2)

			// prod: nothing until a release; a publish between two statements is visible to the second.
			_, err = svc.BindSQL(ctx, "prod", q)
			require.ErrorIs(t, err, lake.ErrNotFound)
			s1 := write(t, svc, "prod", "clean.orders", 0, 10)
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			r1files := bound(t, svc, "prod", q)
			require.Len(t, r1files, 1)
			s2 := write(t, svc, "prod", "clean.orders", 10, 5)
			require.Equal(t, r1files, bound(t, svc, "prod", q), "an unpublished write stays invisible")
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			require.Len(t, bound(t, svc, "prod", q), 2)
			p, err = svc.Resolve(ctx, "prod", id, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s2, p.SnapshotID)

			// prod rollback between two statements: the second sees release 1 again.
			_, err = svc.Rollback(ctx, "prod", 1, "a")
			require.NoError(t, err)
			require.Equal(t, r1files, bound(t, svc, "prod", q))
			p, err = svc.Resolve(ctx, "prod", id, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s1, p.SnapshotID)
			require.Equal(t, int64(10), p.Rows)
			// prod time travel reaches released snapshots only, cached or not.
			p, err = svc.Resolve(ctx, "prod", id, lake.SnapshotRef{ID: s2})
			require.NoError(t, err)
			require.Equal(t, int64(15), p.Rows)
			_, err = svc.Resolve(ctx, "dev", id, lake.SnapshotRef{ID: s2})
			require.ErrorIs(t, err, lake.ErrNotFound, "another environment's snapshot")
		})
	}
}

// Readers binding while a writer commits each see one whole snapshot: its rows and its files agree.
func TestResolveWhileWriting(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	id := ident(t, "raw.ticks")
	write(t, svc, "dev", "raw.ticks", 0, 3)
	const writes = 8
	var wg sync.WaitGroup
	done := make(chan struct{})
	type seen struct{ rows, files int64 }
	results := make([][]seen, 4)
	for r := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				p, err := svc.Resolve(ctx, "dev", id, lake.SnapshotRef{})
				if err != nil {
					t.Error(err)
					return
				}
				results[r] = append(results[r], seen{p.Rows, int64(len(p.Files))})
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		write(t, svc, "dev", "raw.ticks", 3*i, 3)
	}
	close(done)
	wg.Wait()
	last := int64(0)
	for _, rs := range results {
		require.NotEmpty(t, rs)
		for _, s := range rs {
			require.Equal(t, 3*s.files, s.rows, "one snapshot's rows and files")
			last = max(last, s.files)
		}
	}
	p, err := svc.Resolve(ctx, "dev", id, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Equal(t, int64(writes+1), int64(len(p.Files)))
	require.Equal(t, int64(3*(writes+1)), p.Rows)
	require.LessOrEqual(t, last, int64(writes+1))
}
