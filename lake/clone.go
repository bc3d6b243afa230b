package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Clone gives dstEnv a zero-copy copy of srcEnv's table id at snapshot snapshotID (0 = the current one); it is
// CloneWith with default options (the clone lands on main).
func (l *Lake) Clone(ctx context.Context, srcEnv string, id Ident, snapshotID int64, dstEnv string) error {
	_, err := l.CloneWith(ctx, srcEnv, id, snapshotID, dstEnv, CloneOptions{})
	return err
}

// CloneOptions tune CloneWith.
type CloneOptions struct {
	// Branch is the branch of the destination table that points at the cloned snapshot; "" means main. A prod
	// environment clones onto its staging branch, so the clone is published like any other staged write.
	Branch string
	// Force replaces a destination table whose history cannot be kept next to the source's (different format
	// versions, or partition specs or snapshot ids that clash): its snapshots then become unreachable, and
	// RemoveOrphans may delete their files. Without Force such a clone fails with ErrConflict naming them.
	Force bool
}

// CloneResult describes a clone.
type CloneResult struct {
	SnapshotID int64 `json:"snapshot_id"`
	// KeptTag is the tag (pre-clone-<UTC time>) that keeps the destination branch's former head reachable when
	// the clone moved the branch away from it; "" when there was nothing to keep.
	KeptTag string `json:"kept_tag,omitempty"`
	// Dropped lists the destination's snapshots that a Force clone made unreachable.
	Dropped []int64 `json:"dropped,omitempty"`
}

