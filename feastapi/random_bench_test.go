package feastapi_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/embedded"
)

// BenchmarkGetRandomEntities is BenchmarkGetOnlineFeatures over 256 request bodies of random entities (out of
// 10,000 × 50 doubles, as bench/online/bench.sh asks), so that rows come from all over the store, as under the
// load generator, not from the few pages one body touches; with the embedded store's row cache and without it.
// The handler's answer goes to a writer that keeps nothing.
//
//	go test -tags duckdb_arrow ./feastapi -run '^$' -bench GetRandomEntities -benchmem
func BenchmarkGetRandomEntities(b *testing.B) {
	for _, cache := range []int64{0, embedded.DefaultCacheBytes} {
		st, err := embedded.OpenCache(filepath.Join(b.TempDir(), "online.db"), cache)
		require.NoError(b, err)
		f := newFixture(b, feastapi.Options{Store: online.New(st)})
		wideBodies(b, f)
		refs := make([]string, 50)
		for i := range refs {
			refs[i] = fmt.Sprintf(`"wide:f%02d"`, i)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range []int{1, 100} {
			bodies := make([]string, 256)
			for i := range bodies {
				ids := make([]string, n)
				for j := range ids {
					ids[j] = fmt.Sprint(rng.IntN(10000))
				}
				bodies[i] = `{"features":[` + strings.Join(refs, ",") + `],"entities":{"user_id":[` + strings.Join(ids, ",") + `]}}`
			}
			b.Run(fmt.Sprintf("cache=%d/%dx50", cache>>20, n), func(b *testing.B) {
				b.ReportAllocs()
				w := &discard{h: http.Header{}}
				for i := 0; i < b.N; i++ {
					w.code = 0
					f.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/get-online-features", strings.NewReader(bodies[i%len(bodies)])))
					if w.code != 200 {
						b.Fatal(w.code)
					}
				}
			})
		}
	}
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header  { return d.h }
func (d *discard) WriteHeader(code int) { d.code = code }
func (d *discard) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	return len(p), nil
}
