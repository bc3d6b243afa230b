//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/sqlwire"
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

// BenchmarkCopyBinary1M: COPY (1M rows × 10 columns, the bench/sql shape) TO STDOUT (FORMAT binary) read raw.
func BenchmarkCopyBinary1M(b *testing.B) {
	f := start(b)
	c := f.connect(b, "dev", pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	const q = `COPY (SELECT i::BIGINT AS id, (i * 0.5)::DOUBLE AS a, (i % 1000)::INTEGER AS b, (i % 7)::SMALLINT AS s,
		((i % 100000) / 100.0)::DECIMAL(12,2) AS amount, 'name ' || (i % 10000)::VARCHAR AS name, md5(i::VARCHAR) AS tag,
		TIMESTAMP '2026-01-01' + i * INTERVAL 1 SECOND AS at, (i % 2 = 0) AS flag, (i % 365)::INTEGER AS day
		FROM range(1000000) AS g(i)) TO STDOUT (FORMAT binary)`
	b.ResetTimer()
	for range b.N {
		tag, err := c.PgConn().CopyTo(ctx, io.Discard, q)
		require.NoError(b, err)
		require.Equal(b, "COPY 1000000", tag.String())
	}
	b.ReportMetric(1e6*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPointQuery runs `SELECT ... FROM raw.people WHERE id = $1` through pgx's extended protocol, with
// the engine's pool of sealed databases (pooled) and without it (fresh: a new database, views and sandbox per
// statement). Every statement still binds the table through envs.
func BenchmarkPointQuery(b *testing.B) {
	for _, mode := range []struct {
		name string
		pool int
	}{{"fresh", -1}, {"pooled", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			f := start(b, func(o *sqlwire.Options) {
				eng, err := engine.New(engine.Options{Threads: 1, TempDir: b.TempDir(), Pool: mode.pool})
				require.NoError(b, err)
				b.Cleanup(func() { _ = eng.Close() })
				o.Engine = eng
			})
			c := f.connect(b, "dev", pgx.QueryExecModeCacheStatement)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				id := int64(i%3 + 1)
				var name string
				require.NoError(b, c.QueryRow(ctx, "SELECT name FROM raw.people WHERE id = $1", id).Scan(&name))
				require.Contains(b, name, fmt.Sprint(id))
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
		})
	}
}
