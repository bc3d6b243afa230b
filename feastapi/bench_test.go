package feastapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online/onlinetest"
)

// BenchmarkGetOnlineFeatures measures the handler alone (no network): 1 and 100 entities of user_stats's
// features over the embedded store.
func BenchmarkGetOnlineFeatures(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t, feastapi.Options{})
	fields := []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts},
		{Name: "total", Type: arrow.PrimitiveTypes.Float64}, {Name: "country", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}
	var rows [][]any
	for i := 0; i < 1000; i++ {
		rows = append(rows, []any{i, now, float64(i), "fr", i})
	}
	rdr := onlinetest.Rows(b, fields, rows...)
	require.NoError(b, f.store.WriteLatest(f.ctx, "prod/user_stats", []string{"user_id"}, rdr))
	rdr.Release()
	for _, n := range []int{1, 100} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint(i * 7 % 1000)
		}
		body := `{"features":["user_stats:total","user_stats:country","user_stats:n"],"entities":{"user_id":[` + strings.Join(ids, ",") + `]}}`
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/get-online-features", strings.NewReader(body)))
				if w.Code != 200 {
					b.Fatal(w.Body.String())
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/req")
		})
	}
}
