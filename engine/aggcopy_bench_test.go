//go:build duckdb_arrow

package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkAggregateCopies is bench/sql's aggregate in DuckDB alone over in-memory copies of the table stored in
// different ways: DuckDB's plain in-memory table, a compressed in-memory database checkpointed after the copy
// (hot.go's copy), and variants of it. STRATA_AGG_ROWS sets the rows (default 2M); STRATA_AGG_VARIANTS picks
// variants by name (comma-separated).
func BenchmarkAggregateCopies(b *testing.B) {
	rows := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("STRATA_AGG_ROWS")); err == nil {
		rows = v
	}
	tbl := benchSQLTable(b, rows)
	view, _, err := tableSelect(tbl)
	require.NoError(b, err)
	const agg = "SELECT b, count(*), avg(a), sum(amount), max(name) FROM %s GROUP BY b ORDER BY b"
	variants := []struct{ name, setup, table, session string }{
		{"plain", "CREATE TABLE t AS " + view, "t", ""},
		{"compressed", "ATTACH ':memory:' AS h (COMPRESS); CREATE TABLE h.t AS " + view + "; CHECKPOINT h", "h.t", ""},
		{"compressed-fsst-vectors", "ATTACH ':memory:' AS h (COMPRESS); CREATE TABLE h.t AS " + view + "; CHECKPOINT h", "h.t",
			"SET enable_fsst_vectors = true"},
		{"compressed-dictionary", "ATTACH ':memory:' AS h (COMPRESS); SET force_compression = 'dictionary'; CREATE TABLE h.t AS " +
			view + "; CHECKPOINT h; RESET force_compression", "h.t", ""},
		{"compressed-sorted-b", "ATTACH ':memory:' AS h (COMPRESS); CREATE TABLE h.t AS SELECT * FROM (" + view + ") ORDER BY b; CHECKPOINT h", "h.t", ""},
		{"plain-threads1", "CREATE TABLE t AS " + view, "t", "SET threads = 1"},
		{"compressed-threads1", "ATTACH ':memory:' AS h (COMPRESS); CREATE TABLE h.t AS " + view + "; CHECKPOINT h", "h.t", "SET threads = 1"},
	}
	pick := os.Getenv("STRATA_AGG_VARIANTS")
	for _, v := range variants {
		if pick != "" && !strings.Contains(","+pick+",", ","+v.name+",") {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			db := plainDuckDB(b)
			_, err := db.Exec(v.setup)
			require.NoError(b, err)
			if v.session != "" {
				_, err = db.Exec(v.session)
				require.NoError(b, err)
			}
			var mem int64
			require.NoError(b, db.QueryRow("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'").Scan(&mem))
			q := fmt.Sprintf(agg, v.table)
			require.Equal(b, 1000, plainQuery(b, db, q))
			cpu := cpuTime()
			for b.Loop() {
				require.Equal(b, 1000, plainQuery(b, db, q))
			}
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			b.ReportMetric(float64(mem)/(1<<20), "MiB")
		})
	}
}
