package server

import (
	"io"
	"net"
	"net/http"
	"time"
)

// progressChunk is the most one deadline covers: a write is cut into pieces this big, each of which must reach
// the client's socket within WriteTimeout. A client reading slowly but steadily (above 512 KiB per WriteTimeout,
// 17 KB/s at the default 30s) keeps its stream; one that stops reading loses it. Each piece is a write system
// call and a deadline update: at 32 KiB a 300 KB online-features answer (100 entities × 50 features) took ten
// of each (strace of BenchmarkServeOnlineFeaturesRaw/100x50), at 256 KiB two, at 512 KiB one.
const progressChunk = 512 << 10

// writeProgress gives every write to the client Options.WriteTimeout to make progress (http.Server's own
// WriteTimeout would bound the whole response instead, cutting off long streams). A write that times out fails,
// which ends the handler and frees what it holds.
func (s *Server) writeProgress(next http.Handler) http.Handler {
	if s.opts.WriteTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A deadline set for an earlier request on this keep-alive connection must not cut this one short.
		_ = rc.SetWriteDeadline(time.Time{})
		pw := &progressWriter{ResponseWriter: w, rc: rc, timeout: s.opts.WriteTimeout}
		next.ServeHTTP(pw, r)
		pw.extend() // bounds the flush net/http does after the handler returns
	})
}

// progressWriter sets the connection's write deadline before each piece of each write. It implements Flush
// and Unwrap (for http.ResponseController) and WriteBuffers, but not io.ReaderFrom, so that copies go through
// Write in pieces.
type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (p *progressWriter) extend() { _ = p.rc.SetWriteDeadline(time.Now().Add(p.timeout)) }

func (p *progressWriter) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		piece := b[:min(len(b), progressChunk)]
		p.extend()
		m, err := p.ResponseWriter.Write(piece)
		n += m
		if err != nil {
			return n, err
		}
		if m < len(piece) {
			return n, io.ErrShortWrite
		}
		b = b[m:]
	}
	return n, nil
}

// WriteBuffers sends bufs through the wrapped writer's WriteBuffers when it has one (feastapi's answers), in
// groups of at most progressChunk bytes, each within its own deadline (a longer buffer alone through Write);
// else through Write, piece by piece.
func (p *progressWriter) WriteBuffers(bufs net.Buffers) (int64, error) {
	bw, ok := innerBuffersWriter(p.ResponseWriter)
	var done int64
	for len(bufs) > 0 {
		if !ok || len(bufs[0]) > progressChunk {
			m, err := p.Write(bufs[0])
			done += int64(m)
			if err != nil {
				return done, err
			}
			bufs = bufs[1:]
			continue
		}
		k, size := 0, 0
		for k < len(bufs) && size+len(bufs[k]) <= progressChunk {
			size += len(bufs[k])
			k++
		}
		p.extend()
		m, err := bw.WriteBuffers(bufs[:k])
		done += m
		if err != nil {
			return done, err
		}
		bufs = bufs[k:]
	}
	return done, nil
}

// buffersWriter is a ResponseWriter that sends several buffers as one write (fastWriter, progressWriter).
type buffersWriter interface {
	WriteBuffers(bufs net.Buffers) (int64, error)
}

// innerBuffersWriter finds a buffersWriter among w and the writers it wraps.
func innerBuffersWriter(w http.ResponseWriter) (buffersWriter, bool) {
	for {
		if bw, ok := w.(buffersWriter); ok {
			return bw, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil, false
		}
		w = u.Unwrap()
	}
}

func (p *progressWriter) WriteHeader(code int) {
	p.extend()
	p.ResponseWriter.WriteHeader(code)
}

func (p *progressWriter) Flush() {
	p.extend()
	_ = p.rc.Flush()
}

func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
