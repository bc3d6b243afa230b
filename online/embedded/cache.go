package embedded

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/strata-data/strata/online/record"
)

// DefaultCacheBytes bounds the memory of the value cache Open puts in front of bbolt (config online.cache_bytes).
const DefaultCacheBytes = 128 << 20

// cache keeps the values lookups read, per key space, in memory: a lookup whose keys are all cached opens no
// bbolt transaction and copies nothing (a 100-entity batch spent ~70 µs seeking bbolt's mmapped pages and
// copying the values out; map hits take ~5 µs). Values are cached in their serving form (record.ServingForm:
// kinds and JSON texts, a table of where each text is, no binary values), which serving reads without walking
// the values and which is about a third smaller than the stored value: a 100-entity answer touches less memory.
// Cached values are immutable: LookupInto, the serving path, returns them as they are; Lookup, which callers
// decode into typed values, reads bbolt. Absent keys are cached too (a nil value). (Keeping, beside each stored
// row, a record of where its JSON texts are was tried: no faster, and 40% more memory per row.)
//
// Consistency with bbolt: a write (Upsert, Put, DeleteSpace) drops the keys it will write before it begins, and
// while it runs nothing is added to its space's cache (c.writing); when it ends (committed or not) it raises the
// space's generation. A lookup that missed notes the generation before its bbolt read and adds what it read only
// if no write began since (same generation) and none is running. So while a write runs its keys are read from
// bbolt (which switches from old to new at the commit), and once it has returned no lookup sees an older value:
// readers see each key's values in the order they were committed, as with bbolt alone.
//
// Memory is bounded by limit (approximate: keys, values and a per-entry overhead). When an addition would pass
// it, entries are evicted by CLOCK (second chance): every entry has a slot on a ring and a reference bit that a
// lookup hitting it sets (a load, and a store only when the bit was clear: hot entries cost readers no writes
// to shared memory); the hand sweeps the ring, clears set bits and evicts the first entry whose bit is clear.
// New entries start with a clear bit, so a stream of keys read once — absent ones included, which a client can
// ask for without end — evicts its own kind, and keys read again between two passes of the hand stay. Eviction
// changes no stored value, so lookups under way may still add what they read. A deleted space frees its share.
type cache struct {
	mu      sync.RWMutex
	spaces  map[string]*spaceCache
	writing map[string]int // writes running per space
	used    int64
	limit   int64
	// The CLOCK ring: slots[i] is an entry's key (sc nil: free, its index on free), refs[i] its reference bit
	// (set by readers under mu.RLock, atomically).
	slots     []slot
	refs      []uint32
	free      []int32
	hand      int
	evictions int // entries evicted to make room
}

// slot is a cached entry's place on the CLOCK ring: which space and key it is, what it accounts for.
type slot struct {
	sc    *spaceCache // nil: free
	small smallKey
	long  string // the key, when longer than a smallKey holds
	cost  int64
}

// spaceCache is one space's cached values (val nil: the key is absent in the store). Keys of up to 15 bytes are
// held in the map's own slots (small), so a lookup compares them without reading memory elsewhere: with string
// keys, each lookup also waited for its key's bytes (profile: 8% of a 100×50 request). A single integer join
// key (9 bytes: its kind, then the value) is a uint64 key (ints): Go's maps hash and compare those fastest,
// and the slots are smaller.
type spaceCache struct {
	gen   uint64
	ints  map[uint64]entry
	small map[smallKey]entry
	vals  map[string]entry // longer keys
}

// intKey returns the value of a key made of one integer.
func intKey(k []byte) (uint64, bool) {
	if len(k) == 9 && k[0] == byte(record.Int64) {
		return binary.LittleEndian.Uint64(k[1:]), true
	}
	return 0, false
}

// entry is a cached value and its slot on the ring.
type entry struct {
	val  []byte
	slot int32
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

func newSpaceCache() *spaceCache {
	return &spaceCache{ints: map[uint64]entry{}, small: map[smallKey]entry{}, vals: map[string]entry{}}
}

func (sc *spaceCache) load(k []byte) (entry, bool) {
	if u, ok := intKey(k); ok {
		e, ok := sc.ints[u]
		return e, ok
	}
	if sk, ok := toSmall(k); ok {
		e, ok := sc.small[sk]
		return e, ok
	}
	e, ok := sc.vals[string(k)]
	return e, ok
}

func (sc *spaceCache) drop(k []byte) {
	if u, ok := intKey(k); ok {
		delete(sc.ints, u)
		return
	}
	if sk, ok := toSmall(k); ok {
		delete(sc.small, sk)
		return
	}
	delete(sc.vals, string(k))
}

func (sc *spaceCache) len() int { return len(sc.ints) + len(sc.small) + len(sc.vals) }

// cost is what a cached value of a key of keyLen bytes accounts for.
func cost(keyLen int, val []byte) int64 { return int64(keyLen+len(val)) + entryOverhead }

// entryOverhead approximates what a cached entry costs beyond its key and value bytes: the map slot, its ring
// slot and reference bit, the slice headers, allocation rounding.
const (
	entryOverhead = 160
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
		if e, ok := sc.load(k); ok {
			vals[i] = e.val
			if r := &c.refs[e.slot]; atomic.LoadUint32(r) == 0 {
				atomic.StoreUint32(r, 1)
			}
		} else {
			miss = append(miss, i)
		}
	}
	c.mu.RUnlock()
	return sc, gen, miss
}

