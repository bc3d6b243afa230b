package envs_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

func newService(t *testing.T, dsn string) *envs.Service {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	return svc
}

// rows builds n rows (id, value) starting at first.
func rows(first, n int) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "value", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("v")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rdr
}

func write(t *testing.T, svc *envs.Service, env, table string, first, n int) int64 {
	t.Helper()
	id, err := lake.ParseIdent(table)
	require.NoError(t, err)
	res, err := svc.Lake().Write(context.Background(), env, id, rows(first, n), lake.WriteOptions{Mode: lake.Append, CreateIfMissing: true})
	require.NoError(t, err)
	return res.SnapshotID
}

func ident(t *testing.T, s string) lake.Ident {
	id, err := lake.ParseIdent(s)
	require.NoError(t, err)
	return id
}

func TestReleasesLifecycle(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			orders, users := ident(t, "clean.orders"), ident(t, "raw.users")

			// No release yet: prod readers see nothing.
			_, err := svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.ErrorIs(t, err, lake.ErrNotFound)
			_, err = svc.Release(ctx, "prod", 0)
			require.ErrorIs(t, err, envs.ErrNotFound)

			s1 := write(t, svc, "prod", "clean.orders", 0, 10)
			u1 := write(t, svc, "prod", "raw.users", 0, 3)
			_, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.ErrorContains(t, err, "not in prod's current release (it has no release yet)")

			r1, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "alice", Note: "first"})
			require.NoError(t, err)
			require.Equal(t, int64(1), r1.ID)
			require.Equal(t, []envs.Pin{{Table: "clean.orders", SnapshotID: s1, Rows: 10}, {Table: "raw.users", SnapshotID: u1, Rows: 3}}, r1.Pins)

			// A new write is invisible to prod readers until it is published.
			s2 := write(t, svc, "prod", "clean.orders", 10, 5)
			p, err := svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s1, p.SnapshotID)
			require.Equal(t, int64(10), p.Rows)
			list, err := svc.Tables(ctx, "prod", "")
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.Equal(t, s1, list[0].SnapshotID)
			require.Equal(t, int64(10), list[0].Rows)
			require.Equal(t, int64(1), list[0].Files) // the pinned snapshot's files, not the latest's
			require.Positive(t, list[0].Bytes)
			// Time travel does not reach the unpublished snapshot: prod readers see releases only.
			_, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{ID: s2})
			require.ErrorIs(t, err, lake.ErrNotFound)

			// Publishing one table carries the other pins over.
			r2, err := svc.Publish(ctx, "prod", []lake.Ident{orders}, envs.PublishOptions{Actor: "bob"})
			require.NoError(t, err)
			require.Equal(t, []envs.Pin{{Table: "clean.orders", SnapshotID: s2, Rows: 15}, {Table: "raw.users", SnapshotID: u1, Rows: 3}}, r2.Pins)
			p, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s2, p.SnapshotID)
			p, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{ID: s2}) // released now
			require.NoError(t, err)
			require.Equal(t, int64(15), p.Rows)

			diff, err := svc.Diff(ctx, "prod", 1, 2)
			require.NoError(t, err)
			require.Len(t, diff, 1)
			require.Equal(t, "changed", diff[0].Change)
			require.Equal(t, s1, diff[0].From.SnapshotID)
			require.Equal(t, s2, diff[0].To.SnapshotID)

			r3, err := svc.Rollback(ctx, "prod", 1, "carol")
			require.NoError(t, err)
			require.Equal(t, int64(3), r3.ID)
			require.Equal(t, r1.Pins, r3.Pins)
			p, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s1, p.SnapshotID)

			rels, err := svc.Releases(ctx, "prod")
			require.NoError(t, err)
			require.Len(t, rels, 3)
			require.True(t, rels[0].Current)
			require.Equal(t, "rollback to release 1", rels[0].Note)
			cur, err := svc.Release(ctx, "prod", 0)
			require.NoError(t, err)
			require.Equal(t, int64(3), cur.ID)
			require.True(t, cur.Current)

			// Remove a table from the release, then it may be dropped.
			require.ErrorIs(t, svc.Drop(ctx, "prod", users, true, "x"), envs.ErrConflict)
			r4, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "x", Remove: []lake.Ident{users}})
			require.NoError(t, err)
			require.Len(t, r4.Pins, 1)
			require.NoError(t, svc.Drop(ctx, "prod", users, true, "x"))

			audit, err := svc.AuditLog(ctx, "prod", 100)
			require.NoError(t, err)
			var actions []string
			for _, a := range audit {
				actions = append(actions, a.Action)
			}
			require.Contains(t, actions, "release.publish")
			require.Contains(t, actions, "release.rollback")
			require.Contains(t, actions, "table.drop")
		})
	}
}

