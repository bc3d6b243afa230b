package lake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/iceberg-go/table"
)

// notMergeable says why an existing destination table's history cannot be kept next to a clone's.
type notMergeable struct{ reason string }

func (e notMergeable) Error() string { return e.reason }

// preCloneTag names the tag that keeps a destination branch's former head reachable after a clone.
func preCloneTag(now time.Time) string {
	return "pre-clone-" + now.UTC().Format("20060102T150405.000Z")
}

// mergeCloneMetadata derives the metadata of a clone of src at snap into the existing table dst (whose current
// metadata file is dstLoc): dst's identity (UUID, location), refs, snapshots, snapshot and metadata logs and
// statistics, plus snap and its ancestors with the source's schemas and specs; branch points at snap. dst's
// schemas that the source lacks get fresh ids (its snapshots are renumbered to match), so time travel to them
// reads each with its own schema. It returns the pre-clone tag it added ("" if none was needed), or a
// notMergeable error when the two histories cannot share one table.
func mergeCloneMetadata(dst table.Metadata, dstLoc string, src table.Metadata, snap *table.Snapshot, branch, origin string) ([]byte, string, error) {
	if src.Version() != 2 || dst.Version() != 2 {
		return nil, "", notMergeable{fmt.Sprintf("the tables have format versions %d and %d (histories are merged for "+
			"version 2 only)", dst.Version(), src.Version())}
	}
	srcRaw, err := rawMetadata(src)
	if err != nil {
		return nil, "", err
	}
	dstRaw, err := rawMetadata(dst)
	if err != nil {
		return nil, "", err
	}
	chain := ancestry(src, snap)
	inChain := map[int64]bool{}
	for _, s := range chain {
		inChain[s.SnapshotID] = true
		if d := dst.SnapshotByID(s.SnapshotID); d != nil && d.ManifestList != s.ManifestList {
			return nil, "", notMergeable{fmt.Sprintf("snapshot id %d names different snapshots in the two tables", s.SnapshotID)}
		}
	}
	specs, err := mergeSpecs(srcRaw, dstRaw, src, dst)
	if err != nil {
		return nil, "", err
	}
	orders, err := mergeSortOrders(srcRaw, dstRaw, src, dst)
	if err != nil {
		return nil, "", err
	}
	schemas, remap, err := mergeSchemas(srcRaw, dstRaw, src, dst)
	if err != nil {
		return nil, "", err
	}
	snaps, err := mergeSnapshots(srcRaw, dstRaw, inChain, remap)
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	refs, kept, err := mergeRefs(dstRaw, dst, snap.SnapshotID, branch, inChain, now)
	if err != nil {
		return nil, "", err
	}
	current := any(-1)
	if m, ok := refs[table.MainBranch]; ok {
		current = m["snapshot-id"]
	}
	snapLog := orEmpty(logOf(dst))
	if branch == table.MainBranch {
		snapLog = append(snapLog, table.SnapshotLogEntry{SnapshotID: snap.SnapshotID, TimestampMs: now.UnixMilli()})
	}
	metaLog := []table.MetadataLogEntry{}
	for e := range dst.PreviousFiles() {
		metaLog = append(metaLog, e)
	}
	metaLog = append(metaLog, table.MetadataLogEntry{MetadataFile: dstLoc, TimestampMs: dst.LastUpdatedMillis()})
	set := map[string]any{
		"table-uuid":           dst.TableUUID().String(),
		"location":             dst.Location(),
		"last-updated-ms":      now.UnixMilli(),
		"last-column-id":       max(src.LastColumnID(), dst.LastColumnID()),
		"last-sequence-number": max(src.LastSequenceNumber(), dst.LastSequenceNumber()),
		"schemas":              schemas,
		"partition-specs":      specs,
		"sort-orders":          orders,
		"snapshots":            snaps,
		"refs":                 refs,
		"current-snapshot-id":  current,
		"snapshot-log":         snapLog,
		"metadata-log":         metaLog,
		"statistics":           rawOr(dstRaw, "statistics"),
		"partition-statistics": rawOr(dstRaw, "partition-statistics"),
		"properties":           cloneProperties(src, origin),
	}
	if a, b := src.LastPartitionSpecID(), dst.LastPartitionSpecID(); a != nil && b != nil {
		set["last-partition-id"] = max(*a, *b)
	}
	if snap.SchemaID != nil {
		set["current-schema-id"] = *snap.SchemaID
	}
	body, err := srcRaw.with(set)
	return body, kept, err
}

func logOf(md table.Metadata) []table.SnapshotLogEntry {
	var out []table.SnapshotLogEntry
	for e := range md.SnapshotLogs() {
		out = append(out, e)
	}
	return out
}

func rawOr(m rawMeta, key string) json.RawMessage {
	if v, ok := m[key]; ok && string(v) != "null" {
		return v
	}
	return json.RawMessage("[]")
}

