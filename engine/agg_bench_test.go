//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go-bindings"
	"github.com/stretchr/testify/require"
)

// benchSQLTable writes bench/sql's 10 columns for rows rows the way the lake's writer lays them out (DuckDB COPY,
// zstd, FIELD_IDS, ROW_GROUP_SIZE writeRowGroupRows, files of up to 256 MB, order not kept).
func benchSQLTable(b *testing.B, rows int) Table { return benchSQLTableRG(b, rows, writeRowGroupRows) }

// benchSQLTableRG is benchSQLTable with row groups of rowGroup rows.
func benchSQLTableRG(b *testing.B, rows, rowGroup int) Table {
	dir := b.TempDir()
	out := filepath.Join(dir, "data")
	sel := fmt.Sprintf(`SELECT i::BIGINT AS id, (i * 0.5)::DOUBLE AS a, (i %% 1000)::INTEGER AS b, (i %% 7)::SMALLINT AS s,
		((i %% 100000) / 100.0)::DECIMAL(12,2) AS amount, 'name ' || (i %% 10000)::VARCHAR AS name, md5(i::VARCHAR) AS tag,
		TIMESTAMP '2026-01-01' + i * INTERVAL 1 SECOND AS at, (i %% 2 = 0) AS flag, (i %% 365)::INTEGER AS day
		FROM range(%d) AS g(i)`, rows)
	duck(b, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd, FIELD_IDS {id: 1, a: 2, b: 3, s: 4, amount: 5, "+
		"name: 6, tag: 7, \"at\": 8, flag: 9, day: 10}, ROW_GROUP_SIZE %d, FILE_SIZE_BYTES '256MB', PRESERVE_ORDER false)",
		sel, sqlString(out), rowGroup))
	files, err := filepath.Glob(filepath.Join(out, "*.parquet"))
	require.NoError(b, err)
	t := Table{Schema: "clean", Name: "bench_t10", Files: files}
	for i, c := range [][2]string{{"id", "long"}, {"a", "double"}, {"b", "int"}, {"s", "int"}, {"amount", "decimal(12, 2)"},
		{"name", "string"}, {"tag", "string"}, {"at", "timestamp"}, {"flag", "boolean"}, {"day", "int"}} {
		t.Columns = append(t.Columns, Column{FieldID: i + 1, Name: c[0], Type: c[1]})
	}
	return t
}

// BenchmarkAggregateBenchSQL is bench/sql's aggregate (GROUP BY 1,000 groups) over the same columns, laid out as
// the lake writes them: DuckDB alone on read_parquet, DuckDB alone on the engine's view SQL (field-id schema),
// and the engine (fresh database, pooled database reading Parquet, the same with the field-id view forced
// (Options.FieldIDViews), pooled database with the table copied into memory). STRATA_AGG_ROWS sets the rows (default 2M). cpu-ms/op is the
// process's CPU time, which on a shared machine measures the work better than the wall clock.
func BenchmarkAggregateBenchSQL(b *testing.B) {
	rows := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("STRATA_AGG_ROWS")); err == nil {
		rows = v
	}
	tbl := benchSQLTable(b, rows)
	b.Logf("%d rows in %d files", rows, len(tbl.Files))
	const agg = "SELECT b, count(*), avg(a), sum(amount), max(name) FROM %s GROUP BY b ORDER BY b"
	view, _, err := tableSelect(tbl)
	require.NoError(b, err)
	measure := func(b *testing.B, run func() int) {
		cpu := cpuTime()
		for b.Loop() {
			require.Equal(b, 1000, run())
		}
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
	}
	b.Run("duckdb/read_parquet", func(b *testing.B) {
		db := plainDuckDB(b)
		measure(b, func() int { return plainQuery(b, db, fmt.Sprintf(agg, "read_parquet("+sqlStringList(tbl.Files)+")")) })
	})
	b.Run("duckdb/view-sql", func(b *testing.B) {
		db := plainDuckDB(b)
		measure(b, func() int { return plainQuery(b, db, fmt.Sprintf(agg, "("+view+")")) })
	})
	for _, mode := range []struct {
		name    string
		opts    QueryOptions
		hot     int64
		fieldID bool
	}{{"engine/fresh", QueryOptions{}, -1, false}, {"engine/pooled", reuse, -1, false},
		{"engine/pooled-fieldid", reuse, -1, true}, {"engine/hot", reuse, 16 << 30, false}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newEngine(b, Options{Threads: 2, HotTableBytes: mode.hot, HotTotalBytes: 16 << 30, FieldIDViews: mode.fieldID})
			if mode.hot > 0 {
				useTwice(b, e, tbl)
				// 10M rows take ~20 s to copy on a busy 2-core machine: longer than waitHot allows.
				require.Eventually(b, func() bool { return e.HotLoads() >= 1 && e.Pooled() >= 1 }, 5*time.Minute, 10*time.Millisecond)
			}
			measure(b, func() int { return len(queryWith(b, e, fmt.Sprintf(agg, "clean.bench_t10"), mode.opts, tbl)) })
		})
	}
}

