package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// FuzzFastHead: whatever bytes arrive, the fast path's head parser either declines them and consumes nothing
// (net/http gets every byte), or returns the request net/http reads from the same bytes — method, target, Host,
// Content-Length and header map — for one of the routes it serves.
func FuzzFastHead(f *testing.F) {
	for _, s := range []string{
		"POST /get-online-features HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}",
		"POST /feast/prod/get-online-features?env=prod HTTP/1.1\r\nhost: a:1\r\ncontent-length: 0\r\nAuthorization: Bearer x\r\n\r\n",
		"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"POST /get-online-features HTTP/1.1\r\nHost: x\r\nX-A:  a b \t\r\nX-A: c\r\nContent-Length: 3\r\n\r\n",
		"POST /get-online-features HTTP/1.1\r\nHost: x\r\n folded\r\nContent-Length: 3\r\n\r\n",
		"POST /get-online-features HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /get-online-features HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /feast/../get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /get-online-features?a=%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /get-online-features HTTP/1.1\nHost: x\n\n",
		"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), fastBufSize)
		h, err := readFastHead(br)
		if h == nil {
			rest, _ := io.ReadAll(br)
			require.Equal(t, in, rest, "declined bytes stay for net/http (err %v)", err)
			return
		}
		require.NoError(t, err)
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		require.NoError(t, err, "net/http reads what the fast path serves")
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, r.RequestURI, h.target)
		require.Equal(t, r.Host, h.host)
		require.Equal(t, r.ContentLength, h.length)
		require.Equal(t, r.Header, h.header)
		require.True(t, r.ProtoMajor == 1 && r.ProtoMinor == 1)
		require.True(t, fastServedPath([]byte(r.URL.Path)), r.URL.Path)
		require.Empty(t, r.TransferEncoding)
	})
}

// serveFast serves h at POST /get-online-features through Server.Serve (with its fast path) and returns the
// server, its address and a function that shuts it down and returns Serve's error.
func serveFast(t *testing.T, h http.HandlerFunc, o Options) (*Server, string, func() error) {
	o.Addr = "127.0.0.1:0"
	srv, err := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mounts: []func(chi.Router){func(r chi.Router) { r.Post("/get-online-features", h) }}}, o)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 2*time.Second) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return srv, ln.Addr().String(), stop
}

func echoJSON(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func fastReq(body string) string {
	return fmt.Sprintf("POST /get-online-features HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func (s *Server) fastConns() int {
	fs := s.fast.Load()
	if fs == nil { // Serve has not started yet
		return -1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.conns)
}

// TestFastPathVanishingClients: clients that disappear — before sending anything, in the middle of the head or
// of the body, after the request without reading the answer, with a reset (SIGKILL of a client with unread data)
// or a plain close — leave no connection or goroutine behind, and the server keeps answering.
func TestFastPathVanishingClients(t *testing.T) {
	srv, addr, _ := serveFast(t, echoJSON, Options{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute})
	full := fastReq(`{"a":1}`)
	for _, sent := range []string{"", full[:10], full[:40], full[:len(full)-3], full, full + full} {
		for _, reset := range []bool{false, true} {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = io.WriteString(c, sent)
			require.NoError(t, err)
			time.Sleep(20 * time.Millisecond)
			if reset {
				require.NoError(t, c.(*net.TCPConn).SetLinger(0))
			}
			require.NoError(t, c.Close())
		}
	}
	require.Eventually(t, func() bool { return srv.fastConns() == 0 }, 3*time.Second, 10*time.Millisecond, "every vanished connection is gone")
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, full)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, `{"a":1}`, string(body))
}

// TestFastPathShutdown: shutting down closes idle fast connections at once and lets a request under way finish,
// answered with Connection: close.
func TestFastPathShutdown(t *testing.T) {
	started := make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		echoJSON(w, r)
	}
	srv, addr, stop := serveFast(t, slow, Options{IdleTimeout: time.Minute})
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer busy.Close()
	require.Eventually(t, func() bool { return srv.fastConns() == 2 }, time.Second, 5*time.Millisecond)
	_, err = io.WriteString(busy, fastReq(`{"b":2}`))
	require.NoError(t, err)
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	_ = idle.SetReadDeadline(time.Now().Add(time.Second))
	_, err = idle.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the idle connection is closed")
	_ = busy.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, `{"b":2}`, string(body))
	require.True(t, resp.Close, "Connection: close")
	require.NoError(t, <-stopped)
}

