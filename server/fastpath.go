package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A connection-level fast path for POST /get-online-features (and /feast/{env}/get-online-features): at 16
// concurrent clients of 1 entity × 50 features, net/http's own per-request work — its request parser and header
// maps, a background read goroutine and two deadline updates per request, the response's header snapshot and
// chunk writer — was a quarter of the server's CPU. Every connection starts here: fastServer reads the request
// line and headers itself (bounded by a 4 KiB buffer) and, for exactly that endpoint over plain HTTP/1.1 with a
// Content-Length (no Transfer-Encoding, Expect, Upgrade, Pragma or Connection other than keep-alive, one valid
// Host), builds the *http.Request and serves it through the same router and middleware as every other request
// (request id, metrics, recovery, write progress, Host/Origin checks, authentication and roles) with a
// ResponseWriter that frames the answer as net/http does (the same status line and headers; Content-Length, or
// chunked above 2 KB without one; Date; Connection: close when it closes; the unread body discarded up to
// 256 KiB, else the connection closed) and sends it in one write. Anything else — another method or path,
// HTTP/1.0, a malformed or oversized head — hands the connection, with every byte already read, to net/http for
// the rest of its life. Timeouts are net/http's: ReadHeaderTimeout from the first byte wait, IdleTimeout between
// requests, no deadline on the body (the server sets no ReadTimeout), and the handoff keeps the header deadline
// already running.

// fastBufSize is the request head buffer (net/http's own read buffer size): a longer head is handed off.
const fastBufSize = 4 << 10

// maxPostHandlerReadBytes is what net/http reads of a body the handler left unread before it gives up the
// connection.
const maxPostHandlerReadBytes = 256 << 10

// rstAvoidanceDelay is how long net/http waits after a half-close before closing a connection whose body it did
// not read, so that the client reads the answer before a reset.
const rstAvoidanceDelay = 500 * time.Millisecond

type fastServer struct {
	s       *Server
	hs      *http.Server
	ln      net.Listener
	handoff chan net.Conn
	done    chan struct{} // closed when the listener is closed or fails
	once    sync.Once
	err     error // why done closed, when the listener failed

	mu      sync.Mutex // guards conns
	closing atomic.Bool
	conns   map[*fastConn]struct{}
	wg      sync.WaitGroup
	ctx     context.Context // the base of request contexts: ServerContextKey
	readers sync.Pool
}

func newFastServer(s *Server, hs *http.Server, ln net.Listener) *fastServer {
	fs := &fastServer{s: s, hs: hs, ln: ln, handoff: make(chan net.Conn), done: make(chan struct{}), conns: map[*fastConn]struct{}{}}
	fs.ctx = context.WithValue(context.Background(), http.ServerContextKey, hs)
	fs.readers.New = func() any { return bufio.NewReaderSize(nil, fastBufSize) }
	return fs
}

// listener is what net/http serves: the connections the fast path hands off.
func (fs *fastServer) listener() net.Listener { return handoffListener{fs} }

type handoffListener struct{ fs *fastServer }

func (l handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.fs.handoff:
		return &coalescingConn{Conn: c, fresh: true}, nil
	case <-l.fs.done:
		if l.fs.err != nil {
			return nil, l.fs.err
		}
		return nil, net.ErrClosed
	}
}

func (l handoffListener) Close() error {
	l.fs.stop(nil)
	return l.fs.ln.Close()
}

func (l handoffListener) Addr() net.Addr { return l.fs.ln.Addr() }

func (fs *fastServer) stop(err error) {
	fs.once.Do(func() {
		fs.err = err
		close(fs.done)
	})
}

