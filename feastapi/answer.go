package feastapi

import (
	"net"
	"net/http"
)

// answer is a response being rendered: bytes appended to b, and — when the response writer sends several
// buffers in one write (buffersWriter) — long pieces shared by many places of the answer kept by reference
// instead of copied. In a 100 × 50 answer every feature of one view instance repeats the instance's list of
// event timestamps (~2.3 KB) and, when no value is null, the same list of PRESENT statuses (~1.1 KB): sent by
// reference, the 290 KB answer is built in a buffer of ~110 KB and written with one writev of ~200 pieces.
// Without a buffersWriter (net/http's own writer, a test recorder) every piece is copied into b: one Write.
type answer struct {
	b     []byte
	segs  []segment // by reference only: the answer's pieces in order, up to mark
	mark  int       // b[mark:] is not yet in segs
	byRef bool
}

// segment is b[from:to], or ext when it is not nil.
type segment struct {
	from, to int
	ext      []byte
}

// minRef is the shortest piece kept by reference: a shorter one is cheaper to copy than to send as one more
// piece of the write.
const minRef = 256

func (a *answer) reset(b []byte, byRef bool) {
	*a = answer{b: b[:0], segs: a.segs[:0], byRef: byRef}
}

// ref appends p, which must stay unchanged until the answer is written, by reference when it is long enough.
func (a *answer) ref(p []byte) {
	if !a.byRef || len(p) < minRef {
		a.b = append(a.b, p...)
		return
	}
	if len(a.b) > a.mark {
		a.segs = append(a.segs, segment{from: a.mark, to: len(a.b)})
	}
	a.segs = append(a.segs, segment{ext: p})
	a.mark = len(a.b)
}

// buffers returns the answer's pieces (appended to dst) and its length.
func (a *answer) buffers(dst net.Buffers) (net.Buffers, int) {
	n := 0
	add := func(p []byte) {
		dst = append(dst, p)
		n += len(p)
	}
	for _, s := range a.segs {
		if s.ext != nil {
			add(s.ext)
		} else {
			add(a.b[s.from:s.to])
		}
	}
	if len(a.b) > a.mark {
		add(a.b[a.mark:])
	}
	return dst, n
}

// buffersWriter is a response writer that sends several buffers as one write (server's fast path, and its
// write-progress middleware in front of it). The response's status and headers are written as for Write; the
// buffers are only read, and not kept once it returns.
type buffersWriter interface {
	WriteBuffers(bufs net.Buffers) (int64, error)
}

// findBuffersWriter returns the first buffersWriter among w and the writers it wraps (Unwrap, as
// http.ResponseController finds them), nil when there is none.
func findBuffersWriter(w http.ResponseWriter) buffersWriter {
	for {
		if bw, ok := w.(buffersWriter); ok {
			return bw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}
