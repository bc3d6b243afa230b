package feastapi_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online/onlinetest"
)

// BenchmarkGetOnlineFeatures measures the handler alone (no network, no server middleware): 1 and 100
// entities × 50 double features over the embedded store.
//
//	go test -tags duckdb_arrow ./feastapi -run '^$' -bench GetOnlineFeatures
func BenchmarkGetOnlineFeatures(b *testing.B) {
	f := newFixture(&testing.T{}, feastapi.Options{})
	fields := []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts}}
	refs := make([]string, 50)
	for i := range refs {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%02d", i), Type: arrow.PrimitiveTypes.Float64})
		refs[i] = fmt.Sprintf(`"wide:f%02d"`, i)
	}
	var rows [][]any
	for i := 0; i < 10000; i++ {
		row := []any{i, now}
		for range refs {
			row = append(row, rand.Float64())
		}
		rows = append(rows, row)
	}
	rdr := onlinetest.Rows(b, fields, rows...)
	require.NoError(b, f.store.WriteLatest(f.ctx, "prod/wide", []string{"user_id"}, rdr))
	rdr.Release()
	for _, n := range []int{1, 100} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint(rand.IntN(10000))
		}
		body := `{"features":[` + strings.Join(refs, ",") + `],"entities":{"user_id":[` + strings.Join(ids, ",") + `]}}`
		b.Run(fmt.Sprintf("%dx50", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/get-online-features", strings.NewReader(body)))
				if w.Code != 200 {
					b.Fatal(w.Body.String())
				}
			}
		})
	}
}
