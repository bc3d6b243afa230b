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

// factSchema is a table where dictionaries pay most: low-cardinality numbers and strings.
var factSchema = arrow.NewSchema([]arrow.Field{
	{Name: "store", Type: arrow.PrimitiveTypes.Int32},
	{Name: "country", Type: arrow.BinaryTypes.String},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64},
	{Name: "minute", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	{Name: "reading", Type: arrow.PrimitiveTypes.Float32},
	{Name: "customer", Type: arrow.PrimitiveTypes.Int64},
	{Name: "year", Type: arrow.PrimitiveTypes.Int16},
}, nil)

// factRows returns n rows of the fact table in batches of 2048: 10 stores and countries, 1,000 prices, 7 rows a
// minute, 200 readings, 50,000 customers, 26 years.
func factRows(n int) []arrow.RecordBatch {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	countries := []string{"DE", "FR", "US", "GB", "JP", "BR", "IN", "CN", "ES", "IT"}
	var recs []arrow.RecordBatch
	for lo := 0; lo < n; lo += 2048 {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, factSchema)
		for i := lo; i < min(lo+2048, n); i++ {
			h := uint64(i) * 0x9e3779b97f4a7c15
			h ^= h >> 29
			bld.Field(0).(*array.Int32Builder).Append(int32(h % 10))
			bld.Field(1).(*array.StringBuilder).Append(countries[(h>>8)%10])
			bld.Field(2).(*array.Float64Builder).Append(float64((h>>16)%1000)/100 + 0.99)
			bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(start.Add(time.Duration(i/7) * time.Minute).UnixMicro()))
			bld.Field(4).(*array.Float32Builder).Append(float32((h>>20)%200) / 10)
			bld.Field(5).(*array.Int64Builder).Append(int64((h >> 24) % 50000))
			bld.Field(6).(*array.Int16Builder).Append(int16(2000 + (h>>32)%26))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	return recs
}

// BenchmarkParquetStream writes 1M rows as Parquet to a byte counter, as a row stream of `strata serve` does:
// the mixed table and the low-cardinality fact table. Besides time and allocations it reports the output size
// (out-MB) and the peak live heap the writer adds on top of its input (peak-MB), measured on one extra pass
// that collects garbage every 4 batches and every MB of output.
func BenchmarkParquetStream(b *testing.B) {
	const rows = 1_000_000
	for _, tc := range []struct {
		name   string
		schema *arrow.Schema
		rows   func() []arrow.RecordBatch
	}{
		{"mixed", mixedSchema, func() []arrow.RecordBatch { return mixedRows(0, rows) }},
		{"fact", factSchema, func() []arrow.RecordBatch { return factRows(rows) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			recs := tc.rows()
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			var out countingWriter
			for b.Loop() {
				rdr, err := array.NewRecordReader(tc.schema, recs)
				require.NoError(b, err)
				out = countingWriter{}
				n, err := rowfmt.Write(&out, rdr, rowfmt.Parquet, rowfmt.Options{})
				require.NoError(b, err)
				require.Equal(b, int64(rows), n)
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(out.n)/1e6, "out-MB")
			b.ReportMetric(peakHeapMB(b, tc.schema, recs), "peak-MB")
		})
	}
}

// peakHeapMB is the most live heap that writing recs as Parquet adds.
func peakHeapMB(b *testing.B, schema *arrow.Schema, recs []arrow.RecordBatch) float64 {
	rdr, err := array.NewRecordReader(schema, recs)
	require.NoError(b, err)
	runtime.GC()
	runtime.GC() // the second empties the pools (zstd encoders) the timed runs left
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	h := &heapPeak{}
	_, err = rowfmt.Write(&gcWriter{heapPeak: h}, &gcReader{RecordReader: rdr, heapPeak: h}, rowfmt.Parquet, rowfmt.Options{})
	require.NoError(b, err)
	return float64(h.peak-min(base, h.peak)) / 1e6
}
