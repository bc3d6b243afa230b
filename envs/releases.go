package envs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// ErrNothingToPublish is returned by Publish when the new release would pin exactly what the current one pins
// (no table has a newer snapshot, none was added or removed, and the model versions given, if any, are the ones
// the current release records). Nothing is published; PublishOptions.AllowEmpty
// publishes anyway. Its kind is Conflict (HTTP 409); the CLI reports it and exits 0, so a scheduled job whose
// run changed nothing does not fail.
var ErrNothingToPublish = errs.New(errs.Conflict, "nothing to publish")

// Release is an immutable set of table pins of one environment.
type Release struct {
	Env       string            `json:"env"`
	ID        int64             `json:"id"`
	CreatedMs int64             `json:"created_ms"`
	Actor     string            `json:"actor"`
	Note      string            `json:"note"`
	Parent    int64             `json:"parent"`
	Source    map[string]string `json:"source,omitempty"`
	Pins      []Pin             `json:"pins"`
	Models    []ModelPin        `json:"models,omitempty"`
	Current   bool              `json:"current"`
}

// Pin fixes one table at one snapshot.
type Pin struct {
	Table      string `json:"table"`
	SnapshotID int64  `json:"snapshot_id"`
	Rows       int64  `json:"rows"`
}

// ModelPin records which model version an alias pointed to when a release was published.
type ModelPin struct {
	Model   string `json:"model"`
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// PublishOptions describes a publish.
type PublishOptions struct {
	Actor string
	Note  string
	// Source records what produced the release (pipeline run, definitions version, code revision).
	Source map[string]string
	// Models are alias → version pins to record with the release.
	Models []ModelPin
	// Remove drops these tables' pins from the new release (the rest of the previous release is carried over).
	Remove []lake.Ident
	// AllowEmpty publishes a release even when it would pin exactly what the current release pins.
	AllowEmpty bool
}

// Publish pins the newest snapshot of tables (all tables of env when empty) as a new release of env, in one
// transaction. A table's newest snapshot is the head of its staging branch when that holds unpublished writes,
// else the head of main (lake.PublishCandidate). When tables are named, the previous release's other pins are
// carried over unchanged; when none are named, the release is exactly the environment's current set of tables.
// When the release would equal the current one, nothing is published and the error wraps ErrNothingToPublish
// (unless opts.AllowEmpty).
//
// After the transaction, every pinned table's Iceberg refs are moved to the new release (SyncRefs): main to its
// pin, tag release-<id>. If that fails, the release stands (Strata's readers see it) and the error says that
// other engines still see the previous release; the next Publish or Rollback repairs the refs. Hook points:
// "release:before-commit" (inside the transaction), "release:pins-committed" (refs not yet moved).
func (s *Service) Publish(ctx context.Context, env string, tables []lake.Ident, opts PublishOptions) (*Release, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	if e.Kind != KindProd {
		return nil, fmt.Errorf("environment %s is a dev environment: %w: its readers always see the latest snapshots; releases apply to prod environments", env, ErrInvalid)
	}
	current, _, err := s.currentPinMap(ctx, env)
	if err != nil {
		return nil, err
	}
	incremental := len(tables) > 0 || len(opts.Remove) > 0
	var pins []Pin
	if !incremental || len(tables) > 0 {
		if pins, err = s.candidatePins(ctx, env, tables, current); err != nil {
			return nil, err
		}
	}
	if !incremental && len(pins) == 0 {
		return nil, fmt.Errorf("environment %s has no tables with data to publish: %w: import or write a table first", env, ErrInvalid)
	}
	var rel *Release
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		prev, err := latestID(ctx, tx, env)
		if err != nil {
			return err
		}
		old, err := loadPins(ctx, tx, env, prev)
		if err != nil {
			return err
		}
		merged := pins
		if incremental {
			if merged, err = removePins(mergePins(old, pins), opts.Remove); err != nil {
				return err
			}
		}
		if len(merged) == 0 {
			return fmt.Errorf("the new release of %s would pin no table: %w", env, ErrInvalid)
		}
		unchanged, err := s.sameRelease(ctx, tx, env, prev, merged, old, opts.Models)
		if err != nil {
			return err
		}
		if unchanged && !opts.AllowEmpty {
			return fmt.Errorf("%w: %s release %d already pins the newest snapshot of %s", ErrNothingToPublish, env, prev,
				tableNames(merged))
		}
		rel = &Release{Env: env, ID: prev + 1, CreatedMs: meta.NowMillis(), Actor: opts.Actor, Note: opts.Note,
			Parent: prev, Source: opts.Source, Pins: merged, Models: opts.Models, Current: true}
		if err := insertRelease(ctx, tx, rel); err != nil {
			return err
		}
		if err := audit(ctx, tx, opts.Actor, env, "release.publish", fmt.Sprintf("release %d", rel.ID), rel.Pins); err != nil {
			return err
		}
		s.hook("release:before-commit")
		return nil
	})
	if errors.Is(err, ErrNothingToPublish) {
		// Nothing new; still complete the refs of the current release (an earlier publish may have crashed).
		if serr := s.SyncRefs(ctx, env); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	s.hook("release:pins-committed")
	if err := s.SyncRefs(ctx, env); err != nil {
		return rel, refsError(env, rel.ID, err)
	}
	return rel, nil
}