// CloneWith gives dstEnv a zero-copy copy of srcEnv's table id at snapshot snapshotID (0 = the current one): the
// destination table's branch opts.Branch (main by default) points at that snapshot, with its history (its
// ancestors), sharing the data and manifest files. Its metadata file and every later write land in dstEnv's own
// directory, so writes on either side never change the other. The zone must exist in dstEnv.
//
// An existing destination table keeps its identity (UUID), its refs and all its snapshots: they stay next to
// the cloned ones in its metadata, so time travel to them still works and no clean-up deletes their files. If
// the moved branch's former head would no longer be reachable from any ref, a tag pre-clone-<time> keeps it.
// When the two histories cannot live in one table (see CloneOptions.Force), the clone fails with ErrConflict,
// unless opts.Force replaces the table.
//
// Both tables get gc.enabled=false: they share files, which other engines must not delete.
//
// Files shared by a clone are protected: ExpireSnapshots and Drop on either side delete only files that no
// table of any environment references. Within one process Clone is serialised with those clean-ups; across
// processes, a clone of a snapshot that is being expired at the same moment can lose the race (the clone then
// fails its final check or, in a narrower window, references deleted files).
func (l *Lake) CloneWith(ctx context.Context, srcEnv string, id Ident, snapshotID int64, dstEnv string, opts CloneOptions) (*CloneResult, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	branch := opts.Branch
	if branch == "" {
		branch = table.MainBranch
	}
	if err := validateRefName(branch); err != nil {
		return nil, err
	}
	if srcEnv == dstEnv {
		return nil, fmt.Errorf("%w: clone %s: source and destination environment are both %q", ErrInvalid, id, srcEnv)
	}
	src, err := l.existingCatalog(ctx, srcEnv)
	if err != nil {
		return nil, err
	}
	dst, err := l.existingCatalog(ctx, dstEnv)
	if err != nil {
		return nil, err
	}
	if ok, err := l.zoneExists(ctx, dstEnv, id.Zone); err != nil {
		return nil, err
	} else if !ok {
		return nil, l.zoneNotFound(ctx, dstEnv, id.Zone)
	}
	t, err := l.protectSource(ctx, src, id)
	if err != nil {
		return nil, err
	}
	snap, err := cloneSnapshot(t, snapshotID)
	if err != nil {
		return nil, fmt.Errorf("clone table %q of environment %q: %w", id.String(), srcEnv, err)
	}

	unlock, err := l.lockTable(ctx, dstEnv, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	l.gcMu.Lock()
	defer l.gcMu.Unlock()

	origin := srcEnv + "." + id.String() + "@" + strconv.FormatInt(snap.SnapshotID, 10)
	for attempt := 0; ; attempt++ {
		res, err := l.cloneOnce(ctx, dst, id, t.Metadata(), snap, branch, origin, opts.Force)
		if !errors.Is(err, errCloneRace) {
			return res, err
		}
		if attempt >= catalogRetries {
			return nil, fmt.Errorf("clone table %q into environment %q: %w: the table keeps changing (retry)", id.String(), dstEnv, ErrConflict)
		}
	}
}

// errCloneRace: the destination table changed between reading it and swapping in the clone's metadata.
var errCloneRace = errors.New("destination changed during the clone")

// cloneOnce writes the clone's metadata file and swaps it into the catalog.
func (l *Lake) cloneOnce(ctx context.Context, dst *catalog, id Ident, src table.Metadata, snap *table.Snapshot,
	branch, origin string, force bool) (*CloneResult, error) {
	res := &CloneResult{SnapshotID: snap.SnapshotID}
	dir := l.tableDir(dst.env, id)
	old, err := dst.LoadTable(ctx, table.Identifier{id.Zone, id.Name})
	if err != nil && !errors.Is(err, icecat.ErrNoSuchTable) {
		return nil, l.tableError(ctx, dst.env, id, err)
	}
	var body []byte
	if old != nil {
		body, res.KeptTag, err = mergeCloneMetadata(old.Metadata(), old.MetadataLocation(), src, snap, branch, origin)
		var nm notMergeable
		if errors.As(err, &nm) {
			if !force {
				return nil, fmt.Errorf("clone table %q into environment %q: %w: %d snapshot(s) of the existing table (%s) "+
					"would become unreachable, because %s; replacing the table anyway needs force",
					id.String(), dst.env, ErrConflict, len(old.Metadata().Snapshots()), snapshotList(old.Metadata()), nm.reason)
			}
			res.Dropped = droppedBy(old.Metadata(), snap, src)
			body, err = cloneMetadata(src, snap, fileURL(dir), origin, branch)
		}
	} else {
		body, err = cloneMetadata(src, snap, fileURL(dir), origin, branch)
	}
	if err != nil {
		return nil, fmt.Errorf("clone table %q: %w", id.String(), err)
	}
	metaPath := filepath.Join(dir, "metadata", "00000-"+uuid.NewString()+".metadata.json")
	if old != nil {
		if p, ok := localPath(old.MetadataLocation()); ok {
			metaPath = filepath.Join(filepath.Dir(p), fmt.Sprintf("%05d-%s.metadata.json", metadataVersion(p)+1, uuid.NewString()))
		}
	}
	if err := os.MkdirAll(filepath.Dir(metaPath), 0o755); err != nil {
		return nil, fmt.Errorf("clone table %q: %w", id.String(), err)
	}
	if err := os.WriteFile(metaPath, body, 0o644); err != nil {
		return nil, fmt.Errorf("clone table %q: write metadata: %w", id.String(), err)
	}
	l.Hook("clone:metadata-written")
	if old == nil {
		err = l.registerTable(ctx, dst.env, id, fileURL(metaPath))
	} else {
		err = l.swapTable(ctx, dst.env, id, old.MetadataLocation(), fileURL(metaPath))
	}
	if err != nil {
		_ = os.Remove(metaPath)
		if errors.Is(err, errCloneRace) {
			return nil, err
		}
		return nil, fmt.Errorf("clone table %q into environment %q: %w", id.String(), dst.env, err)
	}
	// A collection in another process may have deleted the snapshot's files before the registration.
	if p, ok := localPath(snap.ManifestList); ok {
		if _, err := os.Stat(p); err != nil {
			_, _ = l.unregisterIfUnchanged(context.WithoutCancel(ctx), dst.env, id, fileURL(metaPath))
			return nil, fmt.Errorf("clone table %q: %w: snapshot %d was expired while cloning", id.String(), ErrConflict, snap.SnapshotID)
		}
	}
	return res, nil
}

// protectSource loads the source table and makes sure it carries gc.enabled=false before its files are shared.
func (l *Lake) protectSource(ctx context.Context, c *catalog, id Ident) (*table.Table, error) {
	unlock, err := l.lockTable(ctx, c.env, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for attempt := 0; ; attempt++ {
		t, err := l.loadTable(ctx, c, id)
		if err != nil || t.Properties()[gcEnabledKey] == "false" {
			return t, err
		}
		_, _, err = c.CommitTable(ctx, table.Identifier{id.Zone, id.Name},
			[]table.Requirement{table.AssertTableUUID(t.Metadata().TableUUID())},
			[]table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{gcEnabledKey: "false"})})
		if err != nil && (!errors.Is(err, table.ErrCommitFailed) || attempt >= catalogRetries) {
			return nil, l.tableError(ctx, c.env, id, err)
		}
	}
}

