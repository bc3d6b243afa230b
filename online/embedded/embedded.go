// Package embedded is the online store's default backend: one bbolt file on local disk, no server to run.
//
// bbolt was chosen over Pebble by benchmark (docs/benchmarks.md, "Online store engines"): reads, which online
// serving is made of, are lookups in a memory-mapped B+tree without copying through a block cache, so a
// 100-entity batch is 100 tree walks in one read transaction; Pebble's LSM writes faster but reads slower and
// brings a far larger dependency. Each key space is a bucket; one entity is one key holding its packed row.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/strata-data/strata/online/record"
)

var (
	schemasBucket  = []byte("\x00schemas")
	pointersBucket = []byte("\x00pointers")
	// lastEventKey holds a space's latest event time; no entity key starts with 0xff (it is a value kind).
	lastEventKey = []byte{0xff, 'l', 'a', 's', 't'}
)

// Store is an online store backend in one bbolt file, with an in-memory cache of the values it looked up (see
// cache). It is safe for concurrent use; one process opens the file at a time (a second waits up to the open
// timeout, then fails), so the cache sees every write.
type Store struct {
	db    *bolt.DB
	cache *cache // nil: none
}

// Open opens (creating it and its directory) the store file at path, with a value cache of DefaultCacheBytes.
func Open(path string) (*Store, error) { return OpenCache(path, DefaultCacheBytes) }

// OpenCache is Open with a value cache of at most cacheBytes (0: no cache, every lookup reads bbolt).
func OpenCache(path string, cacheBytes int64) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// InitialMmapSize reserves address space only (no memory): the file grows without remapping, which would
	// block readers while a materialisation writes.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true,
		InitialMmapSize: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("open online store %s: %w (is another strata process, such as `strata serve`, using it? The embedded store is opened by one process at a time: stop that process, or use online.backend: redis to share the store)", path, err)
	}
	return &Store{db: db, cache: newCache(cacheBytes)}, nil
}

// entryKeys yields the keys of entries (the keys a write touched, for the cache).
func entryKeys(entries []record.Entry) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for _, e := range entries {
			if !yield(e.Key) {
				return
			}
		}
	}
}

// beginWrite tells the cache that a write of entries to space begins; the function it returns, that it ended.
func (s *Store) beginWrite(space string, entries []record.Entry) (end func()) {
	if s.cache == nil {
		return func() {}
	}
	s.cache.beginWrite(space, entryKeys(entries))
	return func() { s.cache.endWrite(space) }
}

// Upsert writes entries whose (event_ts, created_ts) is newer than the stored row (or equal to it, with
// replaceEqual), in one transaction.
func (s *Store) Upsert(_ context.Context, space string, entries []record.Entry, replaceEqual bool) error {
	defer s.beginWrite(space, entries)()
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(space))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if old := b.Get(e.Key); old != nil && len(old) >= record.HeaderLen && !record.Newer(e.Val, old) &&
				(!replaceEqual || !record.SameOrder(e.Val, old)) {
				continue
			}
			if err := b.Put(e.Key, e.Val); err != nil {
				return err
			}
		}
		return nil
	})
}

// Put writes entries (sorted by key, one per key) without reading the stored rows, in one transaction. When
// they all sort after the bucket's last key (a fresh space filled in key order), they append: pages are then
// filled completely (FillPercent 1), so the space is written sequentially and takes the least room. Entries
// landing between stored keys (a load in several chunks of entities) keep bbolt's half-full pages, which
// take later inserts without splitting.
func (s *Store) Put(ctx context.Context, space string, entries []record.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.beginWrite(space, entries)()
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(space))
		if err != nil {
			return err
		}
		if len(entries) > 0 && appends(b, entries[0].Key) {
			b.FillPercent = 1.0
		}
		for _, e := range entries {
			if err := b.Put(e.Key, e.Val); err != nil {
				return err
			}
		}
		return nil
	})
}

// appends tells whether key sorts after every entity key of b.
func appends(b *bolt.Bucket, key []byte) bool {
	c := b.Cursor()
	k, _ := c.Last()
	if bytes.Equal(k, lastEventKey) {
		k, _ = c.Prev()
	}
	return k == nil || bytes.Compare(key, k) > 0
}

// Lookup returns the stored values of keys (nil for absent ones), read from bbolt (see lookupTx) and appended
// to dst: the cache holds values in their serving form, which carries no typed values.
func (s *Store) Lookup(_ context.Context, space string, keys [][]byte, dst []byte) ([][]byte, []byte, error) {
	out := make([][]byte, len(keys))
	dst, err := s.lookupTx(space, keys, nil, out, dst)
	return out, dst, err
}

// LookupInto is the serving path's lookup of keys into vals (len(keys) long, zeroed): from the cache when it
// holds them all (the values are the cache's, immutable, in their serving form: record.ServingForm), else the
// others are read from bbolt (see lookupTx), appended to dst as stored, and added to the cache.
func (s *Store) LookupInto(_ context.Context, space string, keys [][]byte, dst []byte, vals [][]byte) ([]byte, error) {
	if s.cache == nil {
		return s.lookupTx(space, keys, nil, vals, dst)
	}
	var missBuf [8]int
	sc, gen, miss := s.cache.get(space, keys, vals, missBuf[:0])
	if len(miss) == 0 {
		return dst, nil
	}
	dst, err := s.lookupTx(space, keys, miss, vals, dst)
	if err == nil {
		s.cache.put(space, sc, gen, keys, vals, miss)
	}
	return dst, err
}

