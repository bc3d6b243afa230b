//go:build duckdb_arrow

package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkFloatCodec writes 1M rows × 10 nullable DOUBLE columns (every 11th value NULL) with each compression
// codec DuckDB's Parquet writer offers, in Parquet format v1 (DuckDB's default: dictionary or plain pages) and
// v2 (adds BYTE_STREAM_SPLIT for floats), and reads them back (sum of every column from read_parquet): decode
// CPU per read and file size. The values: "random" (uniform in [0, 1000)), "rounded2" and "rounded4" (the same
// rounded to 2 and 4 decimals, like prices and measurements), "counter" (small integers as floats, like the
// features benchmarks' f = i + j).
func BenchmarkFloatCodec(b *testing.B) {
	const rows, ncol = 1_000_000, 10
	values := map[string]string{
		"random":   "random() * 1000",
		"rounded2": "round(random() * 1000, 2)",
		"rounded4": "round(random() * 1000, 4)",
		"counter":  "(i + %d)::DOUBLE",
	}
	dir := b.TempDir()
	db := plainDuckDB(b)
	for _, shape := range []string{"random", "rounded2", "rounded4", "counter"} {
		cols := make([]string, ncol)
		sums := make([]string, ncol)
		for j := range cols {
			v := values[shape]
			if strings.Contains(v, "%d") {
				v = fmt.Sprintf(v, j)
			}
			cols[j] = fmt.Sprintf("CASE WHEN (i + %d) %% 11 = 0 THEN NULL ELSE %s END AS c%d", j, v, j)
			sums[j] = fmt.Sprintf("sum(c%d)", j)
		}
		sel := fmt.Sprintf("SELECT %s FROM range(%d) t(i)", strings.Join(cols, ", "), rows)
		for _, codec := range []string{"zstd", "snappy", "lz4_raw", "uncompressed"} {
			for _, version := range []string{"v1", "v2"} {
				name := shape + "/" + codec + "/" + version
				p := filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".parquet")
				_, err := db.Exec(fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION %s, PARQUET_VERSION %s, ROW_GROUP_SIZE %d)",
					sel, sqlString(p), codec, version, writeRowGroupRows))
				require.NoError(b, err)
				st, err := os.Stat(p)
				require.NoError(b, err)
				q := fmt.Sprintf("SELECT %s FROM read_parquet(%s)", strings.Join(sums, ", "), sqlString(p))
				b.Run(name, func(b *testing.B) {
					cpu := cpuTime()
					for b.Loop() {
						require.Equal(b, 1, plainQuery(b, db, q))
					}
					b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
					b.ReportMetric(float64(st.Size())/1e6, "MB")
				})
			}
		}
	}
}
