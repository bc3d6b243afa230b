package envs

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/strata-data/strata/lake"
)

// Reading a table's plan (lake.Plan) parses its metadata JSON and reads its manifest list and manifests: most of
// the cost of binding a point query. A plan is a function of the table's metadata file and the snapshot selector,
// and a table's metadata location changes with every commit (a write, an expiry, a clone, a drop and re-create),
// so plans are cached by that location: each read still looks the location up (one indexed row of the metadata
// database), so dev readers see a new snapshot and prod readers a newly published release at once.

// Default bounds of the plan cache (Options.PlanCacheEntries / PlanCacheBytes).
const (
	defaultPlanCacheEntries = 1024
	defaultPlanCacheBytes   = 64 << 20
)

type planKey struct {
	env, zone, name string
	metadataLoc     string
	snapshotID      int64
	asOfMs          int64
}

type planEntry struct {
	key   planKey
	plan  *lake.Plan
	bytes int64
}

// planCache is a least-recently-used cache of read plans bounded by entries and by (approximate) bytes. It is
// safe for concurrent use; the plans it holds are never handed out, only copies of them.
type planCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	order      *list.List // front = most recently used; values are *planEntry
	byKey      map[planKey]*list.Element
}

// newPlanCache returns a cache with the given bounds (0 = default); nil (no caching) when entries < 0.
func newPlanCache(entries int, bytes int64) *planCache {
	if entries < 0 {
		return nil
	}
	if entries == 0 {
		entries = defaultPlanCacheEntries
	}
	if bytes <= 0 {
		bytes = defaultPlanCacheBytes
	}
	return &planCache{maxEntries: entries, maxBytes: bytes, order: list.New(), byKey: map[planKey]*list.Element{}}
}

func (c *planCache) get(k planKey) (*lake.Plan, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return clonePlan(el.Value.(*planEntry).plan), true
}

func (c *planCache) put(k planKey, p *lake.Plan) {
	if c == nil {
		return
	}
	e := &planEntry{key: k, plan: clonePlan(p), bytes: planBytes(k, p)}
	if e.bytes > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byKey[k]; ok {
		c.removeLocked(old)
	}
	c.byKey[k] = c.order.PushFront(e)
	c.bytes += e.bytes
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.removeLocked(c.order.Back())
	}
}

func (c *planCache) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*planEntry)
	delete(c.byKey, e.key)
	c.bytes -= e.bytes
}

// len returns the number of cached plans (for tests).
func (c *planCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// planBytes estimates the memory a cached plan holds: its strings plus per-item overhead.
func planBytes(k planKey, p *lake.Plan) int64 {
	n := int64(128 + len(k.env) + len(k.zone) + len(k.name) + len(k.metadataLoc))
	for _, f := range p.Files {
		n += int64(16 + len(f))
	}
	for _, c := range p.Columns {
		n += int64(64 + len(c.Name) + len(c.Type))
	}
	return n
}

// clonePlan copies p so that neither the cache nor a caller can change what the other holds.
func clonePlan(p *lake.Plan) *lake.Plan {
	c := *p
	c.Files = append([]string(nil), p.Files...)
	c.Columns = append([]lake.Column(nil), p.Columns...)
	return &c
}

// metadataLocation returns the current metadata file of env/id from the Iceberg catalog table, or "" when the
// table does not exist there (the caller then lets lake.Plan word the error).
func (s *Service) metadataLocation(ctx context.Context, env string, id lake.Ident) (string, error) {
	var loc sql.NullString
	err := s.db.SQL.QueryRowContext(ctx, `SELECT metadata_location FROM iceberg_tables
		WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3
		AND (iceberg_type IS NULL OR iceberg_type = 'TABLE')`, env, id.Zone, id.Name).Scan(&loc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up table %s in environment %q: %w", id, env, err)
	}
	return loc.String, nil
}

// plan returns lake.Plan(env, id, at) from the cache when the table's metadata is still at loc. A plan read on a
// miss is cached only if the table's metadata did not move while it was read, so an entry always describes
// exactly the metadata file its key names. An empty loc (table unknown to the catalog) bypasses the cache.
func (s *Service) plan(ctx context.Context, env string, id lake.Ident, at lake.SnapshotRef, loc string) (*lake.Plan, error) {
	if loc == "" || s.plans == nil {
		return s.lake.Plan(ctx, env, id, at)
	}
	k := planKey{env: env, zone: id.Zone, name: id.Name, metadataLoc: loc, snapshotID: at.ID}
	if !at.AsOf.IsZero() {
		k.asOfMs = at.AsOf.UnixMilli() // lake.Plan picks the snapshot by millisecond
	}
	if p, ok := s.plans.get(k); ok {
		return p, nil
	}
	p, err := s.lake.Plan(ctx, env, id, at)
	if err != nil {
		return nil, err
	}
	if after, err := s.metadataLocation(ctx, env, id); err == nil && after == loc {
		s.plans.put(k, p)
	}
	return p, nil
}