// sameRelease reports whether a new release with pins and models would say what release prev (with pins old)
// says. Models count only when given: a publish without them records none, as before.
func (s *Service) sameRelease(ctx context.Context, tx *sql.Tx, env string, prev int64, pins, old []Pin, models []ModelPin) (bool, error) {
	if prev == 0 || !pinsEqual(pins, old) {
		return false, nil
	}
	if len(models) == 0 {
		return true, nil
	}
	oldModels, err := loadModels(ctx, tx, env, prev)
	if err != nil {
		return false, err
	}
	given := append([]ModelPin(nil), models...)
	sort.Slice(given, func(i, j int) bool {
		return given[i].Model < given[j].Model || given[i].Model == given[j].Model && given[i].Alias < given[j].Alias
	})
	return slices.Equal(given, oldModels), nil
}

// candidatePins reads the snapshot a publish pins for each named table (all tables when none are named, skipping
// those without any snapshot): see lake.PublishCandidate. current holds the current release's pins.
func (s *Service) candidatePins(ctx context.Context, env string, tables []lake.Ident, current map[string]Pin) ([]Pin, error) {
	all := len(tables) == 0
	if all {
		list, err := s.lake.ListTables(ctx, env, "")
		if err != nil {
			return nil, err
		}
		for _, t := range list {
			tables = append(tables, t.Ident)
		}
	}
	var pins []Pin
	for _, id := range sortedIdents(tables) {
		old, pinned := current[id.String()]
		sid, err := s.lake.PublishCandidate(ctx, env, id, old.SnapshotID, StagingBranch)
		switch {
		case err != nil:
			return nil, err
		case sid == 0 && all:
			continue
		case sid == 0:
			return nil, fmt.Errorf("table %s in %s has no snapshot yet: %w: write data before publishing it", id, env, ErrInvalid)
		case pinned && sid == old.SnapshotID:
			pins = append(pins, old)
			continue
		}
		p, err := s.lake.Plan(ctx, env, id, lake.SnapshotRef{ID: sid})
		if err != nil {
			return nil, err
		}
		pins = append(pins, Pin{Table: id.String(), SnapshotID: p.SnapshotID, Rows: p.Rows})
	}
	return pins, nil
}

