package lake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// ExpireResult describes what ExpireSnapshots removed.
type ExpireResult struct {
	Expired []int64 // snapshot ids removed from the table's metadata
	GCResult
}

// catalogRetries bounds the refresh-and-retry loops of ExpireSnapshots and Drop.
const catalogRetries = 8

// ExpireSnapshots removes the snapshots of env/id taken before olderThan, except the current one, the newest
// retainLast of the current history (at least 1), the heads of branches and tags, and the ids in protect
// (snapshots pinned by releases). A zero olderThan expires nothing.
//
// Then it deletes the manifest lists, manifests and data files of the expired snapshots that NO snapshot of
// ANY table in ANY environment references (a clone elsewhere may share them). iceberg-go's own file deletion is
// not used: it only knows this table. The catalog commit happens first; if the file clean-up cannot run (a
// table's metadata is unreadable), the snapshots stay expired, every file is kept, and an error says why.
//
// Concurrency: serialised with Writes to the same table in this process; a commit by another process in
// between is detected and the expiry recomputed.
func (l *Lake) ExpireSnapshots(ctx context.Context, env string, id Ident, olderThan time.Time, retainLast int, protect map[int64]bool) (*ExpireResult, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return nil, err
	}
	unlock, err := l.lockTable(ctx, env, id)
	if err != nil {
		return nil, err
	}
	defer unlock()

	base, expired, newMeta, err := l.commitExpiry(ctx, c, id, olderThan, retainLast, protect)
	if err != nil {
		return nil, err
	}
	if len(expired) == 0 {
		return &ExpireResult{}, nil
	}
	l.Hook("expire:committed")
	fsys, err := base.FS(ctx)
	if err != nil {
		return nil, err
	}
	deleteDroppedMetadata(fsys, base.Metadata(), newMeta)
	candidates, seen := fileSet{}, fileSet{}
	for _, sid := range expired {
		if s := base.Metadata().SnapshotByID(sid); s != nil {
			if err := snapshotFiles(fsys, *s, false, seen, candidates); err != nil {
				return &ExpireResult{Expired: expired}, fmt.Errorf("table %q in environment %q: snapshots expired, "+
					"files kept: %w", id.String(), env, err)
			}
		}
	}
	gc, err := l.collect(ctx, candidates)
	res := &ExpireResult{Expired: expired, GCResult: gc}
	if err != nil {
		return res, fmt.Errorf("table %q in environment %q: snapshots expired, files kept: %w", id.String(), env, err)
	}
	return res, nil
}

// commitExpiry removes the expirable snapshots in one catalog commit, retrying on concurrent commits. It
// returns the table as it was before the commit, the removed ids and the new metadata.
func (l *Lake) commitExpiry(ctx context.Context, c *catalog, id Ident, olderThan time.Time, retainLast int,
	protect map[int64]bool) (*table.Table, []int64, table.Metadata, error) {
	ident := table.Identifier{id.Zone, id.Name}
	for attempt := 0; ; attempt++ {
		t, err := l.loadTable(ctx, c, id)
		if err != nil {
			return nil, nil, nil, err
		}
		md := t.Metadata()
		expired := expirable(md, olderThan, retainLast, protect)
		if len(expired) == 0 {
			return t, nil, nil, nil
		}
		cur := md.CurrentSnapshot().SnapshotID
		reqs := []table.Requirement{table.AssertTableUUID(md.TableUUID()), table.AssertRefSnapshotID(table.MainBranch, &cur)}
		newMeta, _, err := c.CommitTable(ctx, ident, reqs, []table.Update{table.NewRemoveSnapshotsUpdate(expired, false)})
		if err == nil {
			return t, expired, newMeta, nil
		}
		if !errors.Is(err, table.ErrCommitFailed) || attempt >= catalogRetries {
			return nil, nil, nil, l.tableError(ctx, c.env, id, err)
		}
		if err := sleepCtx(ctx, time.Duration(10*(attempt+1))*time.Millisecond); err != nil {
			return nil, nil, nil, err
		}
	}
}

