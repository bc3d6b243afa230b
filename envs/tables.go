package envs

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strata-data/strata/lake"
)

// Resolve returns the read plan for table id as env's readers see it. It is the one resolver of every read
// path (CLI, HTTP, SQL, and every later endpoint), so no reader can see what env's readers must not.
//
// In a dev-kind environment: the latest snapshot, or the one at selects (time travel). In a prod-kind
// environment readers see releases only: no selector gives the current release's pin; at.AsOf gives the pin of
// the release that was current at that instant; at.ID is accepted only if some release of env pinned that
// snapshot for this table. A table or snapshot prod readers cannot see is lake.ErrNotFound (a
// *NotReleasedError when the current release does not pin the table), whether or not it exists in the lake.
func (s *Service) Resolve(ctx context.Context, env string, id lake.Ident, at lake.SnapshotRef) (*lake.Plan, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	loc, err := s.metadataLocation(ctx, env, id)
	if err != nil {
		return nil, err
	}
	return s.resolve(ctx, e, id, at, loc)
}

// resolve is Resolve for an environment already read and the table's current metadata location ("" when the
// catalog does not know the table). Plans come from the plan cache when the metadata has not moved.
func (s *Service) resolve(ctx context.Context, e *Env, id lake.Ident, at lake.SnapshotRef, loc string) (*lake.Plan, error) {
	env := e.Name
	if e.Kind == KindDev {
		return s.plan(ctx, env, id, at, loc)
	}
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if at.ID != 0 || !at.AsOf.IsZero() {
		ref, err := s.releasedRef(ctx, env, id, at)
		if err != nil {
			return nil, err
		}
		return s.plan(ctx, env, id, ref, loc)
	}
	pin, ok, err := pinOf(ctx, s.db.SQL, env, e.CurrentRelease, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &NotReleasedError{Env: env, Table: id, Release: e.CurrentRelease}
	}
	return s.plan(ctx, env, id, lake.SnapshotRef{ID: pin.SnapshotID}, loc)
}

// NotReleasedError reports a table that a prod-kind environment's current release does not pin, so its readers
// do not see it. It matches lake.ErrNotFound.
type NotReleasedError struct {
	Env     string
	Table   lake.Ident
	Release int64 // the current release; 0 when env has none
}

func (e *NotReleasedError) Error() string {
	return fmt.Sprintf("table %s is not in %s's current release%s: %v", e.Table, e.Env, releaseSuffix(e.Release), lake.ErrNotFound)
}

// Unwrap makes the error match lake.ErrNotFound (kind NotFound).
func (e *NotReleasedError) Unwrap() error { return lake.ErrNotFound }

func releaseSuffix(rel int64) string {
	if rel == 0 {
		return " (it has no release yet)"
	}
	return fmt.Sprintf(" (release %d)", rel)
}

func (s *Service) currentPinMap(ctx context.Context, env string) (map[string]Pin, int64, error) {
	cur, err := latestID(ctx, s.db.SQL, env)
	if err != nil {
		return nil, 0, err
	}
	pins, err := loadPins(ctx, s.db.SQL, env, cur)
	if err != nil {
		return nil, 0, err
	}
	m := make(map[string]Pin, len(pins))
	for _, p := range pins {
		m[p.Table] = p
	}
	return m, cur, nil
}