// BenchmarkStreamBenchSQL streams bench/sql's 1M rows × 10 columns (SELECT *) out of the engine: "chunks" fetches
// DuckDB's data chunks and drops them (DuckDB's own work: reading and decoding the Parquet files), "arrow" is the
// engine's Result (chunks converted to Arrow record batches and imported into Go). The difference is the engine's
// share of a bulk read; the rest of a wire read is sqlwire's encoding and the client. The -fieldid runs read
// through the field-id view (Options.FieldIDViews) instead of plain read_parquet.
func BenchmarkStreamBenchSQL(b *testing.B) {
	const rows = 1_000_000
	tbl := benchSQLTable(b, rows)
	const q = "SELECT * FROM clean.bench_t10"
	measure := func(b *testing.B, run func() int) {
		cpu := cpuTime()
		for b.Loop() {
			require.Equal(b, rows, run())
		}
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	for _, fieldID := range []bool{false, true} {
		e := newEngine(b, Options{Threads: 2, FieldIDViews: fieldID})
		suffix := ""
		if fieldID {
			suffix = "-fieldid"
		}
		b.Run("chunks"+suffix, func(b *testing.B) {
			measure(b, func() int {
				in, err := e.prepare(context.Background(), []Table{tbl}, nil)
				require.NoError(b, err)
				defer e.retire(in)
				ps, err := in.prepareLast(context.Background(), q)
				require.NoError(b, err)
				s, err := in.startStream(context.Background(), ps)
				require.NoError(b, err)
				defer s.release()
				n := 0
				for {
					chunk, ok := s.nextChunk()
					if !ok {
						return n
					}
					n += int(duckdb.DataChunkGetSize(chunk))
					duckdb.DestroyDataChunk(&chunk)
				}
			})
		})
		b.Run("arrow"+suffix, func(b *testing.B) {
			measure(b, func() int {
				res, err := e.Query(context.Background(), q, []Table{tbl})
				require.NoError(b, err)
				defer res.Close()
				n := 0
				for res.Next() {
					n += int(res.RecordBatch().NumRows())
				}
				require.NoError(b, res.Err())
				return n
			})
		})
	}
}

// BenchmarkRowGroupSize measures what the lake writer's row group size does to a point query (SELECT * WHERE
// id = k, one matching row) and to bench/sql's aggregate, over 1M rows in a pooled database. A point query
// decompresses every column of the row group its row is in (DuckDB reads no page index), so its cost grows
// with the row group. rows131072-hot is the lake's layout once the pooled database copied the table into memory
// (hot.go).
func BenchmarkRowGroupSize(b *testing.B) {
	const rows = 1_000_000
	for _, layout := range []struct {
		rowGroup int
		hot      bool
	}{{writeRowGroupRows, false}, {16384, false}, {writeRowGroupRows, true}} {
		rg := layout.rowGroup
		tbl := benchSQLTableRG(b, rows, rg)
		e := newEngine(b, Options{Threads: 2, HotTableBytes: -1})
		name := fmt.Sprintf("rows%d", rg)
		if layout.hot {
			e = newEngine(b, Options{Threads: 2})
			useTwice(b, e, tbl)
			waitHot(b, e, 1)
			name += "-hot"
		}
		for _, mode := range []struct {
			name string
			sql  func(i int) string
		}{
			{"point", func(i int) string { return fmt.Sprintf("SELECT * FROM clean.bench_t10 WHERE id = %d", (i*7919)%rows) }},
			{"aggregate", func(int) string {
				return "SELECT b, count(*), avg(a), sum(amount), max(name) FROM clean.bench_t10 GROUP BY b ORDER BY b LIMIT 1"
			}},
		} {
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				cpu := cpuTime()
				for i := range b.N {
					require.Len(b, queryWith(b, e, mode.sql(i), reuse, tbl), 1)
				}
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
		}
	}
}

// BenchmarkAggregateParts splits bench/sql's aggregate into its parts, in DuckDB alone, over the table in memory
// (copied from the lake layout as hot.go copies it) and over the engine's field-id view of the Parquet files:
// which aggregate, and which read of the data, the CPU goes to. STRATA_AGG_ROWS sets the rows (default 2M).
func BenchmarkAggregateParts(b *testing.B) {
	rows := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("STRATA_AGG_ROWS")); err == nil {
		rows = v
	}
	tbl := benchSQLTable(b, rows)
	view, _, err := tableSelect(tbl)
	require.NoError(b, err)
	db := plainDuckDB(b)
	_, err = db.Exec("CREATE TABLE t AS " + view)
	require.NoError(b, err)
	for _, q := range []struct{ name, sql string }{
		{"all", "SELECT b, count(*), avg(a), sum(amount), max(name) FROM %s GROUP BY b ORDER BY b"},
		{"without-max-name", "SELECT b, count(*), avg(a), sum(amount) FROM %s GROUP BY b ORDER BY b"},
		{"max-name", "SELECT b, max(name) FROM %s GROUP BY b ORDER BY b"},
		{"max-tag", "SELECT b, max(tag) FROM %s GROUP BY b ORDER BY b"}, // 32-byte md5 text: prefixes differ
		{"count", "SELECT b, count(*) FROM %s GROUP BY b ORDER BY b"},
		{"max-name-ungrouped", "SELECT max(name) FROM %s"},
	} {
		for _, from := range []struct{ name, sql string }{{"memory", "t"}, {"view", "(" + view + ")"}} {
			b.Run(q.name+"/"+from.name, func(b *testing.B) {
				cpu := cpuTime()
				for b.Loop() {
					plainQuery(b, db, fmt.Sprintf(q.sql, from.sql))
				}
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
		}
	}
}
