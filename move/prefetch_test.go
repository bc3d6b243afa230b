package move

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// batches is a source of n one-column batches (values i*10 .. i*10+9) that ends with err.
type batches struct {
	mem  memory.Allocator
	n, i int
	err  error
	cur  arrow.RecordBatch
}

var oneInt = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (b *batches) Schema() *arrow.Schema { return oneInt }
func (b *batches) Next() bool {
	if b.cur != nil {
		b.cur.Release()
		b.cur = nil
	}
	if b.i == b.n {
		return false
	}
	rb := array.NewRecordBuilder(b.mem, oneInt)
	defer rb.Release()
	for j := 0; j < 10; j++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(b.i*10 + j))
	}
	b.cur = rb.NewRecordBatch()
	b.i++
	return true
}
func (b *batches) RecordBatch() arrow.RecordBatch { return b.cur }
func (b *batches) Record() arrow.RecordBatch      { return b.cur }
func (b *batches) Err() error {
	if b.i == b.n {
		return b.err
	}
	return nil
}
func (b *batches) Retain()  {}
func (b *batches) Release() {}

// TestPrefetchKeepsOrderErrorsAndMemory: the prefetching reader yields the source's rows in order, reports the
// source's error only after its last batch, and once closed (drained or not) holds no batch.
func TestPrefetchKeepsOrderErrorsAndMemory(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection lost")
	for _, tc := range []struct {
		name  string
		n     int
		err   error
		stop  int // Close after this many batches (-1: drain)
		rows  int64
		wantE error
	}{
		{name: "drained", n: 50, stop: -1, rows: 500},
		{name: "source fails at the end", n: 7, err: boom, stop: -1, rows: 70, wantE: boom},
		{name: "closed early", n: 50, stop: 3, rows: 30},
		{name: "closed before reading", n: 50, stop: 0},
		{name: "empty", n: 0, stop: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			src := &batches{mem: mem, n: tc.n, err: tc.err}
			p := prefetch(src)
			var rows, next int64
			for (tc.stop < 0 || next < int64(tc.stop)) && p.Next() {
				col := p.RecordBatch().Column(0).(*array.Int64)
				for j := 0; j < col.Len(); j++ {
					require.Equal(t, rows, col.Value(j), "rows in order")
					rows++
				}
				next++
				if tc.stop < 0 {
					require.NoError(t, p.Err(), "no error before the end")
				}
			}
			require.Equal(t, tc.rows, rows)
			if tc.stop < 0 {
				require.Equal(t, tc.wantE, p.Err())
			}
			p.Close()
			p.Close()
			if src.cur != nil {
				src.cur.Release()
				src.cur = nil
			}
			mem.AssertSize(t, 0)
		})
	}
}
