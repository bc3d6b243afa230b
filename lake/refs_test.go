package lake_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

func describe(t *testing.T, l *lake.Lake, env string, id lake.Ident) *lake.TableInfo {
	t.Helper()
	info, err := l.Describe(ctx, env, id)
	require.NoError(t, err)
	return info
}

// refs returns a table's refs as name → snapshot id, with tags prefixed "tag:".
func refs(t *testing.T, l *lake.Lake, env string, id lake.Ident) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, r := range describe(t, l, env, id).Refs {
		name := r.Name
		if r.Type == "tag" {
			name = "tag:" + name
		}
		out[name] = r.SnapshotID
	}
	return out
}

func TestWriteToBranch(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "prod")
		id := lake.Ident{Zone: "clean", Name: "orders"}
		staged := lake.WriteOptions{Branch: "staging", CreateIfMissing: true}

		// A table created by a branch write has no main: other engines read it as empty.
		b0 := write(t, l, "prod", id, 0, 100, staged)
		require.True(t, b0.Created)
		info := describe(t, l, "prod", id)
		require.Zero(t, info.CurrentSnapshotID)
		require.Equal(t, []lake.Ref{{Name: "staging", Type: "branch", SnapshotID: b0.SnapshotID}}, info.Refs)
		p, err := l.Plan(ctx, "prod", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Empty(t, p.Files, "main has nothing yet")

		// A branch write builds on the branch's head and leaves main alone; a main write leaves the branch.
		m1 := write(t, l, "prod", id, 1000, 10, lake.WriteOptions{})
		b1 := write(t, l, "prod", id, 100, 50, staged)
		require.Equal(t, map[string]int64{"main": m1.SnapshotID, "staging": b1.SnapshotID}, refs(t, l, "prod", id))
		require.EqualValues(t, 150, countRows(t, plan(t, l, "prod", id, b1.SnapshotID).Files))
		require.EqualValues(t, 10, countRows(t, plan(t, l, "prod", id, 0).Files))

		// Overwrite on a branch replaces the branch head's files only.
		b2 := write(t, l, "prod", id, 500, 30, lake.WriteOptions{Branch: "staging", Mode: lake.Overwrite})
		require.EqualValues(t, 30, countRows(t, plan(t, l, "prod", id, b2.SnapshotID).Files))
		require.EqualValues(t, 10, countRows(t, plan(t, l, "prod", id, 0).Files))
		require.Equal(t, m1.SnapshotID, describe(t, l, "prod", id).CurrentSnapshotID)

		// A new branch forks from main's head; an empty append reports the branch head.
		f1 := write(t, l, "prod", id, 2000, 5, lake.WriteOptions{Branch: "fix"})
		require.EqualValues(t, 15, countRows(t, plan(t, l, "prod", id, f1.SnapshotID).Files))
		empty := write(t, l, "prod", id, 0, 0, lake.WriteOptions{Branch: "fix"})
		require.Equal(t, f1.SnapshotID, empty.SnapshotID)

		// Tags are not write targets.
		_, err = l.PublishRefs(ctx, "prod", id, lake.PublishedRefs{Tags: map[string]int64{"release-1": m1.SnapshotID}})
		require.NoError(t, err)
		rdr := laketest.Rows(0, 1, 1)
		defer rdr.Release()
		_, err = l.Write(ctx, "prod", id, rdr, lake.WriteOptions{Branch: "release-1"})
		require.ErrorIs(t, err, lake.ErrInvalid)
	})
}

