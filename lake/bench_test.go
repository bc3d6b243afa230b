package lake_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

// BenchmarkWrite appends 1M rows × 12 columns per iteration to one table (SQLite metadata). The input batches
// are built once, outside the timer, so only the lake's work is measured: rows/s, input MB/s (Arrow buffers)
// and output MB/s (Parquet). Peak memory for 1M and 10M rows: go run ./lake/internal/writerss.
func BenchmarkWrite(b *testing.B) {
	const rows, batchRows = 1_000_000, 64 * 1024
	l, _ := laketest.New(b, testenv.SQLiteDSN(b), "dev")
	id := lake.Ident{Zone: "raw", Name: "bench"}
	var recs []arrow.RecordBatch
	var inBytes int64
	for first := int64(0); first < rows; first += batchRows {
		rec := laketest.Batch(first, min(batchRows, rows-first))
		recs = append(recs, rec)
		for _, col := range rec.Columns() {
			for _, buf := range col.Data().Buffers() {
				if buf != nil {
					inBytes += int64(buf.Len())
				}
			}
		}
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()

	var outBytes, n int64
	for b.Loop() {
		rdr, err := array.NewRecordReader(laketest.Schema, recs)
		if err != nil {
			b.Fatal(err)
		}
		res, err := l.Write(ctx, "dev", id, rdr, lake.WriteOptions{CreateIfMissing: true})
		rdr.Release()
		if err != nil {
			b.Fatal(err)
		}
		if res.AddedRows != rows {
			b.Fatalf("wrote %d rows, want %d", res.AddedRows, rows)
		}
		outBytes += res.AddedBytes
		n++
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(n*rows)/secs, "rows/s")
	b.ReportMetric(float64(n*inBytes)/1e6/secs, "in-MB/s")
	b.ReportMetric(float64(outBytes)/1e6/secs, "out-MB/s")
}
