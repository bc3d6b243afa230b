package embedded

import (
	"bytes"
	"sync"
)

// DefaultCacheBytes bounds the memory of the value cache Open puts in front of bbolt.
const DefaultCacheBytes = 128 << 20

// cache keeps the values lookups read, per key space, in memory: a lookup whose keys are all cached opens no
// bbolt transaction and copies nothing (a 100-entity batch spent ~70 µs seeking bbolt's mmapped pages and
// copying the values out; map hits take ~5 µs). Cached values are immutable: Lookup returns them as they are.
// Absent keys are cached too (a nil value). (Keeping each row's record of where its JSON texts are, to skip
// reading the row, was tried: no faster — the row, read in order, is then in the processor's cache for
// rendering — and 40% more memory per row.)
//
// Consistency with bbolt: a write (Upsert, Put, DeleteSpace) drops the keys it will write before it begins, and
// while it runs nothing is added to its space's cache (c.writing); when it ends (committed or not) it raises the
// space's generation. A lookup that missed notes the generation before its bbolt read and adds what it read only
// if no write began since (same generation) and none is running. So while a write runs its keys are read from
// bbolt (which switches from old to new at the commit), and once it has returned no lookup sees an older value:
// readers see each key's values in the order they were committed, as with bbolt alone.
//
// Memory is bounded by limit (approximate: keys, values and a per-entry overhead): when an addition would pass
// it, every space's cache is emptied (and its generation raised, so no lookup under way adds what it read before)
// and fills again with what lookups read next. So keys read often come back at once, and a stream of other keys
// — absent ones included, which a client can ask for without end — cannot keep them out for good (with
// additions refused once full, such a stream left every later lookup to bbolt). A deleted space frees its share.
type cache struct {
	mu      sync.RWMutex
	spaces  map[string]*spaceCache
	writing map[string]int // writes running per space
	used    int64
	limit   int64
	resets  int // times the limit emptied the cache
}

// spaceCache is one space's cached values (nil: the key is absent in the store). Keys of up to 15 bytes (an
// integer key is 9) are held in the map's own slots (small), so a lookup compares them without reading memory
// elsewhere: with string keys, each lookup also waited for its key's bytes (profile: 8% of a 100×50 request).
type spaceCache struct {
	gen   uint64
	small map[smallKey][]byte
	vals  map[string][]byte // longer keys
}

// smallKey is a key of up to 15 bytes, then its length.
type smallKey [16]byte

func toSmall(k []byte) (smallKey, bool) {
	var sk smallKey
	if len(k) >= len(sk) {
		return sk, false
	}
	copy(sk[:], k)
	sk[len(sk)-1] = byte(len(k))
	return sk, true
}

func (sc *spaceCache) load(k []byte) ([]byte, bool) {
	if sk, ok := toSmall(k); ok {
		v, ok := sc.small[sk]
		return v, ok
	}
	v, ok := sc.vals[string(k)]
	return v, ok
}

func (sc *spaceCache) store(k, v []byte) {
	if sk, ok := toSmall(k); ok {
		sc.small[sk] = v
		return
	}
	sc.vals[string(k)] = v
}

func (sc *spaceCache) drop(k []byte) {
	if sk, ok := toSmall(k); ok {
		delete(sc.small, sk)
		return
	}
	delete(sc.vals, string(k))
}

func (sc *spaceCache) len() int { return len(sc.small) + len(sc.vals) }

// cost is what the space's cached values account for.
func (sc *spaceCache) cost() int64 {
	var n int64
	for k, v := range sc.small {
		n += cost(int(k[len(k)-1]), v)
	}
	for k, v := range sc.vals {
		n += cost(len(k), v)
	}
	return n
}

// cost is what a cached value of a key of keyLen bytes accounts for.
func cost(keyLen int, val []byte) int64 { return int64(keyLen+len(val)) + entryOverhead }

// entryOverhead approximates what a cached entry costs beyond its key and value bytes: the map slot, the
// string and slice headers, allocation rounding.
const (
	entryOverhead = 96
	spaceOverhead = 256
)