// TestPublishRefs walks the refs through write-audit-publish: staged writes, publish, a write that went to main
// directly, and a rollback; nothing becomes unreachable on the way.
func TestPublishRefs(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "prod")
		id := lake.Ident{Zone: "clean", Name: "orders"}
		staged := lake.WriteOptions{Branch: "staging", CreateIfMissing: true}
		candidate := func(published int64) int64 {
			t.Helper()
			sid, err := l.PublishCandidate(ctx, "prod", id, published, "staging")
			require.NoError(t, err)
			return sid
		}
		publish := func(want lake.PublishedRefs) *lake.RefsResult {
			t.Helper()
			want.Staging = "staging"
			res, err := l.PublishRefs(ctx, "prod", id, want)
			require.NoError(t, err)
			return res
		}

		s1 := write(t, l, "prod", id, 0, 10, staged).SnapshotID
		require.Equal(t, s1, candidate(0))
		res := publish(lake.PublishedRefs{Main: s1, Tags: map[string]int64{"release-1": s1}})
		require.True(t, res.Changed)
		require.Equal(t, []string{"staging"}, res.Removed, "the staging branch's work is on main now")
		require.Equal(t, map[string]int64{"main": s1, "tag:release-1": s1}, refs(t, l, "prod", id))
		require.Equal(t, s1, candidate(s1), "nothing new")
		again := publish(lake.PublishedRefs{Main: s1, Tags: map[string]int64{"release-1": s1}})
		require.False(t, again.Changed, "idempotent")

		// A staged write is the next candidate; publishing it moves main.
		s2 := write(t, l, "prod", id, 10, 10, staged).SnapshotID
		require.Equal(t, map[string]int64{"main": s1, "staging": s2, "tag:release-1": s1}, refs(t, l, "prod", id))
		require.Equal(t, s2, candidate(s1))
		publish(lake.PublishedRefs{Main: s2, Tags: map[string]int64{"release-1": s1, "release-2": s2}})
		require.Equal(t, map[string]int64{"main": s2, "tag:release-1": s1, "tag:release-2": s2}, refs(t, l, "prod", id))

		// A write that lands on main directly (Spark, or a writer that does not stage) is the candidate too, and
		// when the refs are re-synced to the release it moves to the staging branch instead of disappearing.
		m3 := write(t, l, "prod", id, 20, 10, lake.WriteOptions{}).SnapshotID
		require.Equal(t, m3, candidate(s2))
		res = publish(lake.PublishedRefs{Main: s2, Tags: map[string]int64{"release-2": s2}})
		require.Equal(t, "staging", res.Kept)
		require.Equal(t, map[string]int64{"main": s2, "staging": m3, "tag:release-1": s1, "tag:release-2": s2}, refs(t, l, "prod", id))
		require.Equal(t, m3, candidate(s2))

		// Rollback: main goes back to an older pin; the newer one stays reachable by its tag, and the staged
		// write stays staged.
		res = publish(lake.PublishedRefs{Main: s1, Tags: map[string]int64{"release-3": s1}})
		require.Empty(t, res.Kept)
		require.Equal(t, map[string]int64{"main": s1, "staging": m3, "tag:release-1": s1, "tag:release-2": s2,
			"tag:release-3": s1}, refs(t, l, "prod", id))
		require.EqualValues(t, 10, countRows(t, plan(t, l, "prod", id, 0).Files))

		// Work on both main and staging that neither contains: main's is kept on a branch of its own.
		m4 := write(t, l, "prod", id, 40, 1, lake.WriteOptions{}).SnapshotID
		res = publish(lake.PublishedRefs{Main: s1})
		require.Equal(t, "unpublished-"+itoa(m4), res.Kept)
		require.Equal(t, m4, refs(t, l, "prod", id)["unpublished-"+itoa(m4)])
		require.Equal(t, m3, refs(t, l, "prod", id)["staging"])

		// Asked-for snapshots the table lacks are reported, not set.
		res = publish(lake.PublishedRefs{Tags: map[string]int64{"release-9": 12345}})
		require.Equal(t, []int64{12345}, res.Missing)
		require.Equal(t, "false", describe(t, l, "prod", id).Properties["gc.enabled"])
	})
}

