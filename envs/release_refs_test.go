package envs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// stage writes rows to env's table the way the write gate does for a prod-kind environment: on the staging
// branch.
func stage(t *testing.T, svc *envs.Service, env, table string, first, n int) int64 {
	t.Helper()
	branch, err := svc.BranchFor(context.Background(), env)
	require.NoError(t, err)
	res, err := svc.Lake().Write(context.Background(), env, ident(t, table), rows(first, n),
		lake.WriteOptions{CreateIfMissing: true, Branch: branch})
	require.NoError(t, err)
	return res.SnapshotID
}

// icebergRefs returns what other engines see of a table: main's head and the refs by name ("tag:" for tags).
func icebergRefs(t *testing.T, svc *envs.Service, env, table string) map[string]int64 {
	t.Helper()
	info, err := svc.Lake().Describe(context.Background(), env, ident(t, table))
	require.NoError(t, err)
	out := map[string]int64{}
	for _, r := range info.Refs {
		name := r.Name
		if r.Type == "tag" {
			name = "tag:" + name
		}
		out[name] = r.SnapshotID
	}
	require.Equal(t, out["main"], info.CurrentSnapshotID)
	return out
}

func TestProdRefsFollowReleases(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			branch, err := svc.BranchFor(ctx, "dev")
			require.NoError(t, err)
			require.Empty(t, branch, "dev writes main")

			// A staged write: Strata's prod readers and other engines (main) see nothing yet.
			s1 := stage(t, svc, "prod", "clean.orders", 0, 10)
			require.Equal(t, map[string]int64{"staging": s1}, icebergRefs(t, svc, "prod", "clean.orders"))
			r1, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			require.Equal(t, []envs.Pin{{Table: "clean.orders", SnapshotID: s1, Rows: 10}}, r1.Pins)
			require.Equal(t, map[string]int64{"main": s1, "tag:release-1": s1}, icebergRefs(t, svc, "prod", "clean.orders"))

			// The next staged write stays off main until published.
			s2 := stage(t, svc, "prod", "clean.orders", 10, 5)
			require.Equal(t, map[string]int64{"main": s1, "staging": s2, "tag:release-1": s1}, icebergRefs(t, svc, "prod", "clean.orders"))
			p, err := svc.Resolve(ctx, "prod", ident(t, "clean.orders"), lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s1, p.SnapshotID)
			r2, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			require.Equal(t, []envs.Pin{{Table: "clean.orders", SnapshotID: s2, Rows: 15}}, r2.Pins)
			require.Equal(t, map[string]int64{"main": s2, "tag:release-1": s1, "tag:release-2": s2},
				icebergRefs(t, svc, "prod", "clean.orders"))

			// Nothing changed: nothing is published (a Conflict), unless asked.
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.ErrorIs(t, err, envs.ErrNothingToPublish)
			require.Equal(t, errs.Conflict, errs.KindOf(err))
			require.ErrorContains(t, err, "prod release 2 already pins the newest snapshot of clean.orders")
			_, err = svc.Publish(ctx, "prod", []lake.Ident{ident(t, "clean.orders")}, envs.PublishOptions{Actor: "a"})
			require.ErrorIs(t, err, envs.ErrNothingToPublish)
			rels, err := svc.Releases(ctx, "prod")
			require.NoError(t, err)
			require.Len(t, rels, 2)
			r3, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a", AllowEmpty: true,
				Models: []envs.ModelPin{{Model: "churn", Alias: "champion", Version: "1"}}})
			require.NoError(t, err)
			require.Equal(t, int64(3), r3.ID)
			require.Equal(t, r2.Pins, r3.Pins)
			// Model versions count when given: the same ones are nothing new, another one is.
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a",
				Models: []envs.ModelPin{{Model: "churn", Alias: "champion", Version: "1"}}})
			require.ErrorIs(t, err, envs.ErrNothingToPublish)
			r3, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a",
				Models: []envs.ModelPin{{Model: "churn", Alias: "champion", Version: "2"}}})
			require.NoError(t, err)
			require.Equal(t, int64(4), r3.ID)

			// A new table is a change; rollback moves main back and tags the new release.
			u1 := stage(t, svc, "prod", "raw.users", 0, 3)
			r5, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			require.Len(t, r5.Pins, 2)
			r6, err := svc.Rollback(ctx, "prod", 1, "a")
			require.NoError(t, err)
			require.Equal(t, int64(6), r6.ID)
			require.Equal(t, map[string]int64{"main": s1, "tag:release-1": s1, "tag:release-2": s2, "tag:release-3": s2,
				"tag:release-4": s2, "tag:release-5": s2, "tag:release-6": s1}, icebergRefs(t, svc, "prod", "clean.orders"))
			// raw.users is not in release 6: its main stays where release 5 put it (Strata's readers do not see it).
			require.Equal(t, map[string]int64{"main": u1, "tag:release-5": u1}, icebergRefs(t, svc, "prod", "raw.users"))
			_, err = svc.Resolve(ctx, "prod", ident(t, "raw.users"), lake.SnapshotRef{})
			require.ErrorIs(t, err, lake.ErrNotFound)

			// After the rollback, a publish with nothing new publishes nothing (it does not re-pin the rolled-back
			// snapshot), and the next staged write builds on what main has.
			_, err = svc.Publish(ctx, "prod", []lake.Ident{ident(t, "clean.orders")}, envs.PublishOptions{Actor: "a"})
			require.ErrorIs(t, err, envs.ErrNothingToPublish)
			s7 := stage(t, svc, "prod", "clean.orders", 100, 1)
			r7, err := svc.Publish(ctx, "prod", []lake.Ident{ident(t, "clean.orders")}, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			require.Equal(t, []envs.Pin{{Table: "clean.orders", SnapshotID: s7, Rows: 11}}, r7.Pins)

			info, err := svc.Lake().Describe(ctx, "prod", ident(t, "clean.orders"))
			require.NoError(t, err)
			require.Equal(t, "false", info.Properties["gc.enabled"])
		})
	}
}

