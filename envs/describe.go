package envs

import (
	"context"

	"github.com/strata-data/strata/lake"
)

// TableView is a table as env's readers see it.
type TableView struct {
	*lake.TableInfo
	// ReadSnapshotID is the snapshot env's readers see (the release pin in prod); ReadRows its row count.
	ReadSnapshotID int64 `json:"read_snapshot_id"`
	ReadRows       int64 `json:"read_rows"`
}

// Describe returns table id as env's readers see it. In a dev-kind environment that is the table as it is. In
// a prod-kind environment it shows nothing readers cannot read: the table must be pinned by the current
// release (as for Resolve); CurrentSnapshotID, Columns, SchemaID and Updated are those of the pinned
// snapshot; Snapshots lists only snapshots some release of env pinned, each with its nearest released
// ancestor as parent; Refs only the Iceberg refs at released snapshots (main, release-N; never the staging
// branch); MetadataLocation, which names the newest (possibly unpublished) metadata file, is empty.
func (s *Service) Describe(ctx context.Context, env string, id lake.Ident) (*TableView, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	plan, err := s.Resolve(ctx, env, id, lake.SnapshotRef{})
	if err != nil {
		return nil, err
	}
	info, err := s.lake.Describe(ctx, env, id)
	if err != nil {
		return nil, err
	}
	v := &TableView{TableInfo: info, ReadSnapshotID: plan.SnapshotID, ReadRows: plan.Rows}
	if e.Kind == KindDev {
		return v, nil
	}
	released, err := s.ProtectedSnapshots(ctx, env, id)
	if err != nil {
		return nil, err
	}
	released[plan.SnapshotID] = true
	info.Snapshots = releasedSnapshots(info.Snapshots, released)
	info.Refs = releasedRefs(info.Refs, released)
	info.CurrentSnapshotID = plan.SnapshotID
	info.Columns = plan.Columns
	info.MetadataLocation = ""
	for _, snap := range info.Snapshots {
		if snap.ID == plan.SnapshotID {
			info.SchemaID, info.Updated = snap.SchemaID, snap.Timestamp
		}
	}
	return v, nil
}

// releasedSnapshots keeps the released snapshots of all (in order) and points each one's parent at its
// nearest released ancestor (0 for none), so no unreleased snapshot id shows.
func releasedSnapshots(all []lake.Snapshot, released map[int64]bool) []lake.Snapshot {
	parent := make(map[int64]int64, len(all))
	for _, snap := range all {
		parent[snap.ID] = snap.ParentID
	}
	out := []lake.Snapshot{}
	for _, snap := range all {
		if !released[snap.ID] {
			continue
		}
		p := snap.ParentID
		for seen := 0; p != 0 && !released[p] && seen < len(all); seen++ {
			p = parent[p]
		}
		if !released[p] {
			p = 0
		}
		snap.ParentID = p
		out = append(out, snap)
	}
	return out
}

// releasedRefs keeps the refs that point at released snapshots (main and the release tags): the staging branch
// and the tags that keep unpublished work reachable name snapshots prod readers must not learn of.
func releasedRefs(all []lake.Ref, released map[int64]bool) []lake.Ref {
	out := []lake.Ref{}
	for _, r := range all {
		if released[r.SnapshotID] {
			out = append(out, r)
		}
	}
	return out
}