// metadataVersion reads the version prefix of a metadata file name (00003-<uuid>.metadata.json → 3).
func metadataVersion(path string) int {
	n, _ := strconv.Atoi(strings.SplitN(filepath.Base(path), "-", 2)[0])
	return n
}

func snapshotList(md table.Metadata) string {
	var ids []string
	for _, s := range md.Snapshots() {
		ids = append(ids, strconv.FormatInt(s.SnapshotID, 10))
	}
	if len(ids) > 5 {
		ids = append(ids[len(ids)-5:], "…")
		ids = append([]string{"newest:"}, ids...)
	}
	return strings.Join(ids, " ")
}

// droppedBy lists the snapshots of old that a replacing clone at snap does not carry over.
func droppedBy(old table.Metadata, snap *table.Snapshot, src table.Metadata) []int64 {
	keep := map[int64]bool{}
	for _, s := range ancestry(src, snap) {
		keep[s.SnapshotID] = true
	}
	var out []int64
	for _, s := range old.Snapshots() {
		if !keep[s.SnapshotID] {
			out = append(out, s.SnapshotID)
		}
	}
	return out
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

// ancestry returns snap and its ancestors in md, oldest first.
func ancestry(md table.Metadata, snap *table.Snapshot) []table.Snapshot {
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
	return snaps
}

// cloneProperties are the source's properties without its locations, marked with the clone's origin and
// protected from other engines' file deletion.
func cloneProperties(md table.Metadata, origin string) map[string]string {
	props := map[string]string{}
	for k, v := range md.Properties() {
		props[k] = v
	}
	for _, k := range locationProps {
		delete(props, k)
	}
	props["strata.cloned-from"] = origin
	props[gcEnabledKey] = "false"
	return props
}

// cloneMetadata derives the metadata of a new clone from the source metadata: new UUID and location, branch at
// snap, only snap and its ancestors, the snapshot's schema current, an empty metadata log (so the clone's metadata
// clean-up never touches the source's files) and no statistics files (they live with the source). The snapshot
// log (main's history) is the source's up to snap when the clone lands on main, else empty: main does not exist.
func cloneMetadata(md table.Metadata, snap *table.Snapshot, location, origin, branch string) ([]byte, error) {
	m, err := rawMetadata(md)
	if err != nil {
		return nil, err
	}
	snaps := ancestry(md, snap)
	keep := map[int64]bool{}
	for _, s := range snaps {
		keep[s.SnapshotID] = true
	}
	var snapLog []table.SnapshotLogEntry
	current := any(snap.SnapshotID)
	if branch == table.MainBranch {
		for e := range md.SnapshotLogs() {
			if keep[e.SnapshotID] && e.TimestampMs <= snap.TimestampMs {
				snapLog = append(snapLog, e)
			}
		}
	} else {
		current = -1
	}
	set := map[string]any{
		"location":             location,
		"table-uuid":           uuid.NewString(),
		"last-updated-ms":      time.Now().UnixMilli(),
		"current-snapshot-id":  current,
		"refs":                 map[string]any{branch: map[string]any{"snapshot-id": snap.SnapshotID, "type": "branch"}},
		"snapshots":            snaps,
		"snapshot-log":         orEmpty(snapLog),
		"metadata-log":         []any{},
		"statistics":           []any{},
		"partition-statistics": []any{},
		"properties":           cloneProperties(md, origin),
	}
	if snap.SchemaID != nil {
		set["current-schema-id"] = *snap.SchemaID
	}
	return m.with(set)
}

// rawMeta is a metadata document as JSON members, to derive new metadata from an existing one field by field.
type rawMeta map[string]json.RawMessage

func rawMetadata(md table.Metadata) (rawMeta, error) {
	raw, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	var m rawMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// with returns the document with members set (replacing them), validated by parsing it.
func (m rawMeta) with(set map[string]any) ([]byte, error) {
	out := rawMeta{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if _, err := table.ParseMetadataBytes(body); err != nil {
		return nil, fmt.Errorf("derive clone metadata: %w", err)
	}
	return body, nil
}

// objects decodes the array member key into generic objects (numbers kept exact: snapshot ids exceed 2^53).
func (m rawMeta) objects(key string) ([]map[string]any, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("metadata member %s: %w", key, err)
	}
	return out, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