// TestPublishInterruptedBeforeRefs: a publish stopped after its pins are committed and before the refs move
// leaves other engines on the previous release; the next publish (which finds nothing new) repairs the refs.
func TestPublishInterruptedBeforeRefs(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dsn := b.DSN(t)
			svc := newService(t, dsn)
			s1 := stage(t, svc, "prod", "clean.orders", 0, 10)
			_, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			s2 := stage(t, svc, "prod", "clean.orders", 10, 10)

			// A second service on the same database stops (its context ends) between the pins and the refs.
			db, err := meta.Open(ctx, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			hooked := envs.New(db, svc.Lake(), envs.Options{Hook: func(point string) {
				if point == "release:pins-committed" || point == "rollback:pins-committed" {
					cancel()
				}
			}})
			rel, err := hooked.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.ErrorIs(t, err, context.Canceled)
			require.ErrorContains(t, err, "prod release 2 is published for Strata's readers, but other engines still see the previous release")
			require.Equal(t, int64(2), rel.ID)
			p, err := svc.Resolve(context.Background(), "prod", ident(t, "clean.orders"), lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, s2, p.SnapshotID)
			require.Equal(t, map[string]int64{"main": s1, "staging": s2, "tag:release-1": s1},
				icebergRefs(t, svc, "prod", "clean.orders"))

			_, err = svc.Publish(context.Background(), "prod", nil, envs.PublishOptions{Actor: "a"})
			require.ErrorIs(t, err, envs.ErrNothingToPublish)
			require.Equal(t, map[string]int64{"main": s2, "tag:release-1": s1, "tag:release-2": s2},
				icebergRefs(t, svc, "prod", "clean.orders"))

			// The same for a rollback, repaired by SyncRefs (what a process start may run).
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			_, err = hooked.Rollback(ctx, "prod", 1, "a")
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, s2, icebergRefs(t, svc, "prod", "clean.orders")["main"])
			require.NoError(t, svc.SyncRefs(context.Background(), "prod"))
			require.Equal(t, map[string]int64{"main": s1, "tag:release-1": s1, "tag:release-2": s2, "tag:release-3": s1},
				icebergRefs(t, svc, "prod", "clean.orders"))
			require.NoError(t, svc.SyncRefs(context.Background(), "dev"), "nothing to do in dev")
		})
	}
}

// TestCloneIntoProdIsStaged: a clone into prod lands on the staging branch; the publish pins it. A clone into
// dev keeps dev's own snapshots reachable.
func TestCloneIntoProdIsStaged(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			d1 := write(t, svc, "dev", "raw.orders", 0, 6)
			_, err := svc.Clone(ctx, "dev", "prod", nil, true, "a")
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"staging": d1}, icebergRefs(t, svc, "prod", "raw.orders"))
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"main": d1, "tag:release-1": d1}, icebergRefs(t, svc, "prod", "raw.orders"))

			// dev moves on, then gets prod's release back: its own snapshot stays reachable on a tag.
			d2 := write(t, svc, "dev", "raw.orders", 6, 1)
			cloned, err := svc.CloneTables(ctx, "prod", "dev", nil, false, "a")
			require.NoError(t, err)
			require.Len(t, cloned, 1)
			require.NotEmpty(t, cloned[0].KeptTag)
			require.Equal(t, d2, icebergRefs(t, svc, "dev", "raw.orders")["tag:"+cloned[0].KeptTag])
			p, err := svc.Resolve(ctx, "dev", ident(t, "raw.orders"), lake.SnapshotRef{ID: d2})
			require.NoError(t, err)
			require.EqualValues(t, 7, p.Rows)
		})
	}
}