// Tables lists the tables env's readers see (zone "" = all zones): in prod only the current release's tables,
// at their pinned snapshots.
func (s *Service) Tables(ctx context.Context, env, zone string) ([]lake.TableSummary, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	all, err := s.lake.ListTables(ctx, env, zone)
	if err != nil || e.Kind == KindDev {
		return all, err
	}
	pins, _, err := s.currentPinMap(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []lake.TableSummary
	for _, t := range all {
		if p, ok := pins[t.Ident.String()]; ok {
			if t.SnapshotID != p.SnapshotID {
				if t, err = s.pinnedSummary(ctx, env, t, p); err != nil {
					return nil, err
				}
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// pinnedSummary describes table t at pin p instead of at its latest snapshot (from the snapshot summary: no
// manifest is read).
func (s *Service) pinnedSummary(ctx context.Context, env string, t lake.TableSummary, p Pin) (lake.TableSummary, error) {
	t.SnapshotID, t.Rows = p.SnapshotID, p.Rows
	info, err := s.lake.Describe(ctx, env, t.Ident)
	if err != nil {
		return t, err
	}
	for _, snap := range info.Snapshots {
		if snap.ID == p.SnapshotID {
			t.Files, _ = strconv.ParseInt(snap.Summary["total-data-files"], 10, 64)
			t.Bytes, _ = strconv.ParseInt(snap.Summary["total-files-size"], 10, 64)
			t.Updated = snap.Timestamp
		}
	}
	return t, nil
}

// ProtectedSnapshots returns the snapshots of table id in env that any release pins.
func (s *Service) ProtectedSnapshots(ctx context.Context, env string, id lake.Ident) (map[int64]bool, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT DISTINCT snapshot_id FROM strata_release_pins WHERE env = $1 AND table_name = $2`,
		env, id.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var sid int64
		if err := rows.Scan(&sid); err != nil {
			return nil, err
		}
		out[sid] = true
	}
	return out, rows.Err()
}

// Expire removes old snapshots of a table, keeping the newest retainLast, anything newer than olderThan, and every
// snapshot a release pins. Files another environment still references are never deleted. Like Write, Expire
// records its audit entry before it changes anything.
func (s *Service) Expire(ctx context.Context, env string, id lake.Ident, olderThan time.Time, retainLast int, actor string) (*lake.ExpireResult, error) {
	protect, err := s.ProtectedSnapshots(ctx, env, id)
	if err != nil {
		return nil, err
	}
	var res *lake.ExpireResult
	input := map[string]any{"older_than": olderThan.UTC(), "retain_last": retainLast}
	err = s.audited(ctx, actor, env, "table.expire", id.String(), input, func() (any, error) {
		var err error
		res, err = s.lake.ExpireSnapshots(ctx, env, id, olderThan, retainLast, protect)
		return res, err
	})
	if err != nil && res == nil {
		return nil, err
	}
	return res, err
}

// RemoveOrphans deletes the files of table id in env that no snapshot of any environment references and that
// are older than olderThan (see lake.RemoveOrphans). Like Write, it records its audit entry first.
func (s *Service) RemoveOrphans(ctx context.Context, env string, id lake.Ident, olderThan time.Time, actor string) (lake.GCResult, error) {
	if _, err := s.Get(ctx, env); err != nil {
		return lake.GCResult{}, err
	}
	var res lake.GCResult
	input := map[string]any{"older_than": olderThan.UTC()}
	err := s.audited(ctx, actor, env, "table.remove-orphans", id.String(), input, func() (any, error) {
		var err error
		res, err = s.lake.RemoveOrphans(ctx, env, id, olderThan)
		return res, err
	})
	return res, err
}

// Drop removes a table from env. A table pinned by env's current release cannot be dropped: publish a release
// without it first. Like Write, Drop records its audit entry before it changes anything.
func (s *Service) Drop(ctx context.Context, env string, id lake.Ident, force bool, actor string) error {
	if err := s.CheckWrite(ctx, env, force); err != nil {
		return err
	}
	pins, rel, err := s.currentPinMap(ctx, env)
	if err != nil {
		return err
	}
	if _, ok := pins[id.String()]; ok {
		return fmt.Errorf("table %s is in %s's current release %d: %w: publish a release that removes it first",
			id, env, rel, ErrConflict)
	}
	return s.audited(ctx, actor, env, "table.drop", id.String(), map[string]any{"force": force}, func() (any, error) {
		return nil, s.lake.Drop(ctx, env, id)
	})
}

// ParseIdents parses "zone.table" arguments, reporting every bad one.
func ParseIdents(args []string) ([]lake.Ident, error) {
	var out []lake.Ident
	var bad []string
	for _, a := range args {
		id, err := lake.ParseIdent(a)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, id)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
