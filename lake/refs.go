package lake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Refs. Iceberg names snapshots with refs: branches, which writes advance (main is the one other engines read
// by default), and tags, which stay where they are put. Other engines (Spark, PyIceberg, Trino) read a table's
// main branch, and `VERSION AS OF '<tag or branch>'` reads a ref by name. Strata's releases are kept in the
// metadata database; PublishRefs makes the Iceberg refs say the same thing, so every engine sees a prod
// environment as its current release (see package envs).

// Ref is a named pointer to a snapshot of a table.
type Ref struct {
	Name       string `json:"name"`
	Type       string `json:"type"` // "branch" or "tag"
	SnapshotID int64  `json:"snapshot_id"`
}

// unpublishedPrefix names the branch that keeps a write which landed on main directly (Spark, or Strata before
// writes were staged) reachable when main is moved back to a release pin and the staging branch holds other work.
const unpublishedPrefix = "unpublished-"

// validateRefName checks a branch or tag name: non-empty, printable, no spaces or slashes at the ends.
func validateRefName(name string) error {
	if name == "" || len(name) > maxNameLen || strings.TrimSpace(name) != name ||
		strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: branch or tag name %q: use letters, digits, '-', '_' or '.', at most %d characters",
			ErrInvalid, name, maxNameLen)
	}
	return nil
}

func refOf(md table.Metadata, name string) (table.SnapshotRef, bool) {
	for n, r := range md.Refs() {
		if n == name {
			return r, true
		}
	}
	return table.SnapshotRef{}, false
}

