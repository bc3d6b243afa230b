package rowfmt_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/rowfmt"
)

// mixedSchema is a typical table: a unique id, a high-cardinality timestamp and float, a low-cardinality
// int and string, a unique string, a date and a flag.
var mixedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// mixedRows returns rows [from, from+n) of the mixed table, in DuckDB-sized batches of 2048.
func mixedRows(from, n int) []arrow.RecordBatch {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"new", "paid", "shipped", "returned"}
	var recs []arrow.RecordBatch
	for lo := from; lo < from+n; lo += 2048 {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, mixedSchema)
		for i := lo; i < min(lo+2048, from+n); i++ {
			h := uint64(i) * 0x9e3779b97f4a7c15 // a cheap deterministic scramble
			bld.Field(0).(*array.Int64Builder).Append(int64(i))
			bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("user_%d", h%9973))
			if i%17 == 0 {
				bld.Field(2).AppendNull()
			} else {
				bld.Field(2).(*array.Float64Builder).Append(float64(h%1_000_000) / 100)
			}
			bld.Field(3).(*array.Int32Builder).Append(int32(h % 50))
			at := start.Add(time.Duration(i)*time.Second + time.Duration(h%1_000_000)*time.Microsecond)
			bld.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
			bld.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(at))
			bld.Field(6).(*array.StringBuilder).Append(statuses[h%4])
			bld.Field(7).(*array.StringBuilder).Append(fmt.Sprintf("a longer text field for row %d to widen it", i))
			bld.Field(8).(*array.BooleanBuilder).Append(h%3 == 0)
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	return recs
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// heapPeak records the peak live heap, collecting garbage before each look.
type heapPeak struct{ peak uint64 }

func (h *heapPeak) sample() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapAlloc)
}

// gcReader hands out a reader's batches and samples the heap every 4 batches.
type gcReader struct {
	array.RecordReader
	*heapPeak
	batches int
}

func (r *gcReader) Next() bool {
	if r.batches%4 == 0 {
		r.sample()
	}
	r.batches++
	return r.RecordReader.Next()
}

// gcWriter discards what is written to it and samples the heap at each MB of output: a row group is
// written out when all of it is buffered, the moment the writer holds the most.
type gcWriter struct {
	*heapPeak
	unsampled int
}

func (w *gcWriter) Write(p []byte) (int, error) {
	if w.unsampled += len(p); w.unsampled >= 1<<20 {
		w.sample()
		w.unsampled = 0
	}
	return len(p), nil
}

// BenchmarkParquetStream writes 1M rows of mixed columns as Parquet to a byte counter, as a row stream of
// `strata serve` does. Besides time and allocations it reports the output size (out-MB) and the peak live
// heap the writer adds on top of its input (peak-MB), measured on one extra pass that collects garbage
// every 4 batches and every MB of output.
func BenchmarkParquetStream(b *testing.B) {
	const rows = 1_000_000
	recs := mixedRows(0, rows)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var out countingWriter
	for b.Loop() {
		rdr, err := array.NewRecordReader(mixedSchema, recs)
		require.NoError(b, err)
		out = countingWriter{}
		n, err := rowfmt.Write(&out, rdr, rowfmt.Parquet, rowfmt.Options{})
		require.NoError(b, err)
		require.Equal(b, int64(rows), n)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(out.n)/1e6, "out-MB")

	rdr, err := array.NewRecordReader(mixedSchema, recs)
	require.NoError(b, err)
	runtime.GC()
	runtime.GC() // the second empties the pools (zstd encoders) the timed runs left
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	h := &heapPeak{}
	_, err = rowfmt.Write(&gcWriter{heapPeak: h}, &gcReader{RecordReader: rdr, heapPeak: h}, rowfmt.Parquet, rowfmt.Options{})
	require.NoError(b, err)
	b.ReportMetric(float64(h.peak-min(base, h.peak))/1e6, "peak-MB")
}
