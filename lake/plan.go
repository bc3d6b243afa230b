package lake

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/iceberg-go/table"
)

// SnapshotRef selects a snapshot: by ID, or the one current at AsOf. Neither set means the current snapshot.
type SnapshotRef struct {
	ID   int64     // 0 = not by id
	AsOf time.Time // zero = not by time
}

// Plan is what a reader needs to read one snapshot of a table: its data files and its schema.
type Plan struct {
	Ident      Ident
	SnapshotID int64    // 0 for a table without snapshots (Files is then empty)
	Files      []string // local absolute paths of the Parquet data files, each once
	Columns    []Column // the snapshot's schema; files carry the field ids, match columns by FieldID
	Rows       int64
}

// Plan lists the data files of a snapshot of env/id. Readers must match columns by field id (files written
// before a column was added or renamed have the old layout). The plan stays valid while the snapshot exists;
// ExpireSnapshots may delete the files of an expired snapshot.
//
// AsOf follows the table's snapshot log (Iceberg's history), which an expiry truncates: it reaches back to
// the first snapshot after the newest expired one. Older snapshots kept by ExpireSnapshots' protect set are
// read by ID.
//
// Errors: ErrNotFound for an unknown environment, zone, table or snapshot (or no snapshot at AsOf); ErrInvalid
// when both ID and AsOf are set, or when the snapshot has delete files (merge-on-read, which Strata does not
// write and its readers do not apply).
func (l *Lake) Plan(ctx context.Context, env string, id Ident, at SnapshotRef) (*Plan, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if at.ID != 0 && !at.AsOf.IsZero() {
		return nil, fmt.Errorf("%w: select a snapshot by id or by time, not both", ErrInvalid)
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return nil, err
	}
	t, err := l.loadTable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	snap, err := pickSnapshot(t, at)
	if err != nil {
		return nil, fmt.Errorf("table %q in environment %q: %w", id.String(), env, err)
	}
	p := &Plan{Ident: id, Columns: columns(t.Schema())}
	if snap == nil {
		return p, nil
	}
	p.SnapshotID = snap.SnapshotID
	if snap.SchemaID != nil {
		if sc, ok := t.Schemas()[*snap.SchemaID]; ok {
			p.Columns = columns(sc)
		}
	}
	if err := planFiles(ctx, t, snap.SnapshotID, p); err != nil {
		return nil, fmt.Errorf("table %q in environment %q: %w", id.String(), env, err)
	}
	return p, nil
}

// pickSnapshot resolves at against t; nil without error means the table has no snapshot yet.
func pickSnapshot(t *table.Table, at SnapshotRef) (*table.Snapshot, error) {
	switch {
	case at.ID != 0:
		if s := t.SnapshotByID(at.ID); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("snapshot %d: %w (it never existed or was expired; see the table's snapshot list)", at.ID, ErrNotFound)
	case !at.AsOf.IsZero():
		if s := t.SnapshotAsOf(at.AsOf.UnixMilli(), true); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("no snapshot as of %s: %w (the table's history starts later or was expired)",
			at.AsOf.UTC().Format(time.RFC3339Nano), ErrNotFound)
	}
	return t.CurrentSnapshot(), nil
}

func planFiles(ctx context.Context, t *table.Table, snapshotID int64, p *Plan) error {
	tasks, err := t.Scan(table.WithSnapshotID(snapshotID)).PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("plan files of snapshot %d: %w", snapshotID, err)
	}
	seen := map[string]bool{}
	for _, task := range tasks {
		if n := len(task.DeleteFiles) + len(task.EqualityDeleteFiles) + len(task.DeletionVectorFiles); n > 0 {
			return fmt.Errorf("%w: snapshot %d has %d delete file(s) (merge-on-read); Strata reads copy-on-write "+
				"tables only: set write.delete.mode, write.update.mode and write.merge.mode to copy-on-write in the "+
				"engine that wrote them and rewrite the table", ErrInvalid, snapshotID, n)
		}
		path := task.File.FilePath()
		if seen[path] {
			continue
		}
		seen[path] = true
		local, ok := localPath(path)
		if !ok {
			return fmt.Errorf("%w: data file %s is not on the local file system", ErrInvalid, path)
		}
		p.Files = append(p.Files, local)
		p.Rows += task.File.Count()
	}
	return nil
}