func mergePins(old, updates []Pin) []Pin {
	byTable := map[string]Pin{}
	for _, p := range old {
		byTable[p.Table] = p
	}
	for _, p := range updates {
		byTable[p.Table] = p
	}
	out := make([]Pin, 0, len(byTable))
	for _, p := range byTable {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}

func removePins(pins []Pin, remove []lake.Ident) ([]Pin, error) {
	for _, id := range remove {
		i := 0
		for i < len(pins) && pins[i].Table != id.String() {
			i++
		}
		if i == len(pins) {
			return nil, fmt.Errorf("table %s is not pinned by the current release: %w: nothing to remove", id, ErrInvalid)
		}
		pins = append(pins[:i:i], pins[i+1:]...)
	}
	return pins, nil
}

func insertRelease(ctx context.Context, tx *sql.Tx, r *Release) error {
	src, err := json.Marshal(r.Source)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO strata_releases (env, id, created_ms, actor, note, parent, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.Env, r.ID, r.CreatedMs, r.Actor, r.Note, r.Parent, string(src)); err != nil {
		return err
	}
	for _, p := range r.Pins {
		if _, err := tx.ExecContext(ctx, `INSERT INTO strata_release_pins (env, release_id, table_name, snapshot_id, row_count)
			VALUES ($1, $2, $3, $4, $5)`, r.Env, r.ID, p.Table, p.SnapshotID, p.Rows); err != nil {
			return err
		}
	}
	for _, m := range r.Models {
		if _, err := tx.ExecContext(ctx, `INSERT INTO strata_release_models (env, release_id, model_name, alias, version)
			VALUES ($1, $2, $3, $4, $5)`, r.Env, r.ID, m.Model, m.Alias, m.Version); err != nil {
			return err
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func latestID(ctx context.Context, q querier, env string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM strata_releases WHERE env = $1`, env).Scan(&id)
	return id, err
}

func loadPins(ctx context.Context, q querier, env string, id int64) ([]Pin, error) {
	rows, err := q.QueryContext(ctx, `SELECT table_name, snapshot_id, row_count FROM strata_release_pins
		WHERE env = $1 AND release_id = $2 ORDER BY table_name`, env, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pin
	for rows.Next() {
		var p Pin
		if err := rows.Scan(&p.Table, &p.SnapshotID, &p.Rows); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func loadModels(ctx context.Context, q querier, env string, id int64) ([]ModelPin, error) {
	rows, err := q.QueryContext(ctx, `SELECT model_name, alias, version FROM strata_release_models
		WHERE env = $1 AND release_id = $2 ORDER BY model_name, alias`, env, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ModelPin
	for rows.Next() {
		var m ModelPin
		if err := rows.Scan(&m.Model, &m.Alias, &m.Version); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Releases lists env's releases, newest first, without pins.
func (s *Service) Releases(ctx context.Context, env string) ([]Release, error) {
	if _, err := s.Get(ctx, env); err != nil {
		return nil, err
	}
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT r.id, r.created_ms, r.actor, r.note, r.parent, r.source,
		(SELECT count(*) FROM strata_release_pins p WHERE p.env = r.env AND p.release_id = r.id)
		FROM strata_releases r WHERE r.env = $1 ORDER BY r.id DESC`, env)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Release
	for rows.Next() {
		r := Release{Env: env}
		var src string
		var n int
		if err := rows.Scan(&r.ID, &r.CreatedMs, &r.Actor, &r.Note, &r.Parent, &src, &n); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(src), &r.Source)
		r.Pins = make([]Pin, n) // count only; Release() loads them
		r.Current = len(out) == 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// Release returns one release with its pins; id 0 is the current release.
func (s *Service) Release(ctx context.Context, env string, id int64) (*Release, error) {
	if _, err := s.Get(ctx, env); err != nil {
		return nil, err
	}
	cur, err := latestID(ctx, s.db.SQL, env)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		id = cur
	}
	if id == 0 {
		return nil, fmt.Errorf("environment %s has no release yet: %w", env, ErrNotFound)
	}
	r := &Release{Env: env, ID: id, Current: id == cur}
	var src string
	err = s.db.SQL.QueryRowContext(ctx, `SELECT created_ms, actor, note, parent, source FROM strata_releases WHERE env = $1 AND id = $2`,
		env, id).Scan(&r.CreatedMs, &r.Actor, &r.Note, &r.Parent, &src)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("release %d of %s: %w (the current release is %d)", id, env, ErrNotFound, cur)
	}
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(src), &r.Source)
	if r.Pins, err = loadPins(ctx, s.db.SQL, env, id); err != nil {
		return nil, err
	}
	if r.Models, err = loadModels(ctx, s.db.SQL, env, id); err != nil {
		return nil, err
	}
	return r, nil
}

// PinChange is one line of a release diff.
type PinChange struct {
	Table string `json:"table"`
	// Change is "added", "removed" or "changed".
	Change string `json:"change"`
	From   *Pin   `json:"from,omitempty"`
	To     *Pin   `json:"to,omitempty"`
}

// Diff compares two releases of env (to = 0: the current release).
func (s *Service) Diff(ctx context.Context, env string, from, to int64) ([]PinChange, error) {
	a, err := s.Release(ctx, env, from)
	if err != nil {
		return nil, err
	}
	b, err := s.Release(ctx, env, to)
	if err != nil {
		return nil, err
	}
	old := map[string]Pin{}
	for _, p := range a.Pins {
		old[p.Table] = p
	}
	var out []PinChange
	for _, p := range b.Pins {
		p := p
		o, ok := old[p.Table]
		delete(old, p.Table)
		switch {
		case !ok:
			out = append(out, PinChange{Table: p.Table, Change: "added", To: &p})
		case o.SnapshotID != p.SnapshotID:
			out = append(out, PinChange{Table: p.Table, Change: "changed", From: &o, To: &p})
		}
	}
	for _, o := range old {
		o := o
		out = append(out, PinChange{Table: o.Table, Change: "removed", From: &o})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out, nil
}

// Rollback publishes a new release whose pins equal release to's. The pinned snapshots must still exist. Like
// Publish, it then moves the Iceberg refs (main back to release to's pins, tag release-<new id>); a staging branch
// with unpublished writes is left as it is (the next publish pins it). Hook point: "rollback:pins-committed".
func (s *Service) Rollback(ctx context.Context, env string, to int64, actor string) (*Release, error) {
	target, err := s.Release(ctx, env, to)
	if err != nil {
		return nil, err
	}
	for _, p := range target.Pins {
		id, err := lake.ParseIdent(p.Table)
		if err != nil {
			return nil, err
		}
		if _, err := s.lake.Plan(ctx, env, id, lake.SnapshotRef{ID: p.SnapshotID}); err != nil {
			return nil, fmt.Errorf("cannot roll back to release %d: %w", to, err)
		}
	}
	var rel *Release
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		prev, err := latestID(ctx, tx, env)
		if err != nil {
			return err
		}
		rel = &Release{Env: env, ID: prev + 1, CreatedMs: meta.NowMillis(), Actor: actor,
			Note: fmt.Sprintf("rollback to release %d", to), Parent: prev,
			Source: map[string]string{"rollback_of": fmt.Sprint(to)}, Pins: target.Pins, Models: target.Models, Current: true}
		if err := insertRelease(ctx, tx, rel); err != nil {
			return err
		}
		return audit(ctx, tx, actor, env, "release.rollback", fmt.Sprintf("release %d", rel.ID), map[string]any{"to": to})
	})
	if err != nil {
		return nil, err
	}
	s.hook("rollback:pins-committed")
	if err := s.SyncRefs(ctx, env); err != nil {
		return rel, refsError(env, rel.ID, err)
	}
	return rel, nil
}
