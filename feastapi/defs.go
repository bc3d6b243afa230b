package feastapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/strata-data/strata/features"
)

// Definitions is where serving reads feature definitions: the features registry of an environment.
type Definitions interface {
	List(ctx context.Context, env string) ([]features.Def, error)
}

// catalog is one environment's current definitions, decoded once.
type catalog struct {
	loaded   time.Time
	views    map[string]*features.View
	versions map[string]int64
	entities map[string]*features.Entity
	services map[string]*features.Service
	// shapes caches resolved request shapes (get.go) for as long as this catalog is current.
	mu     sync.RWMutex
	shapes map[string]*shape // by appendShapeKey
}

// catalogs caches each environment's catalog for ttl: serving must not query the metadata database per request.
type catalogs struct {
	defs Definitions
	ttl  time.Duration
	mu   sync.Mutex
	envs map[string]*catalog
}

func (c *catalogs) get(ctx context.Context, env string) (*catalog, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cat, ok := c.envs[env]; ok && time.Since(cat.loaded) < c.ttl {
		return cat, nil
	}
	list, err := c.defs.List(ctx, env)
	if err != nil {
		return nil, err
	}
	cat := &catalog{loaded: time.Now(), views: map[string]*features.View{}, versions: map[string]int64{},
		entities: map[string]*features.Entity{}, services: map[string]*features.Service{}}
	for _, d := range list {
		switch d.Kind {
		case features.KindView:
			v, err := d.View()
			if err != nil {
				return nil, err
			}
			cat.views[d.Name], cat.versions[d.Name] = v, d.Version
		case features.KindEntity:
			var e features.Entity
			if err := json.Unmarshal(d.Spec, &e); err != nil {
				return nil, fmt.Errorf("stored entity %s: %w", d.Name, err)
			}
			cat.entities[d.Name] = &e
		case features.KindService:
			var s features.Service
			if err := json.Unmarshal(d.Spec, &s); err != nil {
				return nil, fmt.Errorf("stored service %s: %w", d.Name, err)
			}
			cat.services[d.Name] = &s
		}
	}
	if len(list) == 0 {
		return cat, nil // not cached: requests naming made-up environments must not grow the cache
	}
	if c.envs == nil {
		c.envs = map[string]*catalog{}
	}
	c.envs[env] = cat
	return cat, nil
}

// joinKeys returns a view's join keys in declared order (entities in order, each entity's keys in order).
func (cat *catalog) joinKeys(v *features.View) ([]features.JoinKey, error) {
	var out []features.JoinKey
	for _, e := range v.Entities {
		ent, ok := cat.entities[e]
		if !ok {
			return nil, fmt.Errorf("feature view %s names entity %s, which is not applied", v.Name, e)
		}
		out = append(out, ent.JoinKeys...)
	}
	return out, nil
}

// instance is one feature view with parameter values: its key space and the features asked of it.
type instance struct {
	view     *features.View
	ref      string // how the request named it: "view" or "view(k=v)"
	space    string // key space name within the environment
	plain    string // online.Space(env, space): the space read when the syncer serves none
	keys     []features.JoinKey
	features []string
	idx      int // position in its shape's instances
}

// parseRef reads a reference as a feature service or an online request gives it: "view" (every feature),
// "view:feature", "view:*" or an instance "view(param=value, ...)[:feature]", with features.ParseServingRef's
// grammar (quoted values, spaces around names), so one instance reference names the same instance and key space
// online as in a dataset build, a service or a materialisation. feature is "" for every feature.
//
// A version pin (view@N) is answered only when N is the view's current version in cat: the online store holds
// the rows of the view's current definitions only (a load serves its materialised table whatever version wrote
// it, and no older version's rows are kept), so another pin could not be answered as it asks; a dataset build
// reads pinned versions.
func parseRef(cat *catalog, ref string) (view string, params map[string]string, feature string, err error) {
	r, err := features.ParseServingRef(ref)
	if err != nil {
		// The caller wraps its own ErrInvalid: keep the message without the features package's.
		return "", nil, "", errors.New(strings.TrimSuffix(err.Error(), ": "+features.ErrInvalid.Error()))
	}
	if pin := r.Version; pin > 0 {
		if current, ok := cat.versions[r.View]; ok && current == int64(pin) {
			r.Version = 0
		} else {
			r.Version = 0
			now := ""
			if ok {
				now = fmt.Sprintf(" (its current version is %d)", current)
			}
			return "", nil, "", fmt.Errorf("%q: online requests read the view's current version%s: write %s without @%d "+
				"(a pinned version is read by `strata dataset build`)", ref, now, r.String(), pin)
		}
	}
	if r.Feature == "*" {
		r.Feature = ""
	}
	return r.View, r.Params, r.Feature, nil
}
