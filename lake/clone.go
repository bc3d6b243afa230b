package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Clone gives dstEnv a zero-copy copy of srcEnv's table id at snapshot snapshotID (0 = the current one): a new
// table of the same name whose current snapshot is that snapshot, with its history (its ancestors), sharing the
// data and manifest files. Its metadata file and every later write land in dstEnv's own directory, so writes
// on either side never change the other. An existing dst table is replaced in one catalog transaction; its
// files are not deleted. The zone must exist in dstEnv.
//
// Files shared by a clone are protected: ExpireSnapshots and Drop on either side delete only files that no
// table of any environment references. Within one process Clone is serialised with those clean-ups; across
// processes, a clone of a snapshot that is being expired at the same moment can lose the race (the clone then
// fails its final check or, in a narrower window, references deleted files).
func (l *Lake) Clone(ctx context.Context, srcEnv string, id Ident, snapshotID int64, dstEnv string) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if srcEnv == dstEnv {
		return fmt.Errorf("%w: clone %s: source and destination environment are both %q", ErrInvalid, id, srcEnv)
	}
	src, err := l.existingCatalog(ctx, srcEnv)
	if err != nil {
		return err
	}
	if _, err := l.existingCatalog(ctx, dstEnv); err != nil {
		return err
	}
	if ok, err := l.zoneExists(ctx, dstEnv, id.Zone); err != nil {
		return err
	} else if !ok {
		return l.zoneNotFound(ctx, dstEnv, id.Zone)
	}
	t, err := l.loadTable(ctx, src, id)
	if err != nil {
		return err
	}
	snap, err := cloneSnapshot(t, snapshotID)
	if err != nil {
		return fmt.Errorf("clone table %q of environment %q: %w", id.String(), srcEnv, err)
	}

	unlock, err := l.lockTable(ctx, dstEnv, id)
	if err != nil {
		return err
	}
	defer unlock()
	l.gcMu.Lock()
	defer l.gcMu.Unlock()

	dir := l.tableDir(dstEnv, id)
	origin := srcEnv + "." + id.String() + "@" + strconv.FormatInt(snap.SnapshotID, 10)
	body, err := cloneMetadata(t.Metadata(), snap, fileURL(dir), origin)
	if err != nil {
		return fmt.Errorf("clone table %q of environment %q: %w", id.String(), srcEnv, err)
	}
	metaPath := filepath.Join(dir, "metadata", "00000-"+uuid.NewString()+".metadata.json")
	if err := os.MkdirAll(filepath.Dir(metaPath), 0o755); err != nil {
		return fmt.Errorf("clone table %q: %w", id.String(), err)
	}
	if err := os.WriteFile(metaPath, body, 0o644); err != nil {
		return fmt.Errorf("clone table %q: write metadata: %w", id.String(), err)
	}
	l.Hook("clone:metadata-written")
	if err := l.registerTable(ctx, dstEnv, id, fileURL(metaPath)); err != nil {
		_ = os.Remove(metaPath)
		return fmt.Errorf("clone table %q into environment %q: %w", id.String(), dstEnv, err)
	}
	// A collection in another process may have deleted the snapshot's files before the registration.
	if p, ok := localPath(snap.ManifestList); ok {
		if _, err := os.Stat(p); err != nil {
			_, _ = l.unregisterIfUnchanged(context.WithoutCancel(ctx), dstEnv, id, fileURL(metaPath))
			return fmt.Errorf("clone table %q: %w: snapshot %d was expired while cloning", id.String(), ErrConflict, snap.SnapshotID)
		}
	}
	return nil
}

func cloneSnapshot(t *table.Table, snapshotID int64) (*table.Snapshot, error) {
	if snapshotID == 0 {
		if s := t.CurrentSnapshot(); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("%w: the table has no snapshot to clone yet", ErrInvalid)
	}
	if s := t.SnapshotByID(snapshotID); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("snapshot %d: %w (it never existed or was expired)", snapshotID, ErrNotFound)
}

// locationProps would send a clone's writes to the source table's directories.
var locationProps = []string{"write.data.path", "write.metadata.path", "write.object-storage.path", "write.folder-storage.path"}

// cloneMetadata derives the metadata of a clone from the source metadata: new UUID and location, main at snap,
// only snap and its ancestors, the snapshot's schema current, an empty metadata log (so the clone's metadata
// clean-up never touches the source's files) and no statistics files (they live with the source).
func cloneMetadata(md table.Metadata, snap *table.Snapshot, location, origin string) ([]byte, error) {
	raw, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	keep := map[int64]bool{}
	var snaps []table.Snapshot
	for s := snap; s != nil && !keep[s.SnapshotID]; {
		keep[s.SnapshotID] = true
		snaps = append([]table.Snapshot{*s}, snaps...)
		if s.ParentSnapshotID == nil {
			break
		}
		s = md.SnapshotByID(*s.ParentSnapshotID)
	}
	var snapLog []table.SnapshotLogEntry
	for e := range md.SnapshotLogs() {
		if keep[e.SnapshotID] && e.TimestampMs <= snap.TimestampMs {
			snapLog = append(snapLog, e)
		}
	}
	props := map[string]string{}
	for k, v := range md.Properties() {
		props[k] = v
	}
	for _, k := range locationProps {
		delete(props, k)
	}
	props["strata.cloned-from"] = origin
	set := map[string]any{
		"location":             location,
		"table-uuid":           uuid.NewString(),
		"last-updated-ms":      time.Now().UnixMilli(),
		"current-snapshot-id":  snap.SnapshotID,
		"refs":                 map[string]any{table.MainBranch: map[string]any{"snapshot-id": snap.SnapshotID, "type": "branch"}},
		"snapshots":            snaps,
		"snapshot-log":         orEmpty(snapLog),
		"metadata-log":         []any{},
		"statistics":           []any{},
		"partition-statistics": []any{},
		"properties":           props,
	}
	if snap.SchemaID != nil {
		set["current-schema-id"] = *snap.SchemaID
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if _, err := table.ParseMetadataBytes(out); err != nil {
		return nil, fmt.Errorf("derive clone metadata: %w", err)
	}
	return out, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
