package rowfmt_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/rowfmt"
)

// TestParquetRowGroupsAndDictionaries: incompressible rows end row groups at ~8 MB of encoded data rather
// than at 122,880 rows, numbers are not dictionary-encoded, low-cardinality strings are, and every value
// reads back.
func TestParquetRowGroupsAndDictionaries(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	const rows, batch = 100_000, 10_000 // batches larger than the writer's slices
	rnd := rand.New(rand.NewPCG(1, 2))
	var recs []arrow.RecordBatch
	for lo := 0; lo < rows; lo += batch {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := lo; i < lo+batch; i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(i))
			bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("city %d", i%8))
			blob := make([]byte, 256) // 25.6 MB that zstd cannot shrink
			for j := range blob {
				blob[j] = byte(rnd.Uint32())
			}
			bld.Field(2).(*array.BinaryBuilder).Append(blob)
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	rdr, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := rowfmt.Write(&buf, rdr, rowfmt.Parquet, rowfmt.Options{})
	require.NoError(t, err)
	require.Equal(t, int64(rows), n)

	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	meta := pf.MetaData()
	require.GreaterOrEqual(t, meta.NumRowGroups(), 3, "25.6 MB of incompressible rows in one row group")
	var total int64
	for g := 0; g < meta.NumRowGroups(); g++ {
		rg := meta.RowGroup(g)
		total += rg.NumRows()
		var size int64
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			require.NoError(t, err)
			size += cc.TotalCompressedSize()
		}
		// The check comes after each slice of 4,096 rows (~1 MB here).
		require.LessOrEqual(t, size, int64(9<<20), "row group %d", g)
		id, err := rg.ColumnChunk(0)
		require.NoError(t, err)
		require.False(t, id.HasDictionaryPage(), "row group %d: the id column has a dictionary", g)
		city, err := rg.ColumnChunk(1)
		require.NoError(t, err)
		require.True(t, city.HasDictionaryPage(), "row group %d: the city column has no dictionary", g)
	}
	require.Equal(t, int64(rows), total)

	got, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	defer got.Release()
	want := array.NewTableFromRecords(schema, recs)
	defer want.Release()
	for c := 0; c < int(want.NumCols()); c++ {
		require.True(t, array.ChunkedEqual(want.Column(c).Data(), got.Column(c).Data()), "column %s", schema.Field(c).Name)
	}
}

// mixedReader makes the mixed table's rows batch by batch, so that the heap holds only what the writer keeps.
type mixedReader struct {
	array.RecordReader // for the methods Next and RecordBatch do not override
	rows, next         int
	cur                arrow.RecordBatch
}

func (r *mixedReader) Schema() *arrow.Schema { return mixedSchema }
func (r *mixedReader) Err() error            { return nil }
func (r *mixedReader) Release()              { r.free() }
func (r *mixedReader) Retain()               {}

func (r *mixedReader) Next() bool {
	r.free()
	if r.next >= r.rows {
		return false
	}
	r.cur = mixedRows(r.next, min(2048, r.rows-r.next))[0]
	r.next += int(r.cur.NumRows())
	return true
}

func (r *mixedReader) RecordBatch() arrow.RecordBatch { return r.cur }

func (r *mixedReader) free() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

// TestParquetStreamHeapBounded: writing a long mixed table as Parquet keeps under 24 MB of live heap at every
// point, the most at the end of a row group (it was ~65 MB before the writer's limits, most of it dictionary
// hash tables for unique numbers and zstd history windows).
func TestParquetStreamHeapBounded(t *testing.T) {
	// Not parallel: the heap is the whole process's.
	const rows, limitMB = 400_000, 24
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	h := &heapPeak{}
	rdr := &mixedReader{rows: rows}
	defer rdr.Release()
	n, err := rowfmt.Write(&gcWriter{heapPeak: h}, &gcReader{RecordReader: rdr, heapPeak: h}, rowfmt.Parquet, rowfmt.Options{})
	require.NoError(t, err)
	require.Equal(t, int64(rows), n)
	peakMB := float64(h.peak-min(base, h.peak)) / (1 << 20)
	t.Logf("peak live heap while writing: %.1f MB", peakMB)
	require.Less(t, peakMB, float64(limitMB))
}
