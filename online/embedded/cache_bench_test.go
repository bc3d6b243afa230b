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
