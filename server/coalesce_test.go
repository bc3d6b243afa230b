package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordingListener records the size of every write the server makes on its connections.
type recordingListener struct {
	net.Listener
	mu      sync.Mutex
	writes  []int
	accepts int
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.accepts++
	l.mu.Unlock()
	return &recordingConn{Conn: c, l: l}, nil
}

func (l *recordingListener) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes
	l.writes = nil
	return w
}

type recordingConn struct {
	net.Conn
	l *recordingListener
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, len(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// serveCoalescing serves h as Server.Serve does (net/http over coalescing connections) and returns the base URL
// and the record of the server's writes.
func serveCoalescing(t *testing.T, h http.Handler) (string, *recordingListener) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rec := &recordingListener{Listener: ln}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = hs.Serve(coalescingListener{rec}) }()
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String(), rec
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// TestCoalescedResponsesAreWholeAndExact sends fixed-length responses of every interesting size over one
// keep-alive connection: each arrives byte for byte, and one longer than net/http's 4 KiB connection buffer
// (up to the copy limit) leaves the server in one write instead of two or more.
func TestCoalescedResponsesAreWholeAndExact(t *testing.T) {
	base, rec := serveCoalescing(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		if r.Method != http.MethodHead {
			_, _ = w.Write(pattern(n))
		}
	}))
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	sizes := []int{0, 1, 2000, 3900, 4000, 4096, 5000, 6000, 8000, 8192, 12288, 40000, 100000, 300000, maxHeld, 3 << 20}
	for _, n := range sizes {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, err := http.NewRequest(method, fmt.Sprintf("%s/?n=%d", base, n), nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			if method == http.MethodHead {
				require.Empty(t, body)
				rec.take()
				continue
			}
			require.Equal(t, n, len(body), "size %d", n)
			require.True(t, bytes.Equal(pattern(n), body), "size %d: body differs", n)
			writes := rec.take()
			if n > 4200 && n < copyMax {
				require.Len(t, writes, 1, "size %d: writes %v", n, writes)
			}
		}
	}
	require.Equal(t, 1, rec.accepts, "every request went over one keep-alive connection")
}

// TestFlushedPiecesArriveAtOnce checks that holding never delays what a handler flushes and then waits on:
// a chunked stream, and a fixed-length response flushed half way, each reach the client before the handler
// goes on (the handler waits for the client to have read them).
func TestFlushedPiecesArriveAtOnce(t *testing.T) {
	got := make(chan struct{})
	base, _ := serveCoalescing(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := pattern(5000)
		if r.URL.Path == "/fixed" {
			w.Header().Set("Content-Length", "10000")
		}
		_, _ = w.Write(first)
		w.(http.Flusher).Flush()
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			return // the client never saw the first piece: it fails below
		}
		_, _ = w.Write(pattern(5000))
	}))
	for _, path := range []string{"/chunked", "/fixed"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		first := make([]byte, 5000)
		_, err = io.ReadFull(resp.Body, first)
		require.NoError(t, err, path)
		got <- struct{}{}
		rest, err := io.ReadAll(resp.Body)
		require.NoError(t, err, path)
		require.Len(t, rest, 5000, path)
		_ = resp.Body.Close()
	}
}

// TestHeldBytesLeaveWithTheResponse drives a coalescing connection directly: a response starting with a full
// buffer is held until its last byte is written, even when that write is a full buffer too (no later write or
// read is needed), and a held response leaves when net/http turns to reading.
func TestHeldBytesLeaveWithTheResponse(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	rec := &recordingListener{}
	c := &coalescingConn{Conn: &recordingConn{Conn: server, l: rec}, fresh: true}
	received := make(chan []byte, 16)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if err != nil {
				close(received)
				return
			}
			received <- bytes.Clone(buf[:n])
		}
	}()
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
	bodyLen := 2*connBufferSize - len(head+"0000\r\n\r\n")
	resp := append([]byte(head+strconv.Itoa(bodyLen)+"\r\n\r\n"), pattern(bodyLen)...)
	require.Len(t, resp, 2*connBufferSize)
	write := func(p []byte) {
		n, err := c.Write(p)
		require.NoError(t, err)
		require.Equal(t, len(p), n)
	}
	write(resp[:connBufferSize])
	require.Empty(t, rec.take(), "the first full buffer is held")
	write(resp[connBufferSize:])
	require.Equal(t, []int{len(resp)}, rec.take(), "the completing write sends the whole response")
	require.Equal(t, resp, readN(t, received, len(resp)))

	// A fixed-length response cut short by the handler: held until net/http sets its read deadline.
	resp = append([]byte(head+"9000\r\n\r\n"), pattern(9000)...)
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	write(resp[:connBufferSize])
	require.Empty(t, rec.take())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
	require.Equal(t, []int{connBufferSize}, rec.take())
	require.Equal(t, resp[:connBufferSize], readN(t, received, connBufferSize))

	// A full buffer that starts no fixed-length response (a chunked stream, or a write that is not a response's
	// first) passes at once.
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	chunked := append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), pattern(connBufferSize)...)[:connBufferSize]
	write(chunked)
	require.Equal(t, []int{connBufferSize}, rec.take())
	require.Equal(t, chunked, readN(t, received, connBufferSize))
	write(resp[:connBufferSize])
	require.Equal(t, []int{connBufferSize}, rec.take(), "not fresh: the previous write started the response")
	require.Equal(t, resp[:connBufferSize], readN(t, received, connBufferSize))

	// A response cut short and its connection closed: Close sends what is held.
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	write(resp[:connBufferSize])
	require.Empty(t, rec.take())
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	require.Equal(t, resp[:connBufferSize], readN(t, received, connBufferSize))
	require.NoError(t, <-done)
	require.Equal(t, []int{connBufferSize}, rec.take())
}

func readN(t *testing.T, ch chan []byte, n int) []byte {
	var out []byte
	for len(out) < n {
		select {
		case b, ok := <-ch:
			require.True(t, ok, "connection closed after %d of %d bytes", len(out), n)
			out = append(out, b...)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d of %d bytes", len(out), n)
		}
	}
	return out
}
