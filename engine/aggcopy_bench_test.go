//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkAggregateCopies is bench/sql's aggregate in DuckDB alone over in-memory copies of the table stored in
// different ways: DuckDB's plain in-memory table, a compressed in-memory database checkpointed after the copy
// (hot.go's copy), and variants of it; scan-cpu-ms/op reads every column of every row (a hash of each row).
// STRATA_AGG_ROWS sets the rows (default 2M); STRATA_AGG_VARIANTS picks variants by name (comma-separated).
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
			scan := "SELECT max(hash(id, a, b, s, amount, name, tag, \"at\", flag, day)) FROM " + v.table // every column read
			var scanCPU time.Duration
			cpu := cpuTime()
			for b.Loop() {
				require.Equal(b, 1000, plainQuery(b, db, q))
				c := cpuTime()
				require.Equal(b, 1, plainQuery(b, db, scan))
				scanCPU += cpuTime() - c
			}
			b.ReportMetric(float64((cpuTime()-cpu-scanCPU).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			b.ReportMetric(float64(scanCPU.Microseconds())/float64(b.N)/1000, "scan-cpu-ms/op")
			b.ReportMetric(float64(mem)/(1<<20), "MiB")
		})
	}
}

// BenchmarkStreamCopies streams bench/sql's 1M rows × 10 columns (SELECT *, as Arrow, what sqlwire encodes) out of
// a pooled database's in-memory copy, compressed (as the engine copies) and uncompressed
// (Options.HotUncompressed): what the compression costs a bulk read.
func BenchmarkStreamCopies(b *testing.B) {
	const rows = 1_000_000
	tbl := benchSQLTable(b, rows)
	for _, plain := range []bool{false, true} {
		name := "compressed"
		if plain {
			name = "uncompressed"
		}
		e := newEngine(b, Options{Threads: 2, HotUncompressed: plain})
		useTwice(b, e, tbl)
		waitHot(b, e, 1)
		b.Run(name, func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				res, err := e.QueryWith(context.Background(), "SELECT * FROM clean.bench_t10", []Table{tbl}, reuse)
				require.NoError(b, err)
				n := 0
				for res.Next() {
					n += int(res.RecordBatch().NumRows())
				}
				require.NoError(b, res.Err())
				require.NoError(b, res.Close())
				require.Equal(b, rows, n)
			}
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
		})
	}
}