func TestBadRequests(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	_, err := svc.Get(ctx, "staging")
	require.ErrorIs(t, err, envs.ErrNotFound)
	require.ErrorContains(t, err, "environments: dev, prod")
	_, err = svc.Publish(ctx, "dev", nil, envs.PublishOptions{})
	require.ErrorIs(t, err, envs.ErrInvalid)
	_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{})
	require.ErrorIs(t, err, envs.ErrInvalid)
	require.ErrorContains(t, err, "no tables")
	_, err = svc.Publish(ctx, "prod", []lake.Ident{ident(t, "raw.nope")}, envs.PublishOptions{})
	require.ErrorIs(t, err, lake.ErrNotFound)
	require.ErrorIs(t, svc.CheckWrite(ctx, "prod", false), envs.ErrForbidden)
	require.NoError(t, svc.CheckWrite(ctx, "prod", true))
	require.NoError(t, svc.CheckWrite(ctx, "dev", false))
	_, err = svc.Rollback(ctx, "prod", 7, "x")
	require.ErrorIs(t, err, envs.ErrNotFound)
	_, err = svc.Create(ctx, "Bad Name", envs.KindDev, "", "x")
	require.ErrorIs(t, err, envs.ErrInvalid)
	_, err = svc.Create(ctx, "dev", envs.KindDev, "", "x")
	require.ErrorIs(t, err, envs.ErrConflict)
	_, err = envs.ParseIdents([]string{"raw.ok", "nodot", "Raw.x y"})
	require.ErrorIs(t, err, envs.ErrInvalid)
	_, err = svc.Clone(ctx, "dev", "dev", nil, false, "x")
	require.ErrorIs(t, err, envs.ErrInvalid)
}

func TestCloneAndExpireKeepSharedFiles(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			orders := ident(t, "clean.orders")
			s1 := write(t, svc, "prod", "clean.orders", 0, 10)
			_, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			write(t, svc, "prod", "clean.orders", 10, 10) // unpublished

			// Cloning into prod needs force; prod → dev gives dev prod's pinned snapshot.
			_, err = svc.Clone(ctx, "dev", "prod", nil, false, "a")
			require.ErrorIs(t, err, envs.ErrForbidden)
			pins, err := svc.Clone(ctx, "prod", "dev", nil, false, "a")
			require.NoError(t, err)
			require.Equal(t, []envs.Pin{{Table: "clean.orders", SnapshotID: s1, Rows: 10}}, pins)
			p, err := svc.Resolve(ctx, "dev", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, int64(10), p.Rows)

			// Dev writes do not touch prod.
			write(t, svc, "dev", "clean.orders", 100, 1)
			p, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, int64(10), p.Rows)

			// Expiring prod keeps the release-pinned snapshot, and dropping prod's table keeps dev's files.
			write(t, svc, "prod", "clean.orders", 20, 10)
			_, err = svc.Expire(ctx, "prod", orders, time.Now().Add(time.Hour), 1, "a")
			require.NoError(t, err)
			p, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s1, p.SnapshotID)
			for _, f := range p.Files {
				require.FileExists(t, f)
			}
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a", Remove: []lake.Ident{orders}})
			require.ErrorIs(t, err, envs.ErrInvalid) // would pin nothing
			dev, err := svc.Resolve(ctx, "dev", orders, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, int64(11), dev.Rows)
			for _, f := range dev.Files {
				require.FileExists(t, f)
			}
		})
	}
}
