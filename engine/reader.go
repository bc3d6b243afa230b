//go:build duckdb_arrow

package engine

import (
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// reader adapts a stream to array.RecordReader and owns the stream's database. Next, RecordBatch and Err
// are for one goroutine at a time, as array.RecordReader requires; Close may be called from any goroutine
// and interrupts a Next that is waiting for DuckDB.
type reader struct {
	mu     sync.Mutex // held while a DuckDB call is running
	s      *stream
	in     *instance
	retire func(*instance)
	// recycle, if set, takes the database back when the stream ended cleanly (Engine.recycle decides
	// whether it may be pooled).
	recycle  func(*instance)
	finished atomic.Bool // the stream ended without error
	refs     atomic.Int64
	once     sync.Once
	closed   bool
	// lazy, while set, is the prepared statement of a deferred query that has not started (querycopy.go).
	lazy   *lazyStart
	copied bool // WriteParquet copied the deferred query's rows (querycopy.go)
}

var (
	_ array.RecordReader = (*Result)(nil)
	_ array.RecordReader = (*FileReader)(nil)
)

// Result is a streaming query result. It implements array.RecordReader; a RecordBatch is valid until the
// next call to Next (Retain it to keep it longer). Close it, or Release the last reference, to free the
// query's database. Batches hold at most 2048 rows.
type Result struct{ reader }

func (r *reader) init(in *instance, s *stream, retire func(*instance)) {
	r.in, r.s, r.retire = in, s, retire
	r.refs.Store(1)
}

// Schema returns the result's Arrow schema, known before the first Next.
func (r *reader) Schema() *arrow.Schema { return r.s.schema }

// Next advances to the next record batch. It returns false at the end of the result and on error; Err
// tells the two apart.
func (r *reader) Next() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.startLazy()
	ok := r.s.next()
	if !ok && r.s.done && r.s.err == nil {
		r.finished.Store(true)
	}
	return ok
}

// RecordBatch returns the current batch, valid until the next call to Next.
func (r *reader) RecordBatch() arrow.RecordBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	return r.s.cur
}

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (r *reader) Record() arrow.RecordBatch { return r.RecordBatch() }

// Err returns the error that ended the stream, or nil if it ended cleanly or is still going.
func (r *reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.err
}

// Rows returns the number of rows delivered so far.
// Safe to call from any goroutine (a progress bar), even while Next waits.
func (r *reader) Rows() int64 { return r.s.rows.Load() }

// Retain adds a reference; each Retain needs a Release.
func (r *reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one closes the reader.
func (r *reader) Release() {
	if r.refs.Add(-1) == 0 {
		_ = r.Close()
	}
}

// Close stops the query if it is still running and frees its database (in the background). It is
// idempotent and safe to call concurrently with Next.
func (r *reader) Close() error {
	r.once.Do(func() {
		if r.recycle != nil && r.finished.Load() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.closed = true
			r.s.release()
			r.recycle(r.in)
			return
		}
		r.in.interrupt()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.closed = true
		r.dropLazy()
		r.s.release()
		r.retire(r.in)
	})
	return nil
}
