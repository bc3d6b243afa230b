// Command floor measures what a PostgreSQL client needs to decode a result: it records the exact bytes a
// server (Strata or PostgreSQL) answers a client's requests with, then replays them from a trivial loopback
// server that does no work but copy a file to the socket. A client timed against the replay is the floor
// no server can beat; bench/sql/floor/floor.sh compares Strata and PostgreSQL with it.
//
//	floor record -listen 127.0.0.1:P -upstream 127.0.0.1:Q -dir D   proxy to Q, store each answer in D
//	floor replay -listen 127.0.0.1:P -dir D                          answer from D
//	floor record ... -trace                                          also print each request's statements and timing
//
// A request is everything the client sends up to a Sync or Query message (or the startup packet); its
// answer is everything the server sends up to ReadyForQuery. Answers are keyed by the request's bytes, so
// a client that sends the same bytes again gets the same answer; clients must connect with sslmode=disable
// and without a password (Strata on loopback with no users; PostgreSQL with trust).
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: floor record|replay -listen ADDR -dir DIR [-upstream ADDR]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	dir := fs.String("dir", "", "directory of recorded answers")
	upstream := fs.String("upstream", "", "server to record (record mode)")
	trace := fs.Bool("trace", false, "record mode: print each request's statements, the time to the answer's first byte and to ReadyForQuery, and its size (stderr)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String()) // the caller reads the port from the first line
	st := &store{dir: *dir, next: map[string]int{}, trace: *trace}
	for {
		nc, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		switch os.Args[1] {
		case "record":
			go func() {
				if err := st.record(nc, *upstream); err != nil && !errors.Is(err, io.EOF) {
					log.Print("record: ", err)
				}
			}()
		case "replay":
			go func() {
				if err := st.replay(nc); err != nil && !errors.Is(err, io.EOF) {
					log.Print("replay: ", err)
				}
			}()
		default:
			log.Fatalf("unknown mode %q", os.Args[1])
		}
	}
}

// store keeps answers as files named by the request's hash and a sequence number (a request sent n times
// while recording has n answers, replayed in turn).
type store struct {
	dir   string
	mu    sync.Mutex
	next  map[string]int
	trace bool
}

func (s *store) path(key string, n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s.%d", key, n))
}

// take returns the file of the next answer to a request.
func (s *store) take(key string, recording bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next[key]
	s.next[key] = n + 1
	if !recording {
		if _, err := os.Stat(s.path(key, n)); err != nil {
			n = 0 // replayed more often than recorded: start over
			s.next[key] = 1
		}
	}
	return s.path(key, n)
}

// readRequest reads client messages up to a boundary: the startup packet (untyped), Sync or Query. It
// reports whether the client terminated.
func readRequest(r *bufio.Reader, startup bool) (req []byte, done bool, err error) {
	for {
		var head []byte
		if startup {
			head = make([]byte, 4)
		} else {
			head = make([]byte, 5)
		}
		if _, err := io.ReadFull(r, head); err != nil {
			return nil, false, err
		}
		n := int(binary.BigEndian.Uint32(head[len(head)-4:])) - 4
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, false, err
		}
		req = append(append(req, head...), body...)
		if startup {
			return req, false, nil
		}
		switch head[0] {
		case 'X':
			return req, true, nil
		case 'S', 'Q':
			return req, false, nil
		}
	}
}

// isSSLRequest: the untyped packet asks for TLS or GSS encryption; the answer is one byte.
func isSSLRequest(req []byte) bool {
	if len(req) != 8 {
		return false
	}
	code := binary.BigEndian.Uint32(req[4:])
	return code == 80877103 || code == 80877104
}