// TestFastPathPanicsAndMetrics: a panicking handler gets the recovery middleware's 500 on the fast path too, a
// handler that aborts (http.ErrAbortHandler) drops the connection, and fast requests are counted under their
// route in /metrics.
func TestFastPathPanicsAndMetrics(t *testing.T) {
	_, addr, _ := serveFast(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch string(b) {
		case "panic":
			panic("boom")
		case "abort":
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write(b)
	}, Options{})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	_, err = io.WriteString(c, fastReq("panic")+fastReq("ok"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Contains(t, string(body), "INTERNAL_ERROR")
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	require.Equal(t, "ok", string(body))

	_, err = io.WriteString(c, fastReq("abort"))
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	require.ErrorIs(t, err, io.EOF)

	resp, err = http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Contains(t, string(metrics), `strata_http_requests_total{code="200",method="POST",route="/get-online-features"} 1`)
	require.Contains(t, string(metrics), `strata_http_requests_total{code="500",method="POST",route="/get-online-features"} 1`)
	require.True(t, strings.Contains(string(metrics), `strata_http_request_duration_seconds_count{method="POST",route="/get-online-features"}`))
}

// TestFastPathWriteBuffers: a handler that finds the writer of several buffers behind the middleware's writers
// (as feastapi does) gets its answer sent as a Write of the same bytes would be, on the fast path and on
// net/http (the write-progress middleware writes the pieces one by one there): with a Content-Length, without
// one (net/http's framing: chunked), after a first Write, above the write-progress middleware's piece (in
// groups), and with more bytes than the declared length (http.ErrContentLength, the connection closed as for a
// short answer); the Content-Type sniffed from the first bytes (the first buffer empty) as net/http does.
func TestFastPathWriteBuffers(t *testing.T) {
	pieces := net.Buffers{{}, []byte(`{"a":[`), bytes.Repeat([]byte(`"x",`), 900), []byte(`"y"]}`)} // no Content-Type: sniffed
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	// Above the write-progress middleware's piece (512 KiB): sent in groups, each within its own deadline.
	large := net.Buffers{}
	for i := range 50 {
		large = append(large, bytes.Repeat([]byte{'a' + byte(i%26)}, 16<<10))
	}
	large = append(large, bytes.Repeat([]byte{'z'}, 600<<10)) // one piece longer than that alone
	largeLen := 0
	for _, p := range large {
		largeLen += len(p)
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		mode, _ := io.ReadAll(r.Body)
		if string(mode) == "large" {
			w.Header().Set("Content-Length", strconv.Itoa(largeLen))
			if n, err := findBuffers(w).WriteBuffers(append(net.Buffers{}, large...)); err != nil || n != int64(largeLen) {
				panic(fmt.Sprintf("large: wrote %d of %d: %v", n, largeLen, err))
			}
			return
		}
		bw := findBuffers(w)
		bufs := append(net.Buffers{}, pieces...)
		switch string(mode) {
		case "length":
			w.Header().Set("Content-Length", strconv.Itoa(total))
		case "after write":
			w.Header().Set("Content-Length", strconv.Itoa(total+2))
			_, _ = w.Write([]byte("[\n"))
		case "too long":
			w.Header().Set("Content-Length", strconv.Itoa(total-1))
		}
		w.WriteHeader(http.StatusOK)
		n, err := bw.WriteBuffers(bufs)
		if string(mode) == "too long" {
			if !errors.Is(err, http.ErrContentLength) || n >= int64(total) {
				panic(fmt.Sprintf("too long: wrote %d, %v", n, err))
			}
			return
		}
		if err != nil || n != int64(total) {
			panic(fmt.Sprintf("wrote %d of %d: %v", n, total, err))
		}
	}
	want := string(bytes.Join(pieces, nil))
	types := map[bool][]string{} // the Content-Type of each answer, per path
	for _, noFast := range []bool{false, true} {
		_, addr, _ := serveFast(t, handler, Options{WriteTimeout: 5 * time.Second, NoFastPath: noFast})
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		br := bufio.NewReader(c)
		for _, mode := range []string{"length", "chunked", "after write", "large", "length"} {
			_, err = io.WriteString(c, fastReq(mode))
			require.NoError(t, err)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", mode, body)
			types[noFast] = append(types[noFast], mode+": "+resp.Header.Get("Content-Type"))
			switch mode {
			case "chunked":
				require.Equal(t, []string{"chunked"}, resp.TransferEncoding, mode)
				require.Equal(t, want, string(body))
			case "after write":
				require.Equal(t, int64(total+2), resp.ContentLength)
				require.Equal(t, "[\n"+want, string(body))
			case "large":
				require.Equal(t, int64(largeLen), resp.ContentLength)
				require.Equal(t, string(bytes.Join(large, nil)), string(body))
			default:
				require.Equal(t, int64(total), resp.ContentLength)
				require.Equal(t, want, string(body))
			}
		}
		_, err = io.WriteString(c, fastReq("too long"))
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err == nil { // the head went out: the body stops short and the connection closes
			_, err = io.ReadAll(resp.Body)
			require.Error(t, err, "fast path %v", !noFast)
		}
		_ = c.Close()
	}
	require.Equal(t, types[true], types[false], "the same Content-Type, sniffed from the first bytes, as net/http")
}

// findBuffers finds the writer of several buffers among w and the writers it wraps, as feastapi does.
func findBuffers(w http.ResponseWriter) buffersWriter {
	bw, ok := innerBuffersWriter(w)
	if !ok {
		panic("no writer of buffers behind the middleware's writers")
	}
	return bw
}
