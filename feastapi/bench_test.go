package feastapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online/onlinetest"
	"github.com/strata-data/strata/server"
)

// wideBodies fills prod/wide with 10,000 entities × 50 double features and returns the request bodies of 1 and
// 100 random entities × the 50 features.
func wideBodies(b *testing.B, f *fixture) map[int]string {
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
	out := map[int]string{}
	for _, n := range []int{1, 100} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint(rand.IntN(10000))
		}
		out[n] = `{"features":[` + strings.Join(refs, ",") + `],"entities":{"user_id":[` + strings.Join(ids, ",") + `]}}`
	}
	return out
}

// BenchmarkGetOnlineFeatures measures the handler alone (no network, no server middleware): 1 and 100
// entities × 50 double features over the embedded store.
//
//	go test -tags duckdb_arrow ./feastapi -run '^$' -bench GetOnlineFeatures -benchmem
func BenchmarkGetOnlineFeatures(b *testing.B) {
	f := newFixture(b, feastapi.Options{})
	bodies := wideBodies(b, f)
	for _, n := range []int{1, 100} {
		body := bodies[n]
		b.Run(fmt.Sprintf("%dx50", n), func(b *testing.B) {
			b.ReportAllocs()
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

// BenchmarkServeOnlineFeatures measures the whole server path as `strata serve` runs it: the server package's
// router and middleware (request id, Prometheus, recovery, write progress, host/origin checks, authentication
// without users on loopback) over a loopback TCP connection with keep-alive, one request at a time, sent by
// net/http's client (whose CPU and allocations count too).
//
//	go test -tags duckdb_arrow ./feastapi -run '^$' -bench ServeOnlineFeatures -benchmem
func BenchmarkServeOnlineFeatures(b *testing.B) {
	base, bodies := benchServer(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for _, n := range []int{1, 100} {
		body := []byte(bodies[n])
		b.Run(fmt.Sprintf("%dx50", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				resp, err := client.Post(base+"/get-online-features", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}

// BenchmarkServeOnlineFeaturesRaw is BenchmarkServeOnlineFeatures with a client that costs almost nothing
// (prepared request bytes on one keep-alive connection, the answer read by its Content-Length into a reused
// buffer, as bench/online/loadgen does), so its CPU and allocations are the server's.
//
//	go test -tags duckdb_arrow ./feastapi -run '^$' -bench ServeOnlineFeaturesRaw -benchmem
func BenchmarkServeOnlineFeaturesRaw(b *testing.B) {
	base, bodies := benchServer(b)
	addr := strings.TrimPrefix(base, "http://")
	for _, n := range []int{1, 100} {
		req := []byte(fmt.Sprintf("POST /get-online-features HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			addr, len(bodies[n]), bodies[n]))
		b.Run(fmt.Sprintf("%dx50", n), func(b *testing.B) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(b, err)
			defer conn.Close()
			rd := bufio.NewReaderSize(conn, 64<<10)
			var body []byte
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				if body, err = readAnswer(rd, body); err != nil {
					b.Fatal(err)
				}
			}
		})
		// 16 connections at once, as bench/online/bench.sh's c=16 lines (8 goroutines per GOMAXPROCS on 2 cores).
		b.Run(fmt.Sprintf("%dx50-c16", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				rd := bufio.NewReaderSize(conn, 64<<10)
				var body []byte
				for pb.Next() {
					if _, err := conn.Write(req); err != nil {
						b.Error(err)
						return
					}
					if body, err = readAnswer(rd, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// readAnswer reads one 200 response framed by Content-Length into buf.
func readAnswer(rd *bufio.Reader, buf []byte) ([]byte, error) {
	length := -1
	for first := true; ; first = false {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return buf, err
		}
		if first && !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			return buf, fmt.Errorf("answer %q", line)
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return buf, fmt.Errorf("answer without Content-Length")
	}
	buf = slices.Grow(buf[:0], length)[:length]
	_, err := io.ReadFull(rd, buf)
	return buf, err
}

// benchServer serves feature serving through the server package as `strata serve` does (server.Serve on a
// loopback listener) and returns its base URL.
func benchServer(b *testing.B) (string, map[int]string) {
	f := newFixture(b, feastapi.Options{})
	bodies := wideBodies(b, f)
	feast := feastapi.New(feastapi.Options{Defs: f.reg, Store: f.store, Envs: f.envs, Now: func() time.Time { return now }})
	srv, err := server.New(server.Deps{DB: f.db, Envs: f.envs, Engine: f.eng, Auth: auth.New(f.db, auth.Options{}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mounts: []func(chi.Router){feast.Mount}},
		server.Options{Addr: "127.0.0.1:0", WriteTimeout: 30 * time.Second, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute})
	require.NoError(b, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Second) }()
	b.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String(), bodies
}