// key identifies a request by its bytes without the names of prepared statements and portals: drivers
// number those from a counter per process (rust-postgres's s0, s1, ...), and the answers never name them.
func key(req []byte, startup bool) string {
	h := sha256.New()
	if startup {
		h.Write(req)
	}
	for !startup && len(req) >= 5 {
		typ, n := req[0], int(binary.BigEndian.Uint32(req[1:5]))+1
		body := req[5:n]
		switch typ {
		case 'P': // statement name, query, ...
			body = dropCStrings(body, 1)
		case 'B': // portal, statement, ...
			body = dropCStrings(body, 2)
		case 'D', 'C': // 'S' or 'P', name
			body = append([]byte{body[0]}, dropCStrings(body[1:], 1)...)
		case 'E': // portal, max rows
			body = dropCStrings(body, 1)
		}
		h.Write([]byte{typ})
		h.Write(body)
		req = req[n:]
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// dropCStrings returns b without its first k NUL-terminated strings.
func dropCStrings(b []byte, k int) []byte {
	for ; k > 0; k-- {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		b = b[min(i+1, len(b)):]
	}
	return b
}

// record proxies one client connection to upstream and stores each answer.
func (s *store) record(nc net.Conn, upstream string) error {
	defer func() { _ = nc.Close() }()
	up, err := net.Dial("tcp", upstream)
	if err != nil {
		return err
	}
	defer func() { _ = up.Close() }()
	cr, ur := bufio.NewReaderSize(nc, 1<<16), bufio.NewReaderSize(up, 1<<20)
	startup := true
	for {
		req, done, err := readRequest(cr, startup)
		if err != nil {
			return err
		}
		if _, err := up.Write(req); err != nil {
			return err
		}
		if done {
			return nil
		}
		f, err := os.Create(s.take(key(req, startup), true))
		if err != nil {
			return err
		}
		out := &countingWriter{w: io.MultiWriter(nc, f)}
		t0 := time.Now()
		if startup && isSSLRequest(req) {
			err = copyN(out, ur, 1) // 'N' or 'S'
		} else {
			err = copyAnswer(out, ur)
			if s.trace && !startup {
				log.Printf("trace: first byte %.2f ms, ready %.2f ms, %d bytes: %s", ms(out.first.Sub(t0)),
					ms(time.Since(t0)), out.n, statements(req))
			}
			startup = false
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// countingWriter counts what it writes and notes when the first byte came.
type countingWriter struct {
	w     io.Writer
	n     int64
	first time.Time
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 {
		c.first = time.Now()
	}
	c.n += int64(len(p))
	return c.w.Write(p)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// statements describes a request: its message types, and the SQL of its Query and Parse messages.
func statements(req []byte) string {
	var b strings.Builder
	for len(req) >= 5 {
		typ, n := req[0], int(binary.BigEndian.Uint32(req[1:5]))+1
		body := req[5:n]
		b.WriteByte(typ)
		switch typ {
		case 'Q':
			fmt.Fprintf(&b, "%q ", strings.TrimRight(string(body), "\x00"))
		case 'P':
			fmt.Fprintf(&b, "%q ", string(dropCStrings(body, 1)[:max(0, strings.IndexByte(string(dropCStrings(body, 1)), 0))]))
		}
		req = req[n:]
	}
	return b.String()
}

func copyN(w io.Writer, r io.Reader, n int64) error {
	_, err := io.CopyN(w, r, n)
	return err
}

// copyAnswer copies server messages to w up to and including ReadyForQuery.
func copyAnswer(w io.Writer, r *bufio.Reader) error {
	head := make([]byte, 5)
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			return err
		}
		if _, err := w.Write(head); err != nil {
			return err
		}
		if err := copyN(w, r, int64(binary.BigEndian.Uint32(head[1:]))-4); err != nil {
			return err
		}
		if head[0] == 'Z' {
			return nil
		}
	}
}

// replay answers one client connection from the store: each request's recorded answer, copied from its
// file to the socket (sendfile on Linux).
func (s *store) replay(nc net.Conn) error {
	defer func() { _ = nc.Close() }()
	cr := bufio.NewReaderSize(nc, 1<<16)
	startup := true
	for {
		req, done, err := readRequest(cr, startup)
		if err != nil || done {
			return err
		}
		f, err := os.Open(s.take(key(req, startup), false))
		startup = startup && isSSLRequest(req)
		if err != nil {
			return fmt.Errorf("no recorded answer for a request of %d bytes (type %q): %w", len(req), req[0], err)
		}
		_, err = io.Copy(nc, f)
		_ = f.Close()
		if err != nil {
			return err
		}
	}
}