// lookupTx reads the values of keys[only[...]] (every key when only is nil) into out, appended to dst, from one
// read transaction: bbolt's memory is valid only inside it, so values are copied. One cursor seeks the keys in
// sorted order: it reuses its page stack (a Get per key allocates its own cursor and stack, 5 allocations each),
// and neighbouring keys walk the same pages.
func (s *Store) lookupTx(space string, keys [][]byte, only []int, out [][]byte, dst []byte) ([]byte, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return dst, err
	}
	defer func() { _ = tx.Rollback() }()
	b := tx.Bucket([]byte(space))
	if b == nil {
		return dst, nil
	}
	n := len(keys)
	if only != nil {
		n = len(only)
	}
	// Where each value landed in dst ([0, 0] when absent) and the keys' order: on the stack for small batches.
	var spanBuf [8][2]int
	var orderBuf [8]int
	spans, order := spanBuf[:0], orderBuf[:0]
	if len(keys) > len(spanBuf) {
		spans = make([][2]int, 0, len(keys))
	}
	if n > len(orderBuf) {
		order = make([]int, 0, n)
	}
	spans, order = spans[:len(keys)], sortedOrder(keys, only, order)
	c := b.Cursor()
	for j, i := range order {
		k, v := c.Seek(keys[i])
		if v == nil || !bytes.Equal(k, keys[i]) {
			continue
		}
		if cap(dst)-len(dst) < len(v) { // rows of one view are about the same size: room for the rest
			left := n - j
			dst = slices.Grow(dst, len(v)*left+len(v)/2*left)
		}
		spans[i][0] = len(dst)
		dst = append(dst, v...)
		spans[i][1] = len(dst)
	}
	for i, sp := range spans {
		if sp[1] > sp[0] {
			out[i] = dst[sp[0]:sp[1]:sp[1]]
		}
	}
	return dst, nil
}

// sortedOrder appends the indexes only (every index of keys when nil) to order, sorted by key.
func sortedOrder(keys [][]byte, only []int, order []int) []int {
	if only == nil {
		for i := range keys {
			order = append(order, i)
		}
		if slices.IsSortedFunc(keys, bytes.Compare) {
			return order
		}
	} else {
		order = append(order, only...)
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	return order
}

const scanBatch = 4096

// Scan calls fn with the space's rows in batches, outside any transaction (fn may write).
func (s *Store) Scan(ctx context.Context, space string, fn func([]record.Entry) error) error {
	var after []byte
	for {
		var batch []record.Entry
		err := s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(space))
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(batch) < scanBatch; k, v = c.Next() {
				if bytes.Equal(k, lastEventKey) {
					continue
				}
				batch = append(batch, record.Entry{Key: bytes.Clone(k), Val: bytes.Clone(v)})
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		if err := fn(batch); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		after = batch[len(batch)-1].Key
	}
}

// MarkEvent raises the space's latest event time.
func (s *Store) MarkEvent(_ context.Context, space string, us int64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(space))
		if err != nil {
			return err
		}
		if old := b.Get(lastEventKey); len(old) == 8 && int64(binary.BigEndian.Uint64(old)) >= us {
			return nil
		}
		return b.Put(lastEventKey, binary.BigEndian.AppendUint64(nil, uint64(us)))
	})
}

// LastEvent reads the space's latest event time.
func (s *Store) LastEvent(_ context.Context, space string) (us int64, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(space)); b != nil {
			if v := b.Get(lastEventKey); len(v) == 8 {
				us, ok = int64(binary.BigEndian.Uint64(v)), true
			}
		}
		return nil
	})
	return us, ok, err
}

// PutSchema stores a schema under its id.
func (s *Store) PutSchema(_ context.Context, id [8]byte, enc []byte) error {
	if have, _ := s.Schema(context.Background(), id); have != nil {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(schemasBucket)
		if err != nil {
			return err
		}
		return b.Put(id[:], enc)
	})
}

// Schema returns a stored schema, nil when absent.
func (s *Store) Schema(_ context.Context, id [8]byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(schemasBucket); b != nil {
			out = bytes.Clone(b.Get(id[:]))
		}
		return nil
	})
	return out, err
}

// DeleteSpace drops the space's bucket.
func (s *Store) DeleteSpace(_ context.Context, space string) error {
	if s.cache != nil {
		s.cache.beginDelete(space)
		defer s.cache.endWrite(space)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(space)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		return nil
	})
}

// Pointer returns a pointer record, nil when absent.
func (s *Store) Pointer(_ context.Context, name string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(pointersBucket); b != nil {
			out = bytes.Clone(b.Get([]byte(name)))
		}
		return nil
	})
	return out, err
}

// SwapPointer sets a pointer record if it holds old (nil: absent), in one transaction.
func (s *Store) SwapPointer(_ context.Context, name string, old, val []byte) (swapped bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(pointersBucket)
		if err != nil {
			return err
		}
		cur := b.Get([]byte(name))
		if (cur == nil) != (old == nil) || !bytes.Equal(cur, old) {
			return nil
		}
		swapped = true
		return b.Put([]byte(name), val)
	})
	return swapped, err
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }
