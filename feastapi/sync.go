package feastapi

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/online"
)

// Syncer makes the online store a cache of the offline feature tables: for each environment, the latest row per
// entity of every online view instance's table features.<instance>, at the snapshot that environment's readers
// see (dev: the latest; prod: the current release's pin, so prod serving changes only through a published
// release, and a rollback goes back too).
//
// A snapshot is loaded into its own key space, LoadedSpace(env, instance, snapshot). Which complete space serves
// an instance is recorded in the store itself, in a pointer record (pointer.go) swapped only after the space is
// completely loaded, so:
//   - a starting server serves the recorded spaces at once (Start), without waiting for a load, when each holds
//     the snapshot the environment shows or an earlier one in its history (never rows rolled back meanwhile);
//   - replicas sharing a Redis store follow the same record: a snapshot is loaded by one of them and served by
//     all, each re-reading the records every sync interval (Run);
//   - a superseded space stays readable for Grace before one replica deletes it, so a replica that has not yet
//     re-read the record still answers with the previous values, never NOT_FOUND;
//   - a failed load keeps the previous space served.
type Syncer struct {
	Defs   Definitions
	Envs   *envs.Service
	Engine *engine.Engine
	Store  online.Store
	Log    *slog.Logger
	// Grace is how long a superseded key space stays readable (set it to at least twice the sync interval of
	// every replica; 0 deletes it at once, for a single server in tests).
	Grace time.Duration
	// Now is the clock of grace periods (time.Now when nil).
	Now func() time.Time
	// LoadChunkRows bounds the table rows one load query reads (2,000,000 when 0): a larger table is loaded in
	// chunks of entities, so memory stays bounded.
	LoadChunkRows int64

	mu     sync.RWMutex
	served map[string]loaded // env + "/" + instance
	// kept names, per env + "/" + instance, the served space the pushes were last copied into after it was
	// adopted (serve), so a space is given them once, and again after a failed copy.
	kept map[string]string
	// pushMu is held for reading by pushes writing online (Pushing) and for writing while the served space of
	// an instance changes (serve), so no push reads one served space and writes after another is served.
	pushMu sync.RWMutex
}

// Pushing is called by a push before it reads which space it writes to (Served); it calls the function returned
// once its rows are written. Meanwhile no served space changes: a push is written either before a swap, into the
// plain space that serve copies into the newly served space after the swap, or after it, into that space
// itself. Safe on a nil Syncer.
func (s *Syncer) Pushing() (done func()) {
	if s == nil {
		return func() {}
	}
	s.pushMu.RLock()
	return s.pushMu.RUnlock
}

