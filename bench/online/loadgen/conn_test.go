package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConnReadsEveryFraming reads answers framed by Content-Length, chunked encoding (small and larger than
// the read buffer) and the connection's end, and keeps the connection for the next request when it may.
func TestConnReadsEveryFraming(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			_, _ = w.Write(body)
		case "/chunked":
			for _, part := range []string{"ab", big, "cd"} {
				_, _ = w.Write([]byte(part))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c, err := dial(addr, time.Now().Add(time.Minute))
	require.NoError(t, err)
	defer c.Close()
	req := func(path, body string) []byte {
		return []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", path, addr, len(body), body))
	}
	for _, body := range []string{"hello", big, ""} { // a response longer than the buffer grows it
		resp, err := c.do(req("/length", body))
		require.NoError(t, err)
		require.Equal(t, 200, resp.status)
		require.Equal(t, body, string(resp.body))
	}
	resp, err := c.do(req("/chunked", ""))
	require.NoError(t, err)
	require.Equal(t, "ab"+big+"cd", string(resp.body))
	resp, err = c.do(req("/teapot", ""))
	require.NoError(t, err)
	require.Equal(t, http.StatusTeapot, resp.status)
	require.False(t, c.closed)
	resp, err = c.do(req("/close", ""))
	require.NoError(t, err)
	require.Equal(t, "bye", string(resp.body))
	require.True(t, c.closed)
}

// TestRunChecksAnswers runs the generator against the canned server (answers pass) and against servers that
// answer wrongly: errors from the first answer fail the run, later non-200s are counted, never timed.
func TestRunChecksAnswers(t *testing.T) {
	ok := cannedServer(t)
	o := testOptions(t, ok, 2)
	res, err := run(o)
	require.NoError(t, err)
	require.Zero(t, res.errs)
	require.NotEmpty(t, res.lat)

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error_code":"INVALID_ARGUMENT"}`))
	}))
	defer bad.Close()
	_, err = run(testOptions(t, bad.URL, 2))
	require.ErrorContains(t, err, "status 400")

	var n int
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++ // requests are sequential; the first 257 are untimed: every body once, then the connection's first
		if n > 257 && n%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		cannedHandler("driver_id").ServeHTTP(w, r)
	}))
	defer flaky.Close()
	o = testOptions(t, flaky.URL, 1)
	o.maxReq = 41
	res, err = run(o)
	require.NoError(t, err)
	require.EqualValues(t, 21, res.errs) // requests 258, 260, ..., 298 of the server's count (timed: 258 to 298)
	require.Len(t, res.lat, 20)
	require.Contains(t, res.errSummary, "21× status 503")

	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"metadata":{"feature_names":["driver_id","f00"]},"results":[` +
			`{"values":[1],"statuses":["PRESENT"],"event_timestamps":["x"]},{"values":[null],"statuses":["NOT_FOUND"],"event_timestamps":["x"]}]}`))
	}))
	defer wrong.Close()
	_, err = run(testOptions(t, wrong.URL, 1))
	require.Error(t, err)

	// A server whose answers change once each prepared body was asked (a valid answer, but not the first one to
	// the same request) fails the run: every answer is checked, not only the decoded ones.
	var m int
	changing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m++
		rec := httptest.NewRecorder()
		cannedHandler("driver_id").ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if m > 300 { // after the 257 untimed first answers
			body = bytes.ReplaceAll(body, []byte("0.5"), []byte("0.7"))
		}
		_, _ = w.Write(body)
	}))
	defer changing.Close()
	o = testOptions(t, changing.URL, 1)
	o.maxReq = 400
	_, err = run(o)
	require.ErrorContains(t, err, "answer differs from the first answer to the same request")

	// A server dropping a connection during the untimed checks (as Feast does with idle ones) is dialled again.
	var k int
	dropping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k++; k == 3 {
			c, _, _ := w.(http.Hijacker).Hijack()
			_ = c.Close()
			return
		}
		cannedHandler("driver_id").ServeHTTP(w, r)
	}))
	defer dropping.Close()
	res, err = run(testOptions(t, dropping.URL, 2))
	require.NoError(t, err)
	require.Zero(t, res.errs)
}

func cannedServer(t *testing.T) string {
	srv := httptest.NewServer(cannedHandler("driver_id"))
	t.Cleanup(srv.Close)
	return srv.URL
}

func testOptions(t *testing.T, base string, conc int) *options {
	u, err := url.Parse(base)
	require.NoError(t, err)
	o := &options{addr: u.Host, path: "/get-online-features?env=dev", view: "bench", key: "driver_id",
		features: []string{"f00", "f01"}, entities: 3, keyspace: 100, conc: conc, maxReq: 200, dur: 10 * time.Second}
	o.reqs = prepare(o, newRand(1))
	return o
}

// TestLatencyFile: with -latfile each successful request's start and latency are written, one line each, and
// the latencies are the run's.
func TestLatencyFile(t *testing.T) {
	o := testOptions(t, cannedServer(t), 2)
	o.maxReq = 50
	o.latFile = filepath.Join(t.TempDir(), "lat.txt")
	res, err := run(o)
	require.NoError(t, err)
	require.Len(t, res.starts, len(res.lat))
	require.NoError(t, writeLatencies(o.latFile, res))
	raw, err := os.ReadFile(o.latFile)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 50)
	for i, l := range lines {
		var start, lat int64
		_, err := fmt.Sscanf(l, "%d %d", &start, &lat)
		require.NoError(t, err, l)
		require.GreaterOrEqual(t, start, int64(0))
		require.Equal(t, res.lat[i].Microseconds(), lat)
	}
}
