package feastapi_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
)

// buffersRecorder is a test recorder that also takes an answer as several buffers in one write, as the
// server's fast path does, and records how many.
type buffersRecorder struct {
	*httptest.ResponseRecorder
	writes, pieces int
}

func (r *buffersRecorder) WriteBuffers(bufs net.Buffers) (int64, error) {
	r.writes++
	r.pieces += len(bufs)
	var n int64
	for _, b := range bufs {
		m, err := r.Write(b)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// unwrapper is a middleware's writer in front of another: the buffers writer is found behind it.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestAnswerByReference: an answer whose event-timestamp and PRESENT-status lists are long is sent, to a writer
// that takes several buffers (found behind a wrapping middleware's writer), as one write of pieces, the shared
// lists by reference — and its bytes and Content-Length are exactly those of the answer rendered into one
// buffer for a plain writer: rows found, absent (NOT_FOUND), too old (OUTSIDE_MAX_AGE), null values, one entity
// and 300.
func TestAnswerByReference(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	var rows [][]any
	for i := 1; i <= 250; i++ {
		age := time.Duration(i%7) * time.Minute
		if i%50 == 0 {
			age = 2 * time.Hour // beyond the view's 1h TTL
		}
		var total any = float64(i) / 8
		if i%11 == 0 {
			total = nil
		}
		rows = append(rows, []any{i, now.Add(-age), nil, total, fmt.Sprint("c", i), i})
	}
	f.userStats(t, "prod/user_stats", rows...)
	for _, n := range []int{1, 30, 120, 300} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = strconv.Itoa(1 + i%260) // 251..260 are absent
		}
		for _, feats := range []string{`"user_stats:country","user_stats:n"`, `"user_stats:total","user_stats:country","user_stats:n"`} {
			body := `{"features":[` + feats + `],"entities":{"user_id":[` + strings.Join(ids, ",") + `]}}`
			plain := httptest.NewRecorder()
			f.h.ServeHTTP(plain, httptest.NewRequest(http.MethodPost, "/get-online-features?env=prod", strings.NewReader(body)))
			require.Equal(t, 200, plain.Code, plain.Body.String())
			rec := &buffersRecorder{ResponseRecorder: httptest.NewRecorder()}
			f.h.ServeHTTP(unwrapper{rec}, httptest.NewRequest(http.MethodPost, "/get-online-features?env=prod", strings.NewReader(body)))
			require.Equal(t, 200, rec.Code)
			require.Equal(t, plain.Body.String(), rec.Body.String(), "%d entities, %s", n, feats)
			require.Equal(t, strconv.Itoa(plain.Body.Len()), rec.Header().Get("Content-Length"))
			require.Equal(t, plain.Header().Get("Content-Length"), rec.Header().Get("Content-Length"))
			require.Equal(t, 1, rec.writes, "one write")
			if n >= 120 { // lists of 120 timestamps (and statuses) are long enough to go by reference
				require.Greater(t, rec.pieces, 4, "%d entities: the shared lists are pieces of their own", n)
			}
		}
	}
}