// serve makes p this replica's served state of (env, name) (adopt) and, when the space it serves is one the
// pushes were not yet copied into since it was adopted, copies them in (keepPushes): a push made while the
// space was loaded (after fill copied the pushes, before the swap) or made on a replica that had not yet
// followed the record went to the previously served space and the plain one only. The copy keeps the newer
// row of each entity, so a pushed row older than the loaded row of its entity does not win.
func (s *Syncer) serve(ctx context.Context, env, name string, p pointer) error {
	key := env + "/" + name
	s.pushMu.Lock() // waits for the pushes in flight: they are in the plain space before the copy reads it
	s.adopt(env, name, p)
	s.pushMu.Unlock()
	s.mu.Lock()
	space, kept := s.served[key].space, s.kept[key]
	if space == "" { // pushes go to the plain space only: a space served again later is given them again
		delete(s.kept, key)
	}
	s.mu.Unlock()
	if space == "" || space == kept {
		return nil
	}
	if err := s.keepPushes(ctx, env, name, space); err != nil {
		return fmt.Errorf("copying the pushes into the served key space %s: %w", space, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.served[key].space == space {
		if s.kept == nil {
			s.kept = map[string]string{}
		}
		s.kept[key] = space
	}
	return nil
}

type loaded struct {
	space    string // "" once the record says the instance is not served
	snapshot int64
	gen      int64
}

// Served returns the key space serving reads for an instance of env, ok false when none is loaded.
func (s *Syncer) Served(env, instance string) (space string, ok bool) {
	if s == nil {
		return "", false
	}
	s.mu.RLock()
	l, ok := s.served[env+"/"+instance]
	s.mu.RUnlock()
	return l.space, ok && l.space != ""
}

// LoadedSpace names the key space holding an instance's rows at one snapshot.
func LoadedSpace(env, instance string, snapshot int64) string {
	return online.Space(env, fmt.Sprintf("%s.s%d", instance, snapshot))
}

// SyncAll syncs every environment; errors of single environments are logged and the first is returned.
func (s *Syncer) SyncAll(ctx context.Context) error {
	return s.eachEnv(ctx, "online sync failed", s.Sync)
}

// Start serves, for every online instance with a table, the space its pointer record names, if that space is
// complete and holds the rows the environment shows or an earlier state of them: what an earlier run or another
// replica loaded is served without waiting for a load. A record naming a snapshot that is not the visible one
// nor one of its ancestors (prod rolled back to an earlier release, or a dev table overwritten by an older
// branch, while every server was down) is not served: the instance answers as before a load (NOT_FOUND) until
// the first load serves the visible snapshot, so rolled-back rows are never served.
func (s *Syncer) Start(ctx context.Context) error {
	return s.eachEnv(ctx, "online start failed", func(ctx context.Context, env string) error {
		_, insts, err := s.instances(ctx, env)
		if err != nil {
			return err
		}
		for _, in := range insts {
			err := s.followIf(ctx, env, in.name, func(p pointer) (bool, error) { return s.earlierOrSame(ctx, env, in, p) })
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// earlierOrSame tells whether the snapshot p records is the one env's readers see of the instance's table (in
// prod the current release's pin) or an ancestor of it (in prod: a released ancestor), i.e. rows a running
// server would still be serving while it loads the visible snapshot.
func (s *Syncer) earlierOrSame(ctx context.Context, env string, in onlineTable, p pointer) (bool, error) {
	if p.Space == "" {
		return true, nil
	}
	view, err := s.Envs.Describe(ctx, env, in.ident)
	if err != nil {
		return false, err
	}
	parent := make(map[int64]int64, len(view.Snapshots))
	for _, snap := range view.Snapshots {
		parent[snap.ID] = snap.ParentID
	}
	for id, steps := view.ReadSnapshotID, 0; id != 0 && steps <= len(parent); id, steps = parent[id], steps+1 {
		if id == p.Snapshot {
			return true, nil
		}
	}
	s.log().Warn("online: the recorded key space holds rows the environment no longer shows (rolled back?): not served until the visible snapshot is loaded",
		"env", env, "table", in.ident.String(), "recorded_snapshot", p.Snapshot, "visible_snapshot", view.ReadSnapshotID)
	return false, nil
}

func (s *Syncer) eachEnv(ctx context.Context, msg string, fn func(context.Context, string) error) error {
	list, err := s.Envs.List(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, e := range list {
		if err := fn(ctx, e.Name); err != nil {
			s.log().Error(msg, "env", e.Name, "err", err.Error())
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Run syncs at once and then every interval (never again when interval is 0) until ctx ends. Between syncs,
// and while a long load runs, it re-reads the pointer record of every served instance each interval, so it
// follows what other replicas load within one interval.
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
	if interval > 0 {
		go s.followLoop(ctx, interval)
	}
	_ = s.SyncAll(ctx)
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.SyncAll(ctx)
		}
	}
}

func (s *Syncer) followLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.RLock()
			keys := make([]string, 0, len(s.served))
			for k := range s.served {
				keys = append(keys, k)
			}
			s.mu.RUnlock()
			for _, k := range keys {
				env, name, _ := strings.Cut(k, "/")
				if err := s.follow(ctx, env, name); err != nil && ctx.Err() == nil {
					s.log().Warn("online: reading a pointer record failed", "env", env, "instance", name, "err", err.Error())
				}
			}
		}
	}
}

var hashSuffix = regexp.MustCompile(`^__p[0-9a-f]{10}$`)

// viewOf returns the online view whose instance table name is, or nil.
func viewOf(views map[string]*features.View, name string) *features.View {
	if v, ok := views[name]; ok {
		if v.Online {
			return v
		}
		return nil
	}
	if i := strings.LastIndex(name, "__p"); i > 0 && hashSuffix.MatchString(name[i:]) {
		if v, ok := views[name[:i]]; ok && v.Online && len(v.Source.Params) > 0 {
			return v
		}
	}
	return nil
}

// onlineTable is one online view instance that has a materialized table.
type onlineTable struct {
	name  string
	view  *features.View
	ident lake.Ident
}

// instances lists env's online view instances that have a materialized table.
func (s *Syncer) instances(ctx context.Context, env string) (*catalog, []onlineTable, error) {
	list, err := s.Defs.List(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	cat := &catalogs{defs: staticDefs(list)}
	c, err := cat.get(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	tables, err := s.Envs.Tables(ctx, env, "features")
	if err != nil {
		return nil, nil, err
	}
	var out []onlineTable
	for _, t := range tables {
		if v := viewOf(c.views, t.Ident.Name); v != nil {
			out = append(out, onlineTable{name: t.Ident.Name, view: v, ident: t.Ident})
		}
	}
	return c, out, nil
}

// Sync loads every online instance table of env whose visible snapshot is not the one its pointer record
// names, and stops serving instances whose table or online view is gone. Each table is loaded on its own: one
// failure keeps that instance's previous space and the others proceed; the errors are returned joined.
func (s *Syncer) Sync(ctx context.Context, env string) error {
	c, insts, err := s.instances(ctx, env)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	var failed []string
	for _, in := range insts {
		keep[in.name] = true
		if err := s.load(ctx, env, c, in.view, in.name); err != nil {
			s.log().Error("online load failed: the previous rows stay served", "env", env, "table", in.ident.String(), "err", err.Error())
			failed = append(failed, fmt.Sprintf("%s: %v", in.ident, err))
		}
	}
	s.unserve(ctx, env, keep)
	if len(failed) > 0 {
		return fmt.Errorf("online sync of %s: %s", env, strings.Join(failed, "; "))
	}
	return nil
}

// load brings one instance's served space to the snapshot env's readers see: it serves the recorded space when
// that is the snapshot's, else serves a retired complete copy of it or loads it, and swaps the record.
func (s *Syncer) load(ctx context.Context, env string, c *catalog, v *features.View, name string) error {
	id := lake.Ident{Zone: "features", Name: name}
	plan, err := s.Envs.Resolve(ctx, env, id, lake.SnapshotRef{})
	if err != nil {
		return err
	}
	want := LoadedSpace(env, name, plan.SnapshotID)
	raw, p, err := s.readPointer(ctx, env, name)
	if err != nil {
		return err
	}
	if p.Space == want {
		if ok, err := s.complete(ctx, want, p.Rows); err != nil {
			return err
		} else if ok {
			if err := s.serve(ctx, env, name, p); err != nil {
				return err
			}
			return s.collect(ctx, env, name)
		}
	}
	r := p.find(want)
	if r != nil && r.Deleting {
		return fmt.Errorf("key space %s is being deleted after its grace period: the next sync loads it again", want)
	}
	rows, reuse := int64(0), false
	if r != nil && r.Complete {
		if reuse, err = s.complete(ctx, want, r.Rows); err != nil {
			return err
		}
		rows = r.Rows
	}
	if !reuse {
		if rows, err = s.fill(ctx, env, c, v, plan, want); err != nil {
			s.retire(ctx, env, name, want)
			return err
		}
	}
	return s.switchTo(ctx, env, name, raw, p, want, plan.SnapshotID, rows, reuse)
}

// fill loads the plan's latest rows per entity into space, with the environment's pushes.
func (s *Syncer) fill(ctx context.Context, env string, c *catalog, v *features.View, plan *lake.Plan, space string) (int64, error) {
	if plan.Rows == 0 {
		return 0, nil
	}
	start := time.Now()
	n, err := s.write(ctx, c, v, plan, space)
	if err != nil {
		return 0, err
	}
	if err := s.keepPushes(ctx, env, plan.Ident.Name, space); err != nil {
		return 0, err
	}
	s.log().Info("online rows loaded", "env", env, "table", plan.Ident.String(), "snapshot", plan.SnapshotID, "entities", n, "took", time.Since(start).String())
	return n, nil
}

// switchTo swaps the record read as raw/p to serve space. When another replica changed the record meanwhile,
// it adopts the other's record if it serves the same space, and retries on the changed record while no
// deletion may have overlapped this replica's load; otherwise the next sync tries again.
func (s *Syncer) switchTo(ctx context.Context, env, name string, raw []byte, p pointer, space string, snapshot, rows int64, reuse bool) error {
	startDeletions := p.Deletions
	for try := 0; try < 3; try++ {
		next, ok, err := s.swapPointer(ctx, env, name, raw, p.serve(space, snapshot, rows, s.now().Add(s.Grace)))
		if err != nil {
			return err
		}
		if ok {
			// serve copies the pushes in again: one made after fill copied them went to the previously served
			// space and the plain one only.
			if err := s.serve(ctx, env, name, next); err != nil {
				return err
			}
			return s.collect(ctx, env, name)
		}
		if raw, p, err = s.readPointer(ctx, env, name); err != nil {
			return err
		}
		if p.Space == space {
			return s.serve(ctx, env, name, p)
		}
		r := p.find(space)
		if reuse && (r == nil || !r.Complete || r.Deleting) || !reuse && (p.Deletions != startDeletions || r != nil && r.Deleting) {
			break
		}
	}
	if !reuse {
		s.retire(ctx, env, name, space)
	}
	return fmt.Errorf("another replica changed the online pointer record of %s while this one loaded it: the next sync tries again", online.Space(env, name))
}

// keepPushes carries rows pushed in a dev-kind environment over to a newly loaded space: pushes are kept in
// the plain online.Space(env, name) too, and copied in here, newer wins, so a pushed row is served until the
// table has a newer row for its entity. Rows of the previous snapshot are not carried over. Prod-kind
// environments take no pushes.
func (s *Syncer) keepPushes(ctx context.Context, env, name, space string) error {
	e, err := s.Envs.Get(ctx, env)
	if err != nil || e.Kind != envs.KindDev {
		return err
	}
	return s.Store.Copy(ctx, online.Space(env, name), space)
}

// write computes the latest row per entity of the plan's snapshot and writes it into space.
func (s *Syncer) write(ctx context.Context, c *catalog, v *features.View, plan *lake.Plan, space string) (int64, error) {
	keys, err := c.joinKeys(v)
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, col := range plan.Columns {
		have[col.Name] = true
	}
	var cols, keyCols []string
	for _, k := range keys {
		if !have[k.Name] {
			return 0, fmt.Errorf("the table lacks join key %s of view %s: materialize it again", k.Name, v.Name)
		}
		cols, keyCols = append(cols, quote(k.Name)), append(keyCols, quote(k.Name))
	}
	if !have["event_ts"] || !have["created_ts"] {
		return 0, fmt.Errorf("the table lacks event_ts/created_ts: it is not a materialised feature table")
	}
	cols = append(cols, "event_ts", "created_ts")
	for _, f := range v.Features {
		if have[f.Name] { // a feature added since the last materialisation reads as NOT_FOUND until the next
			cols = append(cols, quote(f.Name))
		}
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	// The latest row per entity needs every row of an entity at once: the table is read in chunks of entities
	// (by a hash of the keys), so the engine holds about chunkRows rows at a time, not the whole table.
	chunkRows := s.LoadChunkRows
	if chunkRows <= 0 {
		chunkRows = defaultChunkRows
	}
	chunks := max(1, (plan.Rows+chunkRows-1)/chunkRows)
	var n int64
	for i := int64(0); i < chunks; i++ {
		where := ""
		if chunks > 1 {
			where = fmt.Sprintf(" WHERE hash(%s) %% %d = %d", strings.Join(keyCols, ", "), chunks, i)
		}
		q := "SELECT " + strings.Join(cols, ", ") + " FROM features." + quote(plan.Ident.Name) + where +
			" QUALIFY row_number() OVER (PARTITION BY " + strings.Join(keyCols, ", ") + " ORDER BY event_ts DESC, created_ts DESC NULLS LAST) = 1" +
			" ORDER BY " + strings.Join(keyCols, ", ") // in key order, a B-tree store (bbolt) appends instead of splitting pages at random
		rows, err := s.writeQuery(ctx, q, plan, space, names)
		if err != nil {
			return 0, err
		}
		n += rows
	}
	return n, nil
}

// defaultChunkRows is the table rows one load query reads (Syncer.LoadChunkRows).
const defaultChunkRows = 2_000_000

func (s *Syncer) writeQuery(ctx context.Context, q string, plan *lake.Plan, space string, keys []string) (int64, error) {
	res, err := s.Engine.Query(ctx, q, []engine.Table{envs.EngineTable(plan)})
	if err != nil {
		return 0, err
	}
	defer res.Close()
	// The space is new (named after the snapshot, served by nobody until the record is swapped) and the query
	// gives one row per entity, the latest: the store's bulk fill, without a "newer wins" check per key.
	// Replicas loading the same snapshot at once write the same rows; each copies the pushes in after its own
	// fill (keepPushes), so a pushed row another replica's copy put there and this fill overwrote is back
	// before this replica swaps the record.
	if err := s.Store.Fill(ctx, space, keys, res); err != nil {
		return 0, err
	}
	return res.Rows(), nil
}

// unserve stops serving env's instances that are not in keep: their records are swapped to serve nothing, and
// their spaces retired (deleted after the grace period).
func (s *Syncer) unserve(ctx context.Context, env string, keep map[string]bool) {
	var drop []string
	s.mu.RLock()
	for k, l := range s.served {
		e, name, _ := strings.Cut(k, "/")
		if e == env && !keep[name] && l.space != "" {
			drop = append(drop, name)
		}
	}
	s.mu.RUnlock()
	sort.Strings(drop)
	for _, name := range drop {
		if err := s.switchOff(ctx, env, name); err != nil {
			s.log().Warn("online: unserving an instance failed", "env", env, "instance", name, "err", err.Error())
		}
	}
}

func (s *Syncer) switchOff(ctx context.Context, env, name string) error {
	for try := 0; try < 3; try++ {
		raw, p, err := s.readPointer(ctx, env, name)
		if err != nil {
			return err
		}
		next := p
		if p.Space != "" {
			next = p.serve("", 0, 0, s.now().Add(s.Grace))
			var ok bool
			if next, ok, err = s.swapPointer(ctx, env, name, raw, next); err != nil {
				return err
			} else if !ok {
				continue
			}
		}
		if err := s.serve(ctx, env, name, next); err != nil {
			return err
		}
		return s.collect(ctx, env, name)
	}
	return fmt.Errorf("the pointer record kept changing")
}

func (s *Syncer) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Syncer) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// staticDefs serves an already listed set of definitions.
type staticDefs []features.Def

func (d staticDefs) List(context.Context, string) ([]features.Def, error) { return d, nil }
