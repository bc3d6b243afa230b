package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/online/record"
)

// cacheEntry is a stored value whose event time (and so its order) is n, holding n.
func cacheEntry(sc *record.Schema, id, n int64) record.Entry {
	return record.Entry{Key: record.Key(nil, []record.Value{record.IntValue(id)}),
		Val: record.Encode(nil, sc, 1_700_000_000_000_000+n, 0, false, []record.Value{record.IntValue(n)})}
}

// valueOf returns the value n a lookup found for one key (-1: absent).
func valueOf(t testing.TB, s *Store, space string, id int64) int64 {
	n, err := lookupValue(s, space, id)
	require.NoError(t, err)
	return n
}

func lookupValue(s *Store, space string, id int64) (int64, error) {
	return lookupKey(s, space, record.Key(nil, []record.Value{record.IntValue(id)}))
}

// lookupKey reads the value n of one key through the serving path (LookupInto, the cache's), -1 when absent.
func lookupKey(s *Store, space string, key []byte) (int64, error) {
	vals := make([][]byte, 1)
	if _, err := s.LookupInto(context.Background(), space, [][]byte{key}, nil, vals); err != nil || vals[0] == nil {
		return -1, err
	}
	cells := make([]record.Cell, 1)
	data, _, err := record.DecodeJSON(vals[0], []int{0}, cells, nil)
	if err != nil {
		return -1, err
	}
	return strconv.ParseInt(string(cells[0].JSON(data)), 10, 64)
}

// openCached opens a store with the default cache, closed when the test ends, and the schema of cacheEntry.
func openCached(t *testing.T) (*Store, *record.Schema) {
	s, err := Open(filepath.Join(t.TempDir(), "store.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, cacheSchema()
}

func cacheSchema() *record.Schema {
	return record.NewSchema([]record.Field{{Name: "v", Kind: record.Int64}})
}

// TestCacheFollowsEveryWrite: once a lookup cached a space's values (present and absent keys), every kind of
// write — a newer upsert, an older one (ignored), a recomputed one, a bulk Put, a space deletion and a write
// after it — is seen by the next lookup; lookups of cached keys start no bbolt transaction.
func TestCacheFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	s, sc := openCached(t)
	const space = "dev/v"
	require.NoError(t, s.Upsert(ctx, space, []record.Entry{cacheEntry(sc, 1, 10), cacheEntry(sc, 2, 20)}, false))
	require.Equal(t, []int64{10, 20, -1}, []int64{valueOf(t, s, space, 1), valueOf(t, s, space, 2), valueOf(t, s, space, 3)})

	txs := s.db.Stats().TxN
	require.Equal(t, []int64{10, 20, -1}, []int64{valueOf(t, s, space, 1), valueOf(t, s, space, 2), valueOf(t, s, space, 3)})
	require.Equal(t, txs, s.db.Stats().TxN, "cached lookups (absent keys too) read no transaction")
	require.Positive(t, s.cache.size())

	require.NoError(t, s.Upsert(ctx, space, []record.Entry{cacheEntry(sc, 1, 11), cacheEntry(sc, 2, 5), cacheEntry(sc, 3, 30)}, false))
	require.Equal(t, []int64{11, 20, 30}, []int64{valueOf(t, s, space, 1), valueOf(t, s, space, 2), valueOf(t, s, space, 3)},
		"newer rows replace cached ones, an older one is refused, an absent key appears")
	eq := cacheEntry(sc, 1, 11)
	eq.Val = record.Encode(nil, sc, 1_700_000_000_000_000+11, 0, false, []record.Value{record.IntValue(99)})
	require.NoError(t, s.Upsert(ctx, space, []record.Entry{eq}, true))
	require.Equal(t, int64(99), valueOf(t, s, space, 1), "a recomputed row of the same time")

	require.NoError(t, s.Put(ctx, space, []record.Entry{cacheEntry(sc, 2, 1), cacheEntry(sc, 4, 40)}))
	require.Equal(t, []int64{1, 40}, []int64{valueOf(t, s, space, 2), valueOf(t, s, space, 4)}, "a bulk Put replaces without ordering")

	long := record.Key(nil, []record.Value{record.StringValue("a key longer than fifteen bytes")})
	longVal := func() int64 {
		n, err := lookupKey(s, space, long)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, int64(-1), longVal())
	e := cacheEntry(sc, 0, 50)
	e.Key = long
	require.NoError(t, s.Upsert(ctx, space, []record.Entry{e}, false))
	require.Equal(t, int64(50), longVal(), "a long key, cached absent, then written")
	require.Equal(t, int64(50), longVal())

	require.NoError(t, s.DeleteSpace(ctx, space))
	require.Equal(t, []int64{-1, -1}, []int64{valueOf(t, s, space, 1), valueOf(t, s, space, 4)}, "a deleted space")
	require.Equal(t, int64(-1), longVal())
	require.NoError(t, s.Upsert(ctx, space, []record.Entry{cacheEntry(sc, 1, 3)}, false))
	require.Equal(t, int64(3), valueOf(t, s, space, 1), "written again after the delete")
	require.NoError(t, s.DeleteSpace(ctx, space))
	require.Zero(t, s.cache.size(), "a deleted space frees its memory")
}

// TestCacheIsBounded: a cache smaller than the space holds at most its limit, and every lookup still answers
// from bbolt what the cache does not hold.
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	const limit = 8 << 10
	s, err := OpenCache(filepath.Join(t.TempDir(), "store.db"), limit)
	require.NoError(t, err)
	defer s.Close()
	sc := cacheSchema()
	var entries []record.Entry
	for i := int64(0); i < 2000; i++ {
		entries = append(entries, cacheEntry(sc, i, i+1))
	}
	require.NoError(t, s.Put(ctx, "dev/big", entries))
	for round := 0; round < 2; round++ {
		for i := int64(0); i < 2000; i += 7 {
			require.Equal(t, i+1, valueOf(t, s, "dev/big", i))
		}
		require.LessOrEqual(t, s.cache.size(), int64(limit))
		require.Positive(t, s.cache.size())
	}
}

