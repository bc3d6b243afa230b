package sqlwire

import (
	"errors"
	"net"
	"os"
	"time"
)

// sockReader is what the protocol decoder reads the client from. While a statement runs, nobody reads the
// socket, so a client that closes it would go unnoticed until the next write, and an aggregate would
// compute for nothing; watch reads one byte ahead to see the close (PostgreSQL's
// client_connection_check_interval does the same with poll). A byte read ahead is handed to the decoder
// first.
type sockReader struct {
	nc      net.Conn
	pending []byte
}

func (r *sockReader) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.nc.Read(p)
}

// watch calls gone if the client closes the connection before stop is called; stop returns once the
// watcher has ended. The client's next message, if it is already coming, ends the watch without harm.
func (r *sockReader) watch(gone func()) (stop func()) {
	if len(r.pending) > 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		n, err := r.nc.Read(b[:])
		if n > 0 {
			r.pending = append(r.pending, b[0])
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			gone()
		}
	}()
	return func() {
		_ = r.nc.SetReadDeadline(time.Now()) // wakes the watcher's Read
		<-done
		_ = r.nc.SetReadDeadline(time.Time{})
	}
}