func newCache(limit int64) *cache {
	if limit <= 0 {
		return nil
	}
	return &cache{spaces: map[string]*spaceCache{}, writing: map[string]int{}, limit: limit}
}

// get sets vals[i] for every key the cache holds and appends the indexes of the others to miss. It returns the
// space's cache and its generation, for put (sc nil: the space is not cached, and nothing will be added).
func (c *cache) get(space string, keys, vals [][]byte, miss []int) (sc *spaceCache, gen uint64, _ []int) {
	c.mu.RLock()
	sc = c.spaces[space]
	if sc == nil {
		c.mu.RUnlock()
		return c.create(space), 0, appendAll(miss, len(keys))
	}
	gen = sc.gen
	for i, k := range keys {
		if v, ok := sc.load(k); ok {
			vals[i] = v
		} else {
			miss = append(miss, i)
		}
	}
	c.mu.RUnlock()
	return sc, gen, miss
}

func appendAll(miss []int, n int) []int {
	for i := 0; i < n; i++ {
		miss = append(miss, i)
	}
	return miss
}

// create makes the space's cache (nil when the memory limit is reached); its generation starts at 0.
func (c *cache) create(space string) *spaceCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc := c.spaces[space]; sc != nil {
		return nil // created meanwhile: its generation is unknown to the caller, which adds nothing this time
	}
	if c.writing[space] > 0 || c.used+spaceOverhead > c.limit {
		return nil
	}
	sc := &spaceCache{small: map[smallKey][]byte{}, vals: map[string][]byte{}}
	c.spaces[space] = sc
	c.used += spaceOverhead + int64(len(space))
	return sc
}

// put adds the values read for keys[miss[...]] (vals[i], nil when absent) if no write to the space has happened
// since get returned gen, within the memory limit. The values are copied (the caller's may be reused).
func (c *cache) put(space string, sc *spaceCache, gen uint64, keys, vals [][]byte, miss []int) {
	if sc == nil || len(miss) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spaces[space] != sc || sc.gen != gen || c.writing[space] > 0 {
		return
	}
	for _, i := range miss {
		if _, ok := sc.load(keys[i]); ok { // added by another lookup meanwhile (same generation: same value)
			continue
		}
		size := cost(len(keys[i]), vals[i])
		if c.used+size > c.limit {
			c.reset()
			return
		}
		sc.store(keys[i], bytes.Clone(vals[i])) // nil stays nil
		c.used += size
	}
}

// reset empties every space's cache and raises its generation (c.mu held).
func (c *cache) reset() {
	c.used = 0
	for space, sc := range c.spaces {
		sc.small, sc.vals = map[smallKey][]byte{}, map[string][]byte{}
		sc.gen++
		c.used += spaceOverhead + int64(len(space))
	}
	c.resets++
}

// beginWrite drops the keys a write to space will write and stops additions to the space until endWrite.
func (c *cache) beginWrite(space string, keys func(yield func([]byte) bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing[space]++
	sc := c.spaces[space]
	if sc == nil {
		return
	}
	sc.gen++
	if sc.len() == 0 {
		return
	}
	for k := range keys {
		if v, ok := sc.load(k); ok {
			c.used -= cost(len(k), v)
			sc.drop(k)
		}
	}
}

// endWrite ends a write beginWrite began (committed or not): lookups that read bbolt before it ended add nothing.
func (c *cache) endWrite(space string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing[space]--; c.writing[space] <= 0 {
		delete(c.writing, space)
	}
	if sc := c.spaces[space]; sc != nil {
		sc.gen++
	}
}

// beginDelete forgets a space that is being deleted from the store (endWrite ends the deletion).
func (c *cache) beginDelete(space string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing[space]++
	sc := c.spaces[space]
	if sc == nil {
		return
	}
	c.used -= sc.cost()
	c.used -= spaceOverhead + int64(len(space))
	sc.gen++
	delete(c.spaces, space)
}

// size is the memory the cache accounts for, in bytes.
func (c *cache) size() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.used
}