// TestCloneKeepsTargetHistory: cloning into a table that exists keeps the table's own snapshots reachable (time
// travel, each with its own schema) and their files safe from clean-up.
func TestCloneKeepsTargetHistory(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "prod", "dev")
		id := lake.Ident{Zone: "clean", Name: "orders"}
		p0 := write(t, l, "prod", id, 0, 100, lake.WriteOptions{CreateIfMissing: true}).SnapshotID
		d0 := write(t, l, "dev", id, 0, 7, lake.WriteOptions{CreateIfMissing: true}).SnapshotID
		col := stringColumn(3, "web")
		defer col.Release()
		extra := extraBatch(7, 3, "channel", arrow.BinaryTypes.String, col)
		defer extra.Release()
		dres, err := l.Write(ctx, "dev", id, extra, lake.WriteOptions{})
		require.NoError(t, err)
		d1 := dres.SnapshotID
		devFiles := plan(t, l, "dev", id, d1).Files
		before := describe(t, l, "dev", id)

		res, err := l.CloneWith(ctx, "prod", id, p0, "dev", lake.CloneOptions{})
		require.NoError(t, err)
		require.Regexp(t, `^pre-clone-\d{8}T\d{6}\.\d{3}Z$`, res.KeptTag)
		require.Empty(t, res.Dropped)
		after := describe(t, l, "dev", id)
		require.Equal(t, before.UUID, after.UUID, "the table keeps its identity")
		require.Equal(t, p0, after.CurrentSnapshotID)
		require.Len(t, after.Snapshots, 3)
		require.Contains(t, after.Refs, lake.Ref{Name: res.KeptTag, Type: "tag", SnapshotID: d1})
		require.EqualValues(t, 100, countRows(t, plan(t, l, "dev", id, 0).Files))

		// Time travel to dev's own snapshots, each with its own schema.
		old := plan(t, l, "dev", id, d1)
		require.EqualValues(t, 10, countRows(t, old.Files))
		require.Len(t, old.Columns, 13)
		require.Equal(t, "channel", old.Columns[12].Name)
		require.EqualValues(t, 7, countRows(t, plan(t, l, "dev", id, d0).Files))
		require.Len(t, plan(t, l, "dev", id, 0).Columns, 12)

		// Clean-ups keep the old snapshots' files: remove-orphans, and expiry (the tag keeps d1's history).
		gc, err := l.RemoveOrphans(ctx, "dev", id, time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.Zero(t, gc.DeletedFiles)
		requireExist(t, devFiles...)
		_, err = l.ExpireSnapshots(ctx, "dev", id, time.Now().Add(time.Hour), 1, nil)
		require.NoError(t, err)
		requireExist(t, devFiles...)
		require.EqualValues(t, 10, countRows(t, plan(t, l, "dev", id, d1).Files))

		// Writes and clones go on as usual; a re-clone of the same snapshot adds no tag.
		d2 := write(t, l, "dev", id, 200, 1, lake.WriteOptions{}).SnapshotID
		require.EqualValues(t, 101, countRows(t, plan(t, l, "dev", id, d2).Files))
		time.Sleep(2 * time.Millisecond) // a distinct tag name
		res, err = l.CloneWith(ctx, "prod", id, p0, "dev", lake.CloneOptions{})
		require.NoError(t, err)
		require.NotEmpty(t, res.KeptTag, "d2 is not in p0's history")
		require.Equal(t, d2, refs(t, l, "dev", id)["tag:"+res.KeptTag])
		res, err = l.CloneWith(ctx, "prod", id, p0, "dev", lake.CloneOptions{})
		require.NoError(t, err)
		require.Empty(t, res.KeptTag, "main is already at p0")

		// Into a branch: main stays; a new table gets no main at all.
		res, err = l.CloneWith(ctx, "dev", id, d1, "prod", lake.CloneOptions{Branch: "staging"})
		require.NoError(t, err)
		require.Empty(t, res.KeptTag)
		require.Equal(t, map[string]int64{"main": p0, "staging": d1}, refs(t, l, "prod", id))
		require.Len(t, plan(t, l, "prod", id, d1).Columns, 13)
		other := lake.Ident{Zone: "raw", Name: "fresh"}
		f0 := write(t, l, "dev", other, 0, 5, lake.WriteOptions{CreateIfMissing: true}).SnapshotID
		_, err = l.CloneWith(ctx, "dev", other, 0, "prod", lake.CloneOptions{Branch: "staging"})
		require.NoError(t, err)
		info := describe(t, l, "prod", other)
		require.Zero(t, info.CurrentSnapshotID)
		require.Equal(t, []lake.Ref{{Name: "staging", Type: "branch", SnapshotID: f0}}, info.Refs)
		require.Equal(t, "false", info.Properties["gc.enabled"])
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