// TestCacheFloodDoesNotKeepHotKeysOut: lookups of ever new absent keys (which a client may send without end)
// fill the cache to its limit and then evict one another: keys read again between them stay in memory all
// along, a key no longer read is evicted, and read once more it is back in memory. The memory stays bounded.
func TestCacheFloodDoesNotKeepHotKeysOut(t *testing.T) {
	ctx := context.Background()
	const limit = 8 << 10 // ~45 entries of this schema
	s, err := OpenCache(filepath.Join(t.TempDir(), "store.db"), limit)
	require.NoError(t, err)
	defer s.Close()
	sc := cacheSchema()
	const hot = 10
	var rows []record.Entry
	for id := int64(0); id <= hot; id++ {
		rows = append(rows, cacheEntry(sc, id, id+100))
	}
	require.NoError(t, s.Put(ctx, "dev/hot", rows))
	cached := func(id int64) bool {
		s.cache.mu.RLock()
		defer s.cache.mu.RUnlock()
		c := s.cache.spaces["dev/hot"]
		if c == nil {
			return false
		}
		_, ok := c.load(record.Key(nil, []record.Value{record.IntValue(id)}))
		return ok
	}
	flood := int64(1_000_000)
	for round := 0; round < 100; round++ {
		for id := int64(0); id < hot; id++ { // key hot (the 11th) is read once, before the flood
			if round > 0 {
				require.True(t, cached(id), "hot key %d was evicted before round %d", id, round)
			}
			require.Equal(t, id+100, valueOf(t, s, "dev/hot", id))
		}
		if round == 0 {
			require.Equal(t, int64(hot+100), valueOf(t, s, "dev/hot", hot))
		}
		for i := 0; i < 10; i++ {
			flood++
			require.Equal(t, int64(-1), valueOf(t, s, "dev/flood", flood))
			require.LessOrEqual(t, s.cache.size(), int64(limit))
		}
	}
	require.Greater(t, s.cache.evictions, 900, "1,000 absent keys (~180 KB of entries) went through an 8 KiB cache")
	require.False(t, cached(hot), "a key read once was evicted by the flood")
	require.Equal(t, int64(hot+100), valueOf(t, s, "dev/hot", hot))
	require.True(t, cached(hot), "read again, it is back in memory")
}

