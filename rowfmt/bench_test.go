package rowfmt_test

import (
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/rowfmt"
)

// BenchmarkWrite writes 307,200 rows of the 13-column sample, in DuckDB-sized batches of 2048, in each format.
func BenchmarkWrite(b *testing.B) {
	recs := make([]arrow.RecordBatch, 150)
	for i := range recs {
		recs[i] = sampleRows(i, 2048)
	}
	for _, f := range []rowfmt.Format{rowfmt.Table, rowfmt.CSV, rowfmt.JSON, rowfmt.Arrow, rowfmt.Parquet} {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				rdr, err := array.NewRecordReader(sampleSchema, recs)
				require.NoError(b, err)
				n, err := rowfmt.Write(io.Discard, rdr, f, rowfmt.Options{})
				require.NoError(b, err)
				require.Equal(b, int64(307_200), n)
			}
			b.ReportMetric(float64(307_200*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