// acceptLoop accepts connections until the listener closes, retrying temporary errors as net/http does.
func (fs *fastServer) acceptLoop() {
	var delay time.Duration
	for {
		c, err := fs.ln.Accept()
		if err != nil {
			select {
			case <-fs.done:
				return
			default:
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				fs.hs.ErrorLog.Printf("http: Accept error: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			fs.stop(err)
			return
		}
		delay = 0
		fc := &fastConn{fs: fs, c: c}
		fs.mu.Lock()
		if fs.closing.Load() {
			fs.mu.Unlock()
			_ = c.Close()
			continue
		}
		fs.conns[fc] = struct{}{}
		fs.wg.Add(1)
		fs.mu.Unlock()
		go fc.serve()
	}
}

// shutdown stops keep-alive on the fast connections, closes the idle ones and waits for the others to finish
// their request, or for ctx.
func (fs *fastServer) shutdown(ctx context.Context) error {
	fs.mu.Lock()
	fs.closing.Store(true)
	for fc := range fs.conns {
		if fc.idle.Load() { // else it sees closing when it next turns idle (both are sequentially consistent)
			_ = fc.c.SetReadDeadline(time.Now()) // wakes its wait; it sees closing and closes
		}
	}
	fs.mu.Unlock()
	wait := make(chan struct{})
	go func() { fs.wg.Wait(); close(wait) }()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		fs.mu.Lock()
		for fc := range fs.conns {
			_ = fc.c.Close()
		}
		fs.mu.Unlock()
		return ctx.Err()
	}
}

// setIdle records whether fc waits for a request; it returns false when the server is shutting down and fc
// should close instead of waiting.
func (fs *fastServer) setIdle(fc *fastConn, idle bool) bool {
	fc.idle.Store(idle)
	return !(idle && fs.closing.Load())
}

func (fs *fastServer) keepAlives() bool { return !fs.closing.Load() }

// fastConn is one client connection while the fast path serves it.
type fastConn struct {
	fs     *fastServer
	c      net.Conn
	br     *bufio.Reader
	remote string
	ctx    context.Context
	w      fastWriter
	bufs   net.Buffers
	idle   atomic.Bool // waiting for a request: a shutdown closes it
}

func (fc *fastConn) serve() {
	handed := false
	defer func() {
		fc.fs.mu.Lock()
		delete(fc.fs.conns, fc)
		fc.fs.mu.Unlock()
		fc.fs.wg.Done()
		if !handed {
			_ = fc.c.Close()
		}
		if fc.br != nil {
			fc.br.Reset(nil)
			fc.fs.readers.Put(fc.br)
		}
	}()
	fc.br = fc.fs.readers.Get().(*bufio.Reader)
	fc.br.Reset(fc.c)
	fc.remote = fc.c.RemoteAddr().String()
	ctx, cancel := context.WithCancel(context.WithValue(fc.fs.ctx, http.LocalAddrContextKey, fc.c.LocalAddr()))
	defer cancel()
	fc.ctx = ctx
	opts := fc.fs.s.opts
	for first := true; ; first = false {
		// Waiting for a request, the connection is idle: a shutdown closes it.
		if !fc.fs.setIdle(fc, true) {
			return
		}
		var hdrDeadline time.Time
		if first { // net/http's header deadline runs from the connection's start
			if d := opts.ReadHeaderTimeout; d > 0 {
				hdrDeadline = time.Now().Add(d)
			}
			_ = fc.c.SetReadDeadline(hdrDeadline)
			_, err := fc.br.Peek(1)
			if !fc.fs.setIdle(fc, false) || err != nil {
				return
			}
		} else {
			if d := opts.IdleTimeout; d > 0 {
				_ = fc.c.SetReadDeadline(time.Now().Add(d))
			}
			_, err := fc.br.Peek(4) // as net/http: the next request starts with at least 4 bytes
			if !fc.fs.setIdle(fc, false) || err != nil {
				return
			}
			if d := opts.ReadHeaderTimeout; d > 0 {
				hdrDeadline = time.Now().Add(d)
			}
			_ = fc.c.SetReadDeadline(hdrDeadline)
		}
		h, err := readFastHead(fc.br)
		if err != nil { // a read error or timeout: net/http closes without an answer too
			return
		}
		if h == nil {
			handed = fc.handOff(hdrDeadline)
			return
		}
		_ = fc.c.SetReadDeadline(time.Time{}) // the body has no deadline: the server sets no ReadTimeout
		if !fc.serveRequest(h) {
			return
		}
	}
}

// handOff gives the connection and its buffered bytes to net/http; false when the server is closing.
func (fc *fastConn) handOff(hdrDeadline time.Time) bool {
	pre, _ := fc.br.Peek(fc.br.Buffered())
	hc := &handedConn{Conn: fc.c, pre: bytes.Clone(pre), cap: hdrDeadline, capped: !hdrDeadline.IsZero()}
	select {
	case fc.fs.handoff <- hc:
		return true
	case <-fc.fs.done:
		return false
	}
}

// handedConn is a connection net/http takes over: it reads the bytes the fast path read first, and net/http's
// header deadline for the request under way is no later than the one already running.
type handedConn struct {
	net.Conn
	pre    []byte
	cap    time.Time
	capped bool
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *handedConn) capDeadline(t time.Time) time.Time {
	if c.capped {
		c.capped = false
		if t.IsZero() || t.After(c.cap) {
			t = c.cap
		}
	}
	return t
}

func (c *handedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.capDeadline(t))
}

