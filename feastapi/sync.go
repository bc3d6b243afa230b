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
// A snapshot is loaded into its own key space, online.Space(env, "<instance>.s<snapshot id>"), and the served
// space of (env, instance) is switched to it once it is complete; the previous one is then deleted. The name is
// deterministic, so replicas sharing a Redis store reuse a space another replica completed (its last event time
// is the completion marker: the store records it after every row is written). A failed load keeps the previous
// space served.
type Syncer struct {
	Defs   Definitions
	Envs   *envs.Service
	Engine *engine.Engine
	Store  online.Store
	Log    *slog.Logger

	mu     sync.RWMutex
	served map[string]loaded // env + "/" + instance
}

type loaded struct {
	space    string
	snapshot int64
}

// Served returns the key space serving reads for an instance of env, ok false when none is loaded.
func (s *Syncer) Served(env, instance string) (space string, ok bool) {
	if s == nil {
		return "", false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.served[env+"/"+instance]
	return l.space, ok
}

// LoadedSpace names the key space holding an instance's rows at one snapshot.
func LoadedSpace(env, instance string, snapshot int64) string {
	return online.Space(env, fmt.Sprintf("%s.s%d", instance, snapshot))
}

// SyncAll syncs every environment; errors of single environments are logged and the first is returned.
func (s *Syncer) SyncAll(ctx context.Context) error {
	list, err := s.Envs.List(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, e := range list {
		if err := s.Sync(ctx, e.Name); err != nil {
			s.log().Error("online sync failed", "env", e.Name, "err", err.Error())
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Run syncs at once and then every interval (never again when interval is 0) until ctx ends.
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
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

// Sync loads every online instance table of env whose visible snapshot changed since the last load, and stops
// serving instances whose table or online view is gone. Each table is loaded on its own: one failure keeps
// that instance's previous space and the others proceed; the errors are returned joined.
func (s *Syncer) Sync(ctx context.Context, env string) error {
	list, err := s.Defs.List(ctx, env)
	if err != nil {
		return err
	}
	cat := &catalogs{defs: staticDefs(list)}
	c, err := cat.get(ctx, env)
	if err != nil {
		return err
	}
	tables, err := s.Envs.Tables(ctx, env, "features")
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	var failed []string
	for _, t := range tables {
		v := viewOf(c.views, t.Ident.Name)
		if v == nil {
			continue
		}
		keep[t.Ident.Name] = true
		if err := s.load(ctx, env, c, v, t.Ident.Name); err != nil {
			s.log().Error("online load failed: the previous rows stay served", "env", env, "table", t.Ident.String(), "err", err.Error())
			failed = append(failed, fmt.Sprintf("%s: %v", t.Ident, err))
		}
	}
	s.unserve(ctx, env, keep)
	if len(failed) > 0 {
		return fmt.Errorf("online sync of %s: %s", env, strings.Join(failed, "; "))
	}
	return nil
}

// load brings one instance's served space to the snapshot env's readers see.
func (s *Syncer) load(ctx context.Context, env string, c *catalog, v *features.View, name string) error {
	id := lake.Ident{Zone: "features", Name: name}
	plan, err := s.Envs.Resolve(ctx, env, id, lake.SnapshotRef{})
	if err != nil {
		return err
	}
	key := env + "/" + name
	s.mu.RLock()
	prev, had := s.served[key]
	s.mu.RUnlock()
	if had && prev.snapshot == plan.SnapshotID {
		return nil
	}
	space := LoadedSpace(env, name, plan.SnapshotID)
	if _, done, err := s.Store.LastEvent(ctx, space); err != nil {
		return err
	} else if !done && plan.Rows > 0 {
		start := time.Now()
		n, err := s.write(ctx, c, v, plan, space)
		if err != nil {
			_ = s.Store.DeleteSpace(ctx, space)
			return err
		}
		if err := s.keepPushes(ctx, env, name, space); err != nil {
			_ = s.Store.DeleteSpace(ctx, space)
			return err
		}
		s.log().Info("online rows loaded", "env", env, "table", id.String(), "snapshot", plan.SnapshotID, "entities", n, "took", time.Since(start).String())
	}
	s.mu.Lock()
	if s.served == nil {
		s.served = map[string]loaded{}
	}
	s.served[key] = loaded{space: space, snapshot: plan.SnapshotID}
	s.mu.Unlock()
	if had && prev.space != space {
		if err := s.Store.DeleteSpace(ctx, prev.space); err != nil {
			s.log().Warn("online: deleting the previous key space failed", "space", prev.space, "err", err.Error())
		}
	}
	return nil
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
	q := "SELECT " + strings.Join(cols, ", ") + " FROM features." + quote(plan.Ident.Name) +
		" QUALIFY row_number() OVER (PARTITION BY " + strings.Join(keyCols, ", ") + " ORDER BY event_ts DESC, created_ts DESC NULLS LAST) = 1"
	res, err := s.Engine.Query(ctx, q, []engine.Table{envs.EngineTable(plan)})
	if err != nil {
		return 0, err
	}
	defer res.Close()
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	if err := s.Store.WriteLatest(ctx, space, names, res); err != nil {
		return 0, err
	}
	return res.Rows(), nil
}

// unserve drops the served spaces of env's instances that are not in keep.
func (s *Syncer) unserve(ctx context.Context, env string, keep map[string]bool) {
	var drop []string
	s.mu.Lock()
	for k, l := range s.served {
		e, name, _ := strings.Cut(k, "/")
		if e == env && !keep[name] {
			drop = append(drop, l.space)
			delete(s.served, k)
		}
	}
	s.mu.Unlock()
	sort.Strings(drop)
	for _, sp := range drop {
		if err := s.Store.DeleteSpace(ctx, sp); err != nil {
			s.log().Warn("online: deleting an unserved key space failed", "space", sp, "err", err.Error())
		}
	}
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