// refsOf lists md's refs sorted by name.
func refsOf(md table.Metadata) []Ref {
	var out []Ref
	for n, r := range md.Refs() {
		out = append(out, Ref{Name: n, Type: string(r.SnapshotRefType), SnapshotID: r.SnapshotID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// inHistory reports whether snapshot sid is head or one of head's ancestors.
func inHistory(md table.Metadata, sid, head int64) bool {
	seen := map[int64]bool{}
	for s := md.SnapshotByID(head); s != nil && !seen[s.SnapshotID]; {
		if s.SnapshotID == sid {
			return true
		}
		seen[s.SnapshotID] = true
		if s.ParentSnapshotID == nil {
			return false
		}
		s = md.SnapshotByID(*s.ParentSnapshotID)
	}
	return false
}

// headID is the snapshot a ref points at, 0 when there is no such ref.
func headID(md table.Metadata, name string) int64 {
	if r, ok := refOf(md, name); ok {
		return r.SnapshotID
	}
	return 0
}

// PublishCandidate returns the snapshot a publish of env/id pins next, given published, the snapshot the
// current release pins (0 = none), and the staging branch that prod writes go to:
//   - the staging branch's head when it holds writes that published lacks;
//   - else main's head when main holds writes that published lacks (a write that went to main directly,
//     e.g. from Spark);
//   - when both do, the one whose history contains the other's head, else the one committed later (the other
//     stays on its ref);
//   - else published itself (nothing new; 0 when the table has no snapshot at all).
func (l *Lake) PublishCandidate(ctx context.Context, env string, id Ident, published int64, staging string) (int64, error) {
	if err := id.Validate(); err != nil {
		return 0, err
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return 0, err
	}
	t, err := l.loadTable(ctx, c, id)
	if err != nil {
		return 0, err
	}
	md := t.Metadata()
	main, staged := headID(md, table.MainBranch), int64(0)
	if staging != "" {
		staged = headID(md, staging)
	}
	ahead := func(head int64) bool { return head != 0 && head != published && !inHistory(md, head, published) }
	switch sw, mw := ahead(staged), ahead(main); {
	case sw && mw:
		if inHistory(md, main, staged) {
			return staged, nil
		}
		if inHistory(md, staged, main) {
			return main, nil
		}
		if md.SnapshotByID(staged).TimestampMs >= md.SnapshotByID(main).TimestampMs {
			return staged, nil
		}
		return main, nil
	case sw:
		return staged, nil
	case mw:
		return main, nil
	case published != 0:
		return published, nil
	}
	return max(main, staged), nil
}

// PublishedRefs is what a release says about one table's refs (see PublishRefs).
type PublishedRefs struct {
	// Main is the snapshot the main branch must point at; 0 leaves main alone (a table the current release
	// does not pin).
	Main int64
	// Tags must point at these snapshots (created, or moved when they point elsewhere). Other tags are kept.
	Tags map[string]int64
	// Staging is the branch staged writes go to; "" for none. It is removed once main contains its work.
	Staging string
}

// RefsResult says what PublishRefs changed.
type RefsResult struct {
	Changed bool     `json:"changed"`
	Set     []string `json:"set,omitempty"`     // refs created or moved
	Removed []string `json:"removed,omitempty"` // refs removed (a staging branch whose work is published)
	// Kept names the branch that now keeps main's former head reachable: a write that landed on main directly
	// and was never published. It is the staging branch when that holds no other work, else unpublished-<id>.
	Kept string `json:"kept,omitempty"`
	// Missing lists asked-for snapshots the table no longer has; their refs were left unchanged.
	Missing []int64 `json:"missing,omitempty"`
}

// PublishRefs makes env/id's Iceberg refs say what a release says, in one catalog commit, retried when another
// writer commits in between:
//   - main points at want.Main; if main's former head would become unreachable from every ref (a write that
//     went to main directly and was never published), it is kept on the staging branch, or on a branch
//     unpublished-<snapshot id> when the staging branch holds other work — nothing becomes unreachable;
//   - every tag of want.Tags points at its snapshot;
//   - the staging branch is removed when its head is main's new head or an ancestor of it;
//   - the table carries gc.enabled=false, since a release pins its snapshots (another engine must not expire
//     and delete them; only Strata's ExpireSnapshots, which keeps pinned snapshots, may).
//
// It is idempotent: when the refs already say it, nothing is committed. Safe to call concurrently with
// Writes (serialised in this process, compare-and-swap on the refs across processes).
func (l *Lake) PublishRefs(ctx context.Context, env string, id Ident, want PublishedRefs) (*RefsResult, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	for name := range want.Tags {
		if err := validateRefName(name); err != nil {
			return nil, err
		}
	}
	if want.Staging != "" {
		if err := validateRefName(want.Staging); err != nil {
			return nil, err
		}
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
	ident := table.Identifier{id.Zone, id.Name}
	for attempt := 0; ; attempt++ {
		t, err := l.loadTable(ctx, c, id)
		if err != nil {
			return nil, err
		}
		md := t.Metadata()
		res, updates := planRefs(md, want)
		if len(updates) == 0 {
			return res, nil
		}
		reqs := []table.Requirement{table.AssertTableUUID(md.TableUUID()), assertRef(md, table.MainBranch)}
		if want.Staging != "" {
			reqs = append(reqs, assertRef(md, want.Staging))
		}
		newMeta, _, err := c.CommitTable(ctx, ident, reqs, updates)
		if err == nil {
			if fsys, ferr := t.FS(ctx); ferr == nil {
				deleteDroppedMetadata(fsys, md, newMeta)
			}
			res.Changed = true
			return res, nil
		}
		if !errors.Is(err, table.ErrCommitFailed) || attempt >= catalogRetries {
			return nil, l.tableError(ctx, env, id, err)
		}
		if err := sleepCtx(ctx, time.Duration(10*(attempt+1))*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// assertRef requires ref name to be where md has it (or absent, as in md).
func assertRef(md table.Metadata, name string) table.Requirement {
	if r, ok := refOf(md, name); ok {
		sid := r.SnapshotID
		return table.AssertRefSnapshotID(name, &sid)
	}
	return table.AssertRefSnapshotID(name, nil)
}

// planRefs computes the updates that make md's refs say want (see PublishRefs).
func planRefs(md table.Metadata, want PublishedRefs) (*RefsResult, []table.Update) {
	res := &RefsResult{}
	cur := map[string]table.SnapshotRef{}
	for n, r := range md.Refs() {
		cur[n] = r
	}
	next := map[string]table.SnapshotRef{}
	for n, r := range cur {
		next[n] = r
	}
	exists := func(sid int64) bool {
		if md.SnapshotByID(sid) != nil {
			return true
		}
		res.Missing = append(res.Missing, sid)
		return false
	}
	for _, name := range sortedKeys(want.Tags) {
		if sid := want.Tags[name]; exists(sid) {
			next[name] = table.SnapshotRef{SnapshotID: sid, SnapshotRefType: table.TagRef}
		}
	}
	if want.Main != 0 && exists(want.Main) {
		old, had := cur[table.MainBranch]
		next[table.MainBranch] = table.SnapshotRef{SnapshotID: want.Main, SnapshotRefType: table.BranchRef}
		if had && old.SnapshotID != want.Main && !reachable(md, old.SnapshotID, next) {
			res.Kept = keepBranch(md, old.SnapshotID, want.Staging, next)
			next[res.Kept] = table.SnapshotRef{SnapshotID: old.SnapshotID, SnapshotRefType: table.BranchRef}
		}
	}
	if st, ok := next[want.Staging]; want.Staging != "" && ok {
		if m, ok := next[table.MainBranch]; ok && inHistory(md, st.SnapshotID, m.SnapshotID) {
			delete(next, want.Staging)
		}
	}
	var updates []table.Update
	for _, name := range sortedKeys(next) {
		r := next[name]
		if o, ok := cur[name]; ok && o.SnapshotID == r.SnapshotID && o.SnapshotRefType == r.SnapshotRefType {
			continue
		}
		if o, ok := cur[name]; ok && o.SnapshotRefType != r.SnapshotRefType {
			updates = append(updates, table.NewRemoveSnapshotRefUpdate(name))
		}
		updates = append(updates, table.NewSetSnapshotRefUpdate(name, r.SnapshotID, r.SnapshotRefType, 0, 0, 0))
		res.Set = append(res.Set, name)
	}
	for _, name := range sortedKeys(cur) {
		if _, ok := next[name]; !ok {
			updates = append(updates, table.NewRemoveSnapshotRefUpdate(name))
			res.Removed = append(res.Removed, name)
		}
	}
	if md.Properties()[gcEnabledKey] != "false" {
		updates = append(updates, table.NewSetPropertiesUpdate(iceberg.Properties{gcEnabledKey: "false"}))
	}
	return res, updates
}

// keepBranch picks the branch that keeps sid (main's former head) reachable: the staging branch when it is
// absent or sid contains its work, else unpublished-<sid>.
func keepBranch(md table.Metadata, sid int64, staging string, refs map[string]table.SnapshotRef) string {
	if staging != "" {
		st, ok := refs[staging]
		if !ok || inHistory(md, st.SnapshotID, sid) {
			return staging
		}
	}
	return unpublishedPrefix + strconv.FormatInt(sid, 10)
}

// reachable reports whether sid is the head or an ancestor of the head of any of refs.
func reachable(md table.Metadata, sid int64, refs map[string]table.SnapshotRef) bool {
	for _, r := range refs {
		if inHistory(md, sid, r.SnapshotID) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