func (c *handedConn) SetDeadline(t time.Time) error {
	if c.capped {
		if err := c.Conn.SetWriteDeadline(t); err != nil {
			return err
		}
		return c.Conn.SetReadDeadline(c.capDeadline(t))
	}
	return c.Conn.SetDeadline(t)
}

func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *handedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// fastHead is a parsed request head the fast path serves.
type fastHead struct {
	target string
	header http.Header
	host   string
	length int64
}

// readFastHead reads a request head from br. It returns nil (and consumes nothing) when the request is not one
// the fast path serves — the caller hands the connection off — and an error when reading fails.
func readFastHead(br *bufio.Reader) (*fastHead, error) {
	// The request line first: anything else is handed off at once, without waiting for its headers.
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			if _, ok := fastRequestLine(buf[:i+1]); !ok {
				return nil, nil
			}
			if bareLF(buf) { // net/http accepts lines ending in \n alone: it reads them (a head ending "\n\n" is not waited for)
				return nil, nil
			}
			if end := bytes.Index(buf, headEnd); end >= 0 {
				h := parseFastHead(buf[:end+len(headEnd)])
				if h != nil {
					_, _ = br.Discard(end + len(headEnd))
				}
				return h, nil
			}
		}
		if br.Buffered() == br.Size() {
			return nil, nil // a head longer than the buffer: net/http reads it
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if br.Buffered() > 0 {
				// net/http answers some cut heads (a partial request line is parsed as it is, and fails with 400)
				// and closes others: it gets the bytes, and the deadline that already passed or the end.
				return nil, nil
			}
			return nil, err
		}
	}
}

// bareLF says whether a line of buf ends in \n without \r.
func bareLF(buf []byte) bool {
	for i, c := range buf {
		if c == '\n' && (i == 0 || buf[i-1] != '\r') {
			return true
		}
	}
	return false
}

var (
	headEnd    = []byte("\r\n\r\n")
	fastPrefix = []byte("POST /")
	fastProto  = []byte(" HTTP/1.1\r\n")
)

// fastRequestLine returns the request target of `POST <target> HTTP/1.1\r\n` when its path is a Feast serving
// route the fast path serves.
func fastRequestLine(line []byte) (string, bool) {
	if !bytes.HasPrefix(line, fastPrefix) || !bytes.HasSuffix(line, fastProto) {
		return "", false
	}
	target := line[len(fastPrefix)-1 : len(line)-len(fastProto)]
	path := target
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		path = target[:i]
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return "", false
		}
	}
	if !fastServedPath(path) {
		return "", false
	}
	return string(target), true
}

