package server

import (
	"bytes"
	"io"
	"net"
	"sync"
	"time"
)

// net/http writes a response through a 4 KiB connection buffer: a response longer than that leaves in two or
// more write system calls — for a 6 KB online-features answer, the status line, headers and first 3.9 KB, then
// the rest when the handler returns. On loopback every write carries the whole TCP path and wakes the client,
// which reads the first piece, finds it short and sleeps again: the profile of `strata serve` at 16 concurrent
// clients (BenchmarkServeOnlineFeaturesRaw/1x50-c16) had the server's writes at a quarter of all CPU.
//
// coalescingConn holds back the full-buffer writes of a response whose header declares its Content-Length (up to
// maxHeld bytes) and sends them with the write that completes it — or with any write that is not a full buffer
// (the tail, or a handler's explicit flush) — in one writev. Held bytes also leave whenever net/http turns to
// reading (it sets a read deadline after every response; Close sends them too, within heldWriteTimeout), so
// nothing stays held past its response. Streamed (chunked) responses, whose handlers flush and wait, pass through
// untouched; the one case delayed is a fixed-length response whose handler flushes exactly a full buffer mid-way
// and then waits for the client, which no Strata handler does (its bytes leave with the response's next write).

// connBufferSize is the size of net/http's connection write buffer (bufferBeforeChunkingSize is the response's;
// the connection's is 4 << 10): a write of exactly this many bytes is a full buffer with more to follow.
const connBufferSize = 4 << 10

// maxHeld bounds what one connection holds back; a longer response is sent as it comes.
const maxHeld = 1 << 20

type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescingConn{Conn: c, fresh: true}, nil
}

// coalescingConn is a server connection that sends a fixed-length response in one write. Reads and writes
// may come from different goroutines (net/http reads in the background while a handler writes).
type coalescingConn struct {
	net.Conn
	mu    sync.Mutex
	fresh bool // nothing written since the last read or read deadline: the next write starts a response
	left  int  // > 0 while holding: bytes of the response still to come
	held  []byte
	bufs  net.Buffers // reused for writev
	err   error       // a failed write of held bytes, returned by the next call
}

var (
	statusPrefix  = []byte("HTTP/1.1 ")
	headerEnd     = []byte("\r\n\r\n")
	contentLength = []byte("\r\nContent-Length: ")
)

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.fresh && len(p) == connBufferSize {
		c.left = responseLength(p)
	}
	c.fresh = false
	if c.left > 0 {
		c.left -= len(p)
		if c.left > 0 && len(p) == connBufferSize {
			c.held = append(c.held, p...)
			return len(p), nil
		}
		c.left = 0
	}
	if len(c.held) == 0 {
		return c.Conn.Write(p)
	}
	var err error
	if len(p) <= copyMax { // one write of one buffer
		c.held = append(c.held, p...)
		_, err = c.Conn.Write(c.held)
	} else { // one writev, without copying a long write
		c.bufs = append(c.bufs[:0], c.held, p)
		_, err = c.bufs.WriteTo(c.Conn)
	}
	c.held = c.held[:0]
	if err != nil {
		c.err = err
		return 0, err
	}
	return len(p), nil
}

// copyMax is the longest write appended to the held bytes; longer ones go out beside them (writev).
const copyMax = 64 << 10

// responseLength returns the length of the response p starts (status line, header and a body of the declared
// Content-Length), when that is at most maxHeld; else 0.
func responseLength(p []byte) int {
	if !bytes.HasPrefix(p, statusPrefix) {
		return 0
	}
	end := bytes.Index(p, headerEnd)
	if end < 0 {
		return 0
	}
	i := bytes.Index(p[:end+2], contentLength)
	if i < 0 {
		return 0
	}
	n := 0
	for _, d := range p[i+len(contentLength) : end+2] {
		if d == '\r' {
			break
		}
		if d < '0' || d > '9' || n > maxHeld {
			return 0
		}
		n = n*10 + int(d-'0')
	}
	if total := end + len(headerEnd) + n; total <= maxHeld {
		return total
	}
	return 0
}

// heldWriteTimeout bounds the write of held bytes outside a Write: net/http has reset the connection's write
// deadline by then, and a client that stopped reading must not hold the connection forever.
const heldWriteTimeout = 10 * time.Second

// flush sends held bytes; the caller holds mu. Outside Write, bytes are still held only when a handler wrote less
// than the Content-Length it declared (a complete response leaves with its last write): net/http is about to
// close the connection.
func (c *coalescingConn) flush() error {
	c.left = 0
	if len(c.held) > 0 && c.err == nil {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(heldWriteTimeout))
		_, c.err = c.Conn.Write(c.held)
		_ = c.Conn.SetWriteDeadline(time.Time{})
	}
	c.held = c.held[:0]
	return c.err
}

// release sends held bytes when net/http turns to reading (it sets a read deadline after every response).
func (c *coalescingConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fresh = true
	return c.flush()
}

// Read marks the next write as a response's first. It sends nothing: net/http reads in the background while a
// handler writes, and a response held mid-way leaves with its own last write.
func (c *coalescingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.fresh = true
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *coalescingConn) SetReadDeadline(t time.Time) error {
	if err := c.release(); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *coalescingConn) SetDeadline(t time.Time) error {
	if err := c.release(); err != nil {
		return err
	}
	return c.Conn.SetDeadline(t)
}

func (c *coalescingConn) Close() error {
	c.mu.Lock()
	_ = c.flush()
	c.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite is net/http's half-close before closing a connection after an error response.
func (c *coalescingConn) CloseWrite() error {
	if err := c.release(); err != nil {
		return err
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps sendfile for file responses (net/http uses it when the connection has it).
func (c *coalescingConn) ReadFrom(r io.Reader) (int64, error) {
	c.mu.Lock()
	err := c.flush()
	c.fresh = false
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
