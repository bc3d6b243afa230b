package demo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/demo"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// TestLoadGoesThroughTheWriteGate: the demo's prod writes follow prod's rule, and every table it writes is
// audited as a write through envs.
func TestLoadGoesThroughTheWriteGate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))

	err = demo.LoadWith(ctx, svc, demo.Options{Actor: "tester"})
	require.Equal(t, errs.Forbidden, errs.KindOf(err), "%v", err)
	loaded, err := demo.Loaded(ctx, svc)
	require.NoError(t, err)
	require.False(t, loaded, "a refused load writes nothing, not even dev")

	require.NoError(t, demo.Load(ctx, svc, "tester"))
	loaded, err = demo.Loaded(ctx, svc)
	require.NoError(t, err)
	require.True(t, loaded)
	log, err := svc.AuditLog(ctx, "", 100)
	require.NoError(t, err)
	count := map[string]int{}
	for _, e := range log {
		count[e.Env+" "+e.Action]++
	}
	require.Equal(t, 5, count["dev table.demo"], "four tables and one append, each audited")
	require.Equal(t, 1, count["prod env.clone"])
	require.Equal(t, 1, count["prod release.publish"])

	p, err := svc.Resolve(ctx, "prod", lake.Ident{Zone: "raw", Name: "orders"}, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Equal(t, int64(demo.Orders), p.Rows)
	p, err = svc.Resolve(ctx, "dev", lake.Ident{Zone: "raw", Name: "orders"}, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Equal(t, int64(demo.Orders+demo.Orders/10), p.Rows)
}