// fastServedPath says whether path is /get-online-features or /feast/{env}/get-online-features with a plain
// environment name (no escapes, no further slashes).
func fastServedPath(path []byte) bool {
	const get = "/get-online-features"
	if string(path) == get {
		return true
	}
	tail, ok := bytes.CutPrefix(path, []byte("/feast/"))
	if !ok || !bytes.HasSuffix(tail, []byte(get)) {
		return false
	}
	env := tail[:len(tail)-len(get)]
	if len(env) == 0 {
		return false
	}
	for _, c := range env {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return string(env) != "." && string(env) != ".."
}

// parseFastHead parses a complete head (request line to the blank line); nil when the fast path does not serve
// it exactly as net/http would.
func parseFastHead(head []byte) *fastHead {
	i := bytes.IndexByte(head, '\n')
	target, ok := fastRequestLine(head[:i+1])
	if !ok {
		return nil
	}
	h := &fastHead{target: target, header: make(http.Header, 8), length: -1}
	hosts := 0
	for rest := head[i+1 : len(head)-2]; len(rest) > 0; {
		j := bytes.Index(rest, []byte("\r\n"))
		if j < 0 {
			return nil
		}
		line := rest[:j]
		rest = rest[j+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, c := range name {
			if !isTokenByte(c) {
				return nil
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return nil
			}
		}
		key := canonicalKey(name)
		switch key {
		case "Transfer-Encoding", "Expect", "Upgrade", "Pragma", "Te", "Trailer", "Http2-Settings":
			return nil // net/http's own handling
		case "Connection":
			if !asciiEqualFold(value, "keep-alive") {
				return nil
			}
		case "Content-Length":
			if h.length >= 0 || len(value) == 0 || len(value) > 15 {
				return nil
			}
			n := int64(0)
			for _, c := range value {
				if c < '0' || c > '9' {
					return nil
				}
				n = n*10 + int64(c-'0')
			}
			h.length = n
		case "Host":
			hosts++
			if hosts > 1 || !validHost(value) {
				return nil
			}
			h.host = string(value)
			continue // net/http keeps the Host out of the header map
		}
		h.header[key] = append(h.header[key], string(value))
	}
	if hosts != 1 || h.length < 0 {
		return nil
	}
	return h
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// commonKeys are canonical header names looked up without allocating.
var commonKeys = map[string]string{}

func init() {
	for _, k := range []string{"Host", "Content-Type", "Content-Length", "User-Agent", "Accept", "Accept-Encoding",
		"Authorization", "Connection", "X-Strata-Env", "Origin", "X-Request-Id", "Sec-Fetch-Site", "Cookie"} {
		commonKeys[k] = k
	}
}

func canonicalKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// validHost accepts host[:port] made of letters, digits and . - _ : [ ] (a stricter set than net/http's, which
// reads anything else).
func validHost(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' ||
			c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// serveRequest serves one request through the router; false when the connection must close.
func (fc *fastConn) serveRequest(h *fastHead) (keep bool) {
	u, err := url.ParseRequestURI(h.target)
	if err != nil {
		// net/http answers a malformed target 400 and closes; hand-off is no longer possible (the head is
		// consumed), so answer as it does.
		_, _ = io.WriteString(fc.c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
		return false
	}
	ctx, cancel := context.WithCancel(fc.ctx)
	defer cancel()
	body := &fastBody{br: fc.br, left: h.length}
	r := (&http.Request{Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h.header, Body: body, ContentLength: h.length, Host: h.host, RemoteAddr: fc.remote,
		RequestURI: h.target}).WithContext(ctx)
	if h.length == 0 {
		r.Body = http.NoBody
		body.left = 0
	}
	w := &fc.w
	w.reset(fc, body, h.length)
	defer func() {
		if v := recover(); v != nil {
			keep = false
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				fc.fs.hs.ErrorLog.Printf("http: panic serving %v: %v\n%s", fc.remote, v, buf)
			}
		}
	}()
	fc.fs.s.router.ServeHTTP(w, r)
	return w.finish()
}

// fastBody is a request body of known length read from the connection's buffer.
type fastBody struct {
	br     *bufio.Reader
	left   int64
	sawEOF bool
	closed bool
	early  bool // closed with more than maxPostHandlerReadBytes unread
}

func (b *fastBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.left <= 0 {
		b.sawEOF = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if b.left == 0 && err == nil {
		b.sawEOF = true
		return n, io.EOF
	}
	return n, err
}

// Close reads what is left, up to maxPostHandlerReadBytes, as net/http's request body does.
func (b *fastBody) Close() error {
	if b.closed {
		return nil
	}
	var err error
	if b.left > maxPostHandlerReadBytes {
		b.early = true
	} else {
		var n int64
		n, err = io.CopyN(io.Discard, b, maxPostHandlerReadBytes)
		if err == io.EOF {
			err = nil
		}
		if n == maxPostHandlerReadBytes {
			b.early = true
		}
	}
	b.closed = true
	return err
}

// fastWriter is the ResponseWriter of fast requests: net/http's framing, sent in one write.
type fastWriter struct {
	fc          *fastConn
	body        *fastBody
	reqLen      int64       // the request's Content-Length
	handler     http.Header // what Header returns
	header      http.Header // the snapshot WriteHeader took
	status      int
	wroteHeader bool
	committed   bool // the head is sent
	chunking    bool
	handlerDone bool
	clen        int64 // declared or computed Content-Length; -1 unknown
	written     int64
	closeAfter  bool
	limitHit    bool // the body was too big to read: half-close and wait before closing
	buf         []byte
	head        []byte
	err         error
}

func (w *fastWriter) reset(fc *fastConn, body *fastBody, reqLen int64) {
	buf, head := w.buf[:0], w.head[:0]
	if cap(buf) > 64<<10 {
		buf = nil
	}
	*w = fastWriter{fc: fc, body: body, reqLen: reqLen, handler: make(http.Header, 8), clen: -1, buf: buf, head: head}
}

func (w *fastWriter) Header() http.Header { return w.handler }

func (w *fastWriter) WriteHeader(code int) {
	if w.wroteHeader {
		caller := ""
		if _, file, line, ok := runtime.Caller(1); ok {
			caller = fmt.Sprintf(" from %s:%d", file, line)
		}
		w.fc.fs.hs.ErrorLog.Printf("http: superfluous response.WriteHeader call%s", caller)
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out at once; the final one follows.
		if w.err == nil {
			var b bytes.Buffer
			b.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
			_ = w.handler.WriteSubset(&b, map[string]bool{"Content-Length": true, "Transfer-Encoding": true})
			b.WriteString("\r\n")
			_, w.err = w.fc.c.Write(b.Bytes())
		}
		return
	}
	w.wroteHeader = true
	w.status = code
	w.header = w.handler.Clone()
	if cl := w.header.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.clen = v
		} else {
			w.fc.fs.hs.ErrorLog.Printf("http: invalid Content-Length of %q", cl)
			w.header.Del("Content-Length")
		}
	}
}

func (w *fastWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.clen != -1 && w.written+int64(len(p)) > w.clen {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.err != nil {
		return 0, w.err
	}
	switch {
	case w.committed && w.chunking:
		w.sendChunk(p)
	case w.committed:
		_, w.err = w.fc.c.Write(p)
	case w.clen != -1: // the declared length: the head and this write leave together
		w.commit(p)
	case len(w.buf)+len(p) > bufferBeforeChunking: // net/http starts chunking once 2 KB are buffered
		w.buf = append(w.buf, p...)
		w.commit(nil)
	default:
		w.buf = append(w.buf, p...)
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// WriteBuffers is Write of the buffers' bytes in order (feastapi sends an answer's shared pieces by reference):
// with a declared Content-Length, the head (when not yet sent) and every buffer leave in one writev, the bytes
// copied once, by the kernel; otherwise (chunked framing, or a length net/http would compute) the buffers go
// through Write one by one. The buffers are not kept.
func (w *fastWriter) WriteBuffers(bufs net.Buffers) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	for _, b := range bufs {
		n += int64(len(b))
	}
	if n == 0 || w.clen == -1 || w.chunking || !bodyAllowedForStatus(w.status) {
		for i, b := range bufs {
			m, err := w.Write(b)
			if err != nil {
				return writtenBefore(bufs, i) + int64(m), err
			}
		}
		return n, nil
	}
	if w.written+n > w.clen {
		return 0, http.ErrContentLength
	}
	w.written += n
	if w.err != nil {
		return 0, w.err
	}
	w.fc.bufs = w.fc.bufs[:0]
	if !w.committed {
		w.committed = true
		first := bufs[0]
		for i := 1; len(first) == 0; i++ { // the body's start, for a sniffed Content-Type (n > 0: there is one)
			first = bufs[i]
		}
		w.head = w.appendHead(w.head[:0], first)
		if w.err != nil {
			return 0, w.err
		}
		w.fc.bufs = append(w.fc.bufs, w.head)
	}
	w.fc.bufs = append(w.fc.bufs, bufs...)
	send := w.fc.bufs // WriteTo consumes the slice it is called on: fc.bufs keeps its memory for the next answer
	_, w.err = send.WriteTo(w.fc.c)
	clear(w.fc.bufs) // keeps no caller's memory alive
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

// writtenBefore is the length of bufs[:i].
func writtenBefore(bufs net.Buffers, i int) int64 {
	var n int64
	for _, b := range bufs[:i] {
		n += int64(len(b))
	}
	return n
}

// bufferBeforeChunking is net/http's response buffer: a handler that returns within it gets a Content-Length.
const bufferBeforeChunking = 2048

func (w *fastWriter) sendChunk(p []byte) {
	if w.err != nil || len(p) == 0 {
		return
	}
	w.head = append(strconv.AppendInt(w.head[:0], int64(len(p)), 16), "\r\n"...)
	w.fc.bufs = append(w.fc.bufs[:0], w.head, p, crlf)
	send := w.fc.bufs // as in WriteBuffers
	_, w.err = send.WriteTo(w.fc.c)
}

var crlf = []byte("\r\n")

// SetWriteDeadline and SetReadDeadline are http.ResponseController's (the write-progress middleware).
func (w *fastWriter) SetWriteDeadline(t time.Time) error { return w.fc.c.SetWriteDeadline(t) }
func (w *fastWriter) SetReadDeadline(t time.Time) error  { return w.fc.c.SetReadDeadline(t) }

// commit sends the head, then the buffered body (when not chunking, as one write with p; chunking, as a
// chunk).
func (w *fastWriter) commit(p []byte) {
	w.committed = true
	first := p
	if first == nil {
		first = w.buf
	}
	w.head = w.appendHead(w.head[:0], first)
	if w.err != nil {
		return
	}
	if w.chunking {
		_, w.err = w.fc.c.Write(w.head)
		w.sendChunk(w.buf)
		w.buf = w.buf[:0]
		return
	}
	w.fc.bufs = append(w.fc.bufs[:0], w.head, first)
	send := w.fc.bufs // as in WriteBuffers
	_, w.err = send.WriteTo(w.fc.c)
	w.buf = w.buf[:0]
}

// appendHead appends the status line and headers, deciding as net/http's chunkWriter.writeHeader does (for a
// POST over HTTP/1.1, without trailers); p is the start of the body.
func (w *fastWriter) appendHead(b, p []byte) []byte {
	header := w.header
	keepAlives := w.fc.fs.keepAlives()
	var exclude map[string]bool
	del := func(k string) {
		if _, ok := header[k]; ok {
			if exclude == nil {
				exclude = map[string]bool{}
			}
			exclude[k] = true
		}
	}
	var setCL, setType, setConn, setTE string
	te := header.Get("Transfer-Encoding")
	hasTE := te != ""
	if _, has := header["Content-Length"]; w.handlerDone && !hasTE && bodyAllowedForStatus(w.status) && !has {
		w.clen = int64(len(p))
		setCL = strconv.Itoa(len(p))
	}
	if header.Get("Connection") == "close" || !keepAlives {
		w.closeAfter = true
	}
	if w.reqLen != 0 && !w.closeAfter {
		var discard, tooBig bool
		switch b := w.body; {
		case b.closed:
			if !b.sawEOF {
				w.closeAfter = true
			}
		case b.left >= maxPostHandlerReadBytes:
			tooBig = true
		default:
			discard = true
		}
		if discard {
			_, err := io.CopyN(io.Discard, w.body, maxPostHandlerReadBytes+1)
			switch err {
			case nil:
				tooBig = true
			case http.ErrBodyReadAfterClose:
			case io.EOF:
				_ = w.body.Close()
			default:
				w.closeAfter = true
			}
		}
		if tooBig {
			w.closeAfter, w.limitHit = true, true
			del("Connection")
			setConn = "close"
		}
	}
	code := w.status
	if bodyAllowedForStatus(code) {
		_, haveType := header["Content-Type"]
		if header.Get("Content-Encoding") == "" && !haveType && !hasTE && len(p) > 0 {
			setType = http.DetectContentType(p)
		}
	} else {
		for _, k := range suppressedHeaders(code) {
			del(k)
		}
	}
	var date []byte
	if _, ok := header["Date"]; !ok {
		date = time.Now().UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)
	}
	hasCL := w.clen != -1
	if hasCL && hasTE && te != "identity" {
		w.fc.fs.hs.ErrorLog.Printf("http: WriteHeader called with both Transfer-Encoding of %q and a Content-Length of %d", te, w.clen)
		del("Content-Length")
		hasCL = false
	}
	switch {
	case !bodyAllowedForStatus(code) || code == http.StatusNoContent:
		del("Transfer-Encoding")
	case hasCL:
		del("Transfer-Encoding")
	case hasTE && te == "identity":
		w.closeAfter = true
		del("Transfer-Encoding")
	default:
		w.chunking = true
		setTE = "chunked"
		if hasTE && te == "chunked" {
			del("Transfer-Encoding")
		}
	}
	if w.chunking {
		del("Content-Length")
	}
	if w.closeAfter && (!keepAlives || !hasCloseToken(header.Get("Connection"))) {
		del("Connection")
		setConn = "close"
	}
	b = append(b, "HTTP/1.1 "...)
	if text := http.StatusText(code); text != "" {
		b = append(append(append(strconv.AppendInt(b, int64(code), 10), ' '), text...), "\r\n"...)
	} else {
		b = fmt.Appendf(b, "%03d status code %d\r\n", code, code)
	}
	bw := bytesWriter{&b}
	_ = header.WriteSubset(bw, exclude)
	if date != nil {
		b = append(append(append(b, "Date: "...), date...), "\r\n"...)
	}
	if setCL != "" {
		b = append(append(append(b, "Content-Length: "...), setCL...), "\r\n"...)
	}
	for _, kv := range [][2]string{{"Content-Type", setType}, {"Connection", setConn}, {"Transfer-Encoding", setTE}} {
		if kv[1] != "" {
			b = append(append(append(append(b, kv[0]...), ": "...), kv[1]...), "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

type bytesWriter struct{ b *[]byte }

func (w bytesWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func (w bytesWriter) WriteString(s string) (int, error) {
	*w.b = append(*w.b, s...)
	return len(s), nil
}

func hasCloseToken(v string) bool {
	for _, f := range bytes.Split([]byte(v), []byte(",")) {
		if asciiEqualFold(bytes.TrimSpace(f), "close") {
			return true
		}
	}
	return false
}

func bodyAllowedForStatus(status int) bool {
	return !(status >= 100 && status <= 199 || status == http.StatusNoContent || status == http.StatusNotModified)
}

func suppressedHeaders(status int) []string {
	switch {
	case status == http.StatusNotModified:
		return []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	case !bodyAllowedForStatus(status):
		return []string{"Content-Length", "Transfer-Encoding"}
	}
	return nil
}

// finish completes the response after the handler returned; false when the connection must close.
func (w *fastWriter) finish() bool {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case !w.committed:
		w.commit(nil)
	case w.chunking && w.err == nil:
		_, w.err = w.fc.c.Write([]byte("0\r\n\r\n"))
	}
	_ = w.fc.c.SetWriteDeadline(time.Time{})
	if w.err != nil {
		return false
	}
	if w.clen != -1 && w.written != w.clen && bodyAllowedForStatus(w.status) {
		return false // a short body: the client sees the connection end, as with net/http
	}
	_ = w.body.Close() // as net/http's finishRequest: unread bytes are read up to 256 KiB
	if w.closeAfter || w.body.early {
		if w.limitHit || w.body.early {
			if cw, ok := w.fc.c.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
			time.Sleep(rstAvoidanceDelay)
		}
		return false
	}
	return true
}