// servingForm is what the cache keeps of a stored value: its serving form (record.ServingForm), or a copy of it
// when it has none; nil (absent) stays nil.
func servingForm(v []byte) []byte {
	if v == nil {
		return nil
	}
	if f, ok := record.ServingForm(v); ok {
		return f
	}
	return bytes.Clone(v)
}

func appendAll(miss []int, n int) []int {
	for i := 0; i < n; i++ {
		miss = append(miss, i)
	}
	return miss
}

// create makes the space's cache, evicting entries of others to make room (nil when it cannot); its generation
// starts at 0.
func (c *cache) create(space string) *spaceCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc := c.spaces[space]; sc != nil {
		return nil // created meanwhile: its generation is unknown to the caller, which adds nothing this time
	}
	size := spaceOverhead + int64(len(space))
	if c.writing[space] > 0 || !c.makeRoom(size) {
		return nil
	}
	sc := newSpaceCache()
	c.spaces[space] = sc
	c.used += size
	return sc
}

// put adds the values read for keys[miss[...]] (vals[i], nil when absent) if no write to the space has happened
// since get returned gen, evicting others to stay within the memory limit. The values are kept in their serving
// form, in new memory (the caller's may be reused).
func (c *cache) put(space string, sc *spaceCache, gen uint64, keys, vals [][]byte, miss []int) {
	if sc == nil || len(miss) == 0 {
		return
	}
	forms := make([][]byte, len(miss)) // made before taking the lock, which readers wait for
	for j, i := range miss {
		forms[j] = servingForm(vals[i])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spaces[space] != sc || sc.gen != gen || c.writing[space] > 0 {
		return
	}
	for j, i := range miss {
		if _, ok := sc.load(keys[i]); ok { // added by another lookup meanwhile (same generation: same value)
			continue
		}
		val := forms[j]
		size := cost(len(keys[i]), val)
		if !c.makeRoom(size) {
			continue // larger than what eviction can free
		}
		c.add(sc, keys[i], val, size)
	}
}

// add caches val under key k of sc in a free slot, its reference bit clear (c.mu held, room made).
func (c *cache) add(sc *spaceCache, k, val []byte, size int64) {
	var i int32
	if n := len(c.free); n > 0 {
		i, c.free = c.free[n-1], c.free[:n-1]
	} else {
		i = int32(len(c.slots))
		c.slots, c.refs = append(c.slots, slot{}), append(c.refs, 0)
	}
	s := &c.slots[i]
	*s = slot{sc: sc, cost: size}
	atomic.StoreUint32(&c.refs[i], 0)
	e := entry{val: val, slot: i}
	if u, ok := intKey(k); ok {
		s.small, _ = toSmall(k)
		sc.ints[u] = e
	} else if sk, ok := toSmall(k); ok {
		s.small = sk
		sc.small[sk] = e
	} else {
		s.long = string(k)
		sc.vals[s.long] = e
	}
	c.used += size
}

// makeRoom evicts entries until size more bytes fit within the limit; false when they cannot (c.mu held).
func (c *cache) makeRoom(size int64) bool {
	for c.used+size > c.limit {
		if !c.evict() {
			return false
		}
	}
	return true
}

// evict moves the hand around the ring, clearing reference bits, until it evicts an entry whose bit was clear:
// at most two turns. False when nothing is cached (c.mu held).
func (c *cache) evict() bool {
	for n := 0; n < 2*len(c.slots); n++ {
		if c.hand >= len(c.slots) {
			c.hand = 0
		}
		i := c.hand
		c.hand++
		s := &c.slots[i]
		if s.sc == nil {
			continue
		}
		if atomic.LoadUint32(&c.refs[i]) != 0 {
			atomic.StoreUint32(&c.refs[i], 0)
			continue
		}
		if s.long != "" {
			delete(s.sc.vals, s.long)
		} else {
			s.sc.drop(s.small[:s.small[len(s.small)-1]])
		}
		c.release(int32(i))
		c.evictions++
		return true
	}
	return false
}

// release frees slot i and the memory its entry accounted for (its map entry already deleted; c.mu held).
func (c *cache) release(i int32) {
	c.used -= c.slots[i].cost
	c.slots[i] = slot{}
	c.free = append(c.free, i)
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
		if e, ok := sc.load(k); ok {
			sc.drop(k)
			c.release(e.slot)
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
	for _, e := range sc.ints {
		c.release(e.slot)
	}
	for _, e := range sc.small {
		c.release(e.slot)
	}
	for _, e := range sc.vals {
		c.release(e.slot)
	}
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