// expirable lists the snapshots of md that ExpireSnapshots removes.
func expirable(md table.Metadata, olderThan time.Time, retainLast int, protect map[int64]bool) []int64 {
	cur := md.CurrentSnapshot()
	if cur == nil || olderThan.IsZero() {
		return nil
	}
	keep := map[int64]bool{}
	for sid, p := range protect {
		keep[sid] = p
	}
	for _, ref := range md.Refs() {
		keep[ref.SnapshotID] = true
	}
	for n, s := 0, cur; s != nil && n < max(retainLast, 1); n++ {
		keep[s.SnapshotID] = true
		if s.ParentSnapshotID == nil {
			break
		}
		s = md.SnapshotByID(*s.ParentSnapshotID)
	}
	cutoff := olderThan.UnixMilli()
	var out []int64
	for _, s := range md.Snapshots() {
		if !keep[s.SnapshotID] && s.TimestampMs < cutoff {
			out = append(out, s.SnapshotID)
		}
	}
	return out
}

// deleteDroppedMetadata removes the metadata files that fell out of the metadata log with this commit (what
// iceberg-go does after its own commits when write.metadata.delete-after-commit.enabled is set).
func deleteDroppedMetadata(fsys icebergio.IO, base, updated table.Metadata) {
	if !updated.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, false) {
		return
	}
	var kept []string
	for e := range updated.PreviousFiles() {
		kept = append(kept, e.MetadataFile)
	}
	for e := range base.PreviousFiles() {
		if !slices.Contains(kept, e.MetadataFile) {
			_ = fsys.Remove(e.MetadataFile)
		}
	}
}

// Drop removes env/id from the catalog, then deletes its metadata files and every manifest and data file of
// its snapshots that no snapshot of any other table in any environment references (clones keep theirs). If
// the clean-up cannot prove a file unused, the table stays dropped, the files are kept and an error says so.
func (l *Lake) Drop(ctx context.Context, env string, id Ident) error {
	if err := id.Validate(); err != nil {
		return err
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return err
	}
	unlock, err := l.lockTable(ctx, env, id)
	if err != nil {
		return err
	}
	defer unlock()

	t, err := l.unregister(ctx, c, id)
	if err != nil {
		return err
	}
	l.Hook("drop:unregistered")
	candidates, seen := fileSet{}, fileSet{}
	candidates.add(t.MetadataLocation())
	for e := range t.Metadata().PreviousFiles() {
		candidates.add(e.MetadataFile)
	}
	fsys, err := t.FS(ctx)
	if err == nil {
		for _, s := range t.Metadata().Snapshots() {
			if err = snapshotFiles(fsys, s, false, seen, candidates); err != nil {
				break
			}
		}
	}
	if err == nil {
		_, err = l.collect(ctx, candidates)
	}
	if err != nil {
		return fmt.Errorf("table %q in environment %q dropped, but its files were kept: %w", id.String(), env, err)
	}
	return nil
}

// unregister removes the catalog entry of env/id if it still points at the metadata just loaded, so the files
// collected afterwards are exactly those of the dropped state.
func (l *Lake) unregister(ctx context.Context, c *catalog, id Ident) (*table.Table, error) {
	for attempt := 0; ; attempt++ {
		t, err := l.loadTable(ctx, c, id)
		if err != nil {
			return nil, err
		}
		removed, err := l.unregisterIfUnchanged(ctx, c.env, id, t.MetadataLocation())
		if err != nil {
			return nil, fmt.Errorf("drop table %q in environment %q: %w", id.String(), c.env, err)
		}
		if removed {
			return t, nil
		}
		if attempt >= catalogRetries {
			return nil, fmt.Errorf("drop table %q in environment %q: %w: it keeps changing (retry)", id.String(), c.env, ErrConflict)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}
