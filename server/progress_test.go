package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/server"
)

// TestStalledClientWriteFails: a write to a client that stopped reading fails after WriteTimeout, so the
// handler ends and frees what it holds, although the response as a whole may run for longer than that.
func TestStalledClientWriteFails(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	writeErr := make(chan error, 1)
	mount := func(r chi.Router) {
		r.Get("/stream", func(w http.ResponseWriter, _ *http.Request) {
			chunk := make([]byte, 16<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					writeErr <- err
					return
				}
			}
		})
	}
	srv, err := server.New(server.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mounts: []func(chi.Router){mount}},
		server.Options{WriteTimeout: timeout})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	// The client now stops reading.
	select {
	case err := <-writeErr:
		require.ErrorContains(t, err, "timeout")
	case <-time.After(timeout + 10*time.Second):
		t.Fatal("the write to a stalled client did not fail")
	}
}

// TestKeepAliveAfterWriteDeadline: a deadline set for one response does not cut short the next request on the
// same keep-alive connection, however long after it comes.
func TestKeepAliveAfterWriteDeadline(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, server.Options{WriteTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i := 0; i < 3; i++ {
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/v1/openapi.yaml", nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err, "request %d", i)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, string(b), "openapi: 3.1.0")
		require.Equal(t, i > 0, reused, "request %d on the kept-alive connection", i)
		time.Sleep(300 * time.Millisecond)
	}
}