// TestCacheEvictsColdestFirst: in a full cache, an addition evicts an entry not read since the hand last
// passed, never one read since; the ring reuses freed slots, so its length stays that of the most entries held.
func TestCacheEvictsColdestFirst(t *testing.T) {
	ctx := context.Background()
	const limit = 4 << 10
	s, err := OpenCache(filepath.Join(t.TempDir(), "store.db"), limit)
	require.NoError(t, err)
	defer s.Close()
	sc := cacheSchema()
	var rows []record.Entry
	for id := int64(0); id < 1000; id++ {
		rows = append(rows, cacheEntry(sc, id, id))
	}
	require.NoError(t, s.Put(ctx, "dev/v", rows))
	inCache := func() map[int64]bool {
		s.cache.mu.RLock()
		defer s.cache.mu.RUnlock()
		out := map[int64]bool{}
		for id := int64(0); id < 1000; id++ {
			if _, ok := s.cache.spaces["dev/v"].load(record.Key(nil, []record.Value{record.IntValue(id)})); ok {
				out[id] = true
			}
		}
		return out
	}
	id := int64(0)
	for s.cache.evictions == 0 { // fill the cache
		require.Equal(t, id, valueOf(t, s, "dev/v", id))
		id++
	}
	held := len(inCache())
	require.Greater(t, held, 10)
	for k := int64(0); k < 5; k++ { // read 5 of the cached keys again
		require.Equal(t, k, valueOf(t, s, "dev/v", k))
	}
	for n := 0; n < 3*held; n++ { // three times the cache's worth of new keys
		require.Equal(t, id, valueOf(t, s, "dev/v", id))
		id++
		for k := int64(0); k < 5; k++ {
			require.Equal(t, k, valueOf(t, s, "dev/v", k))
		}
	}
	got := inCache()
	for k := int64(0); k < 5; k++ {
		require.True(t, got[k], "key %d, read between additions, was evicted", k)
	}
	require.False(t, got[5], "key 5, read once, was not evicted")
	require.LessOrEqual(t, len(s.cache.slots), held+1, "freed slots are reused")
	require.LessOrEqual(t, s.cache.size(), int64(limit))
}

// TestCacheReadersSeeCommitOrder: while one writer upserts ever newer values of a key and bulk-Puts another,
// concurrent readers never see a value older than one they saw before, and once a write returned, every lookup
// sees it (or a newer one). Run with -race.
func TestCacheReadersSeeCommitOrder(t *testing.T) {
	ctx := context.Background()
	s, sc := openCached(t)
	const space = "dev/v"
	require.NoError(t, s.Upsert(ctx, space, []record.Entry{cacheEntry(sc, 1, 0), cacheEntry(sc, 2, 0)}, false))
	const writes = 300
	var done sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 8)
	for r := 0; r < 4; r++ {
		done.Add(1)
		go func() {
			defer done.Done()
			last := [3]int64{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, id := range []int64{1, 2} {
					v, err := lookupValue(s, space, id)
					if err != nil {
						errc <- err
						return
					}
					if v < last[id] {
						errc <- fmt.Errorf("key %d: read %d after %d", id, v, last[id])
						return
					}
					last[id] = v
				}
			}
		}()
	}
	for n := int64(1); n <= writes; n++ {
		require.NoError(t, s.Upsert(ctx, space, []record.Entry{cacheEntry(sc, 1, n)}, false))
		require.GreaterOrEqual(t, valueOf(t, s, space, 1), n, "after write %d returned", n)
		require.NoError(t, s.Put(ctx, space, []record.Entry{cacheEntry(sc, 2, n)}))
		require.Equal(t, n, valueOf(t, s, space, 2), "after Put %d returned", n)
	}
	close(stop)
	done.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