// idOf reads an integer member of a generic object.
func idOf(o map[string]any, key string) (int64, bool) {
	n, ok := o[key].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// mergeSpecs keeps the source's partition specs and adds dst's other ones; a spec id with different fields
// in the two tables cannot be merged (manifests name their spec by id).
func mergeSpecs(srcRaw, dstRaw rawMeta, src, dst table.Metadata) ([]map[string]any, error) {
	out, err := srcRaw.objects("partition-specs")
	if err != nil {
		return nil, err
	}
	dstObjs, err := dstRaw.objects("partition-specs")
	if err != nil {
		return nil, err
	}
	byID := objectsByID(dstObjs, "spec-id")
	for _, ds := range dst.PartitionSpecs() {
		found := false
		for _, ss := range src.PartitionSpecs() {
			if ss.ID() == ds.ID() {
				found = true
				if !ss.Equals(ds) {
					return nil, notMergeable{fmt.Sprintf("partition spec %d differs between the two tables", ds.ID())}
				}
			}
		}
		if o, ok := byID[int64(ds.ID())]; !found && ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// objectsByID indexes generic objects by their integer member key.
func objectsByID(objs []map[string]any, key string) map[int64]map[string]any {
	out := map[int64]map[string]any{}
	for _, o := range objs {
		if id, ok := idOf(o, key); ok {
			out[id] = o
		}
	}
	return out
}

// mergeSortOrders keeps the source's sort orders and adds dst's whose ids are free (a sort order only guides
// writers; dst's clashing ones are dropped).
func mergeSortOrders(srcRaw, dstRaw rawMeta, src, dst table.Metadata) ([]map[string]any, error) {
	out, err := srcRaw.objects("sort-orders")
	if err != nil {
		return nil, err
	}
	dstObjs, err := dstRaw.objects("sort-orders")
	if err != nil {
		return nil, err
	}
	taken := map[int]bool{}
	for _, so := range src.SortOrders() {
		taken[so.OrderID()] = true
	}
	byID := objectsByID(dstObjs, "order-id")
	for _, do := range dst.SortOrders() {
		if o, ok := byID[int64(do.OrderID())]; ok && !taken[do.OrderID()] {
			out = append(out, o)
		}
	}
	return out, nil
}

// mergeSchemas keeps the source's schemas (with their ids) and adds each dst schema the source lacks under a
// fresh id. remap maps dst schema ids to the ids they have in the merged table.
func mergeSchemas(srcRaw, dstRaw rawMeta, src, dst table.Metadata) ([]map[string]any, map[int64]int64, error) {
	out, err := srcRaw.objects("schemas")
	if err != nil {
		return nil, nil, err
	}
	dstObjs, err := dstRaw.objects("schemas")
	if err != nil {
		return nil, nil, err
	}
	next := 0
	for _, s := range src.Schemas() {
		next = max(next, s.ID+1)
	}
	remap := map[int64]int64{}
	byID := objectsByID(dstObjs, "schema-id")
	for _, ds := range dst.Schemas() {
		mapped := -1
		for _, ss := range src.Schemas() {
			if ss.Equals(ds) && (mapped < 0 || ss.ID == ds.ID) {
				mapped = ss.ID
			}
		}
		if mapped < 0 {
			obj, ok := byID[int64(ds.ID)]
			if !ok {
				return nil, nil, fmt.Errorf("schema %d of the destination table is not in its metadata document", ds.ID)
			}
			mapped = next
			next++
			obj["schema-id"] = mapped
			out = append(out, obj)
		}
		remap[int64(ds.ID)] = int64(mapped)
	}
	return out, remap, nil
}

// mergeSnapshots returns the source's snapshots in the clone's chain and every dst snapshot not among them, with
// dst's schema ids renumbered.
func mergeSnapshots(srcRaw, dstRaw rawMeta, inChain map[int64]bool, remap map[int64]int64) ([]map[string]any, error) {
	srcObjs, err := srcRaw.objects("snapshots")
	if err != nil {
		return nil, err
	}
	dstObjs, err := dstRaw.objects("snapshots")
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, o := range srcObjs {
		if id, ok := idOf(o, "snapshot-id"); ok && inChain[id] {
			out = append(out, o)
		}
	}
	for _, o := range dstObjs {
		if id, ok := idOf(o, "snapshot-id"); ok && inChain[id] {
			continue
		}
		if sid, ok := idOf(o, "schema-id"); ok {
			if to, ok := remap[sid]; ok {
				o["schema-id"] = to
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// mergeRefs keeps dst's refs, points branch at sid, and tags branch's former head pre-clone-<time> when no ref
// would reach it any more.
func mergeRefs(dstRaw rawMeta, dst table.Metadata, sid int64, branch string, inChain map[int64]bool, now time.Time) (map[string]map[string]any, string, error) {
	refs := map[string]map[string]any{}
	if raw, ok := dstRaw["refs"]; ok && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&refs); err != nil {
			return nil, "", fmt.Errorf("metadata member refs: %w", err)
		}
	}
	refs[branch] = map[string]any{"snapshot-id": sid, "type": "branch"}
	old := headID(dst, branch)
	if old == 0 || inChain[old] {
		return refs, "", nil
	}
	for n, r := range dst.Refs() {
		if n != branch && inHistory(dst, old, r.SnapshotID) {
			return refs, "", nil
		}
	}
	tag := preCloneTag(now)
	refs[tag] = map[string]any{"snapshot-id": old, "type": "tag"}
	return refs, tag, nil
}
