package embedded

import (
	"math/rand/v2"
	"testing"

	"github.com/strata-data/strata/online/record"
)

// BenchmarkCacheGet: 100 random integer keys of 10,000 cached ones, as one lookup of a 100-entity request.
//
//	go test ./online/embedded -run '^$' -bench CacheGet
func BenchmarkCacheGet(b *testing.B) {
	c := newCache(DefaultCacheBytes)
	const space, n = "dev/v", 10000
	sc := c.create(space)
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = record.Key(nil, []record.Value{record.IntValue(int64(i))})
		c.put(space, sc, 0, keys[i:i+1], [][]byte{make([]byte, 1300)}, []int{0})
	}
	batch, vals := make([][]byte, 100), make([][]byte, 100)
	rng := rand.New(rand.NewPCG(1, 2))
	var miss []int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j] = keys[rng.IntN(n)]
		}
		_, _, miss = c.get(space, batch, vals, miss[:0])
		if len(miss) > 0 {
			b.Fatal("missed")
		}
	}
}

// BenchmarkCacheSkewed reports the share of lookups the cache answers (hits/lookup) when it holds about a fifth
// of 10,000 rows of 1,300 bytes and the keys read follow a Zipf law (s = 1.1: a few rows are read often, most
// rarely), one key per lookup, each miss added as a lookup would.
//
//	go test ./online/embedded -run '^$' -bench CacheSkewed
func BenchmarkCacheSkewed(b *testing.B) {
	const n, rowLen = 10000, 1300
	c := newCache(n / 5 * cost(9, make([]byte, rowLen)))
	const space = "dev/v"
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = record.Key(nil, []record.Value{record.IntValue(int64(i))})
	}
	row := make([]byte, rowLen)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, n-1)
	vals := make([][]byte, 1)
	var miss []int
	hits := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[zipf.Uint64()]
		vals[0] = nil
		var sc *spaceCache
		var gen uint64
		sc, gen, miss = c.get(space, [][]byte{k}, vals, miss[:0])
		if len(miss) == 0 {
			hits++
			continue
		}
		vals[0] = row
		c.put(space, sc, gen, [][]byte{k}, vals, miss)
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hits/lookup")
}
