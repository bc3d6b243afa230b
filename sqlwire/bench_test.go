//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// BenchmarkStream1M streams 1M rows × 3 columns (bigint, double, text) through pgx (simple protocol, text
// format) and reports rows/s.
func BenchmarkStream1M(b *testing.B) {
	f := start(b)
	c := f.connect(b, "dev", pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	const n = 1_000_000
	b.ResetTimer()
	for range b.N {
		rows, err := c.Query(ctx, "SELECT i, i * 0.5 AS d, 'row ' || i AS s FROM range(1000000) t(i)")
		require.NoError(b, err)
		got := 0
		for rows.Next() {
			got++
		}
		require.NoError(b, rows.Err())
		require.Equal(b, n, got)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
