package move

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// prefetchDepth is how many decoded batches may wait for the consumer: one being consumed and this many
// ready bound a run's batches in memory whatever the table's size.
const prefetchDepth = 2

// prefetching reads its source in a goroutine of its own, so that decoding the next batch (the postgres
// source's COPY decode, a file reader) overlaps with the consumer's work on the current one (DuckDB writing
// Parquet). It implements array.RecordReader; like its source, a batch is valid until the next Next. The
// source is read only from the goroutine; Close stops it and waits for it, and then the caller may read the
// source's state (its watermark, rows, bad rows) again.
type prefetching struct {
	src    array.RecordReader
	ready  chan arrow.RecordBatch
	stop   chan struct{}
	done   chan struct{}
	cur    arrow.RecordBatch
	err    error // the source's Err, written before ready is closed
	ended  bool  // Next saw ready closed: err is final
	start  sync.Once
	closed sync.Once
}

// prefetch wraps src; the goroutine starts at the first Next (a reader opened only for its schema, as by
// move plan, reads nothing).
func prefetch(src array.RecordReader) *prefetching {
	return &prefetching{src: src, ready: make(chan arrow.RecordBatch, prefetchDepth), stop: make(chan struct{}),
		done: make(chan struct{})}
}

func (p *prefetching) run() {
	defer close(p.done)
	defer close(p.ready)
	for p.src.Next() {
		b := p.src.RecordBatch()
		b.Retain()
		select {
		case p.ready <- b:
		case <-p.stop:
			b.Release()
			return
		}
	}
	p.err = p.src.Err()
}

func (p *prefetching) Schema() *arrow.Schema { return p.src.Schema() }

func (p *prefetching) Next() bool {
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	p.start.Do(func() { go p.run() })
	b, ok := <-p.ready
	if !ok {
		p.ended = true
		return false
	}
	p.cur = b
	return true
}

func (p *prefetching) RecordBatch() arrow.RecordBatch { return p.cur }
func (p *prefetching) Record() arrow.RecordBatch      { return p.cur }

// Err is the source's error, once Next has returned false.
func (p *prefetching) Err() error {
	if p.ended {
		return p.err
	}
	return nil
}

func (p *prefetching) Retain()  {}
func (p *prefetching) Release() {}

// Close stops the goroutine, waits for it and releases the batches it had ready.
func (p *prefetching) Close() {
	p.closed.Do(func() {
		close(p.stop)
		started := true
		p.start.Do(func() { started = false })
		if !started {
			return
		}
		<-p.done
		if p.cur != nil {
			p.cur.Release()
			p.cur = nil
		}
		for b := range p.ready {
			b.Release()
		}
	})
}
