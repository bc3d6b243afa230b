//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // driver "duckdb": the plain-DuckDB baseline
	"github.com/stretchr/testify/require"
)

// peakRSS resets the kernel's peak-RSS mark (clear_refs 5) and returns a func that reads the peak since.
func peakRSS(t testing.TB) func() int64 {
	t.Helper()
	require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0))
	return func() int64 {
		b, err := os.ReadFile("/proc/self/status")
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				require.NoError(t, err)
				return kb << 10
			}
		}
		t.Fatal("no VmHWM in /proc/self/status")
		return 0
	}
}

func currentRSS(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// wideParquet writes rows rows of about 90 bytes each (decoded), compressing to much less on disk.
func wideParquet(t testing.TB, dir string, rows int) string {
	t.Helper()
	return writeParquet(t, dir, fmt.Sprintf("wide-%d.parquet", rows),
		fmt.Sprintf("SELECT i AS id, i * 2 AS v, 'payload-' || i || repeat('x', 64) AS s FROM range(%d) t(i)", rows), "{id: 1, v: 2, s: 3}")
}

// TestReadParquetConstantMemory reads 5M rows (about 450 MB as Arrow) and checks that the process's peak
// RSS grows by far less than the data: ReadFile streams.
func TestReadParquetConstantMemory(t *testing.T) {
	e := newEngine(t, Options{})
	p := wideParquet(t, t.TempDir(), 5_000_000)
	before := currentRSS(t)
	peak := peakRSS(t)
	fr, err := e.ReadFile(context.Background(), p, ReadOptions{})
	require.NoError(t, err)
	var rows, bytes int64
	for fr.Next() {
		rec := fr.RecordBatch()
		rows += rec.NumRows()
		for _, c := range rec.Columns() {
			for _, b := range c.Data().Buffers() {
				if b != nil {
					bytes += int64(b.Len())
				}
			}
		}
	}
	require.NoError(t, fr.Err())
	require.NoError(t, fr.Close())
	grew := peak() - before
	t.Logf("read %d rows, %d MB of Arrow buffers; peak RSS grew by %d MB", rows, bytes>>20, grew>>20)
	require.Equal(t, int64(5_000_000), rows)
	require.Greater(t, bytes, int64(400<<20))
	require.Less(t, grew, int64(250<<20), "reading must stream, not load the file")
}

// BenchmarkReadParquet streams a 2M-row Parquet file through ReadFile.
func BenchmarkReadParquet(b *testing.B) {
	e := newEngine(b, Options{})
	p := wideParquet(b, b.TempDir(), 2_000_000)
	before := currentRSS(b)
	peak := peakRSS(b)
	b.ResetTimer()
	for b.Loop() {
		fr, err := e.ReadFile(context.Background(), p, ReadOptions{})
		require.NoError(b, err)
		n := int64(0)
		for fr.Next() {
			n += fr.RecordBatch().NumRows()
		}
		require.NoError(b, fr.Err())
		require.NoError(b, fr.Close())
		require.Equal(b, int64(2_000_000), n)
	}
	b.ReportMetric(float64(2_000_000*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak()-before)/(1<<20), "peakRSS-MB")
}

// BenchmarkQueryAggregate compares engine.Query (fresh database, view with field-id projection) with plain
// DuckDB (duckdb-go database/sql, one open connection, read_parquet on the same files) on a grouped
// aggregate over 4 files of 1M rows.
func BenchmarkQueryAggregate(b *testing.B) {
	dir := b.TempDir()
	tbl := bigTable(b, dir, 4, 1_000_000)
	const agg = "SELECT k, count(*), sum(v), min(s), max(s) FROM %s GROUP BY k"
	b.Run("engine", func(b *testing.B) {
		e := newEngine(b, Options{})
		for b.Loop() {
			rows := query(b, e, fmt.Sprintf(agg, "raw.big"), tbl)
			require.Len(b, rows, 100)
		}
	})
	b.Run("duckdb", func(b *testing.B) {
		db := plainDuckDB(b)
		for b.Loop() {
			n := plainQuery(b, db, fmt.Sprintf(agg, "read_parquet("+sqlStringList(tbl.Files)+")"))
			require.Equal(b, 100, n)
		}
	})
}

// BenchmarkQueryOverhead is the fixed cost of one Query (open a database, bind one table, seal it, run a
// trivial statement, close) against the same statement on an open duckdb-go connection. "back-to-back"
// runs queries without pause, so every database is opened on the query's path; "sporadic" leaves 30 ms
// between queries (off the clock), time for a spare to be ready, as with interactive use.
func BenchmarkQueryOverhead(b *testing.B) {
	tbl := bigTable(b, b.TempDir(), 1, 10)
	b.Run("engine/back-to-back", func(b *testing.B) {
		e := newEngine(b, Options{})
		for b.Loop() {
			require.Len(b, query(b, e, "SELECT count(*) FROM raw.big", tbl), 1)
		}
	})
	b.Run("engine/sporadic", func(b *testing.B) {
		e := newEngine(b, Options{})
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			time.Sleep(30 * time.Millisecond)
			b.StartTimer()
			require.Len(b, query(b, e, "SELECT count(*) FROM raw.big", tbl), 1)
		}
	})
	b.Run("duckdb", func(b *testing.B) {
		db := plainDuckDB(b)
		for b.Loop() {
			require.Equal(b, 1, plainQuery(b, db, "SELECT count(*) FROM read_parquet("+sqlStringList(tbl.Files)+")"))
		}
	})
}

func plainDuckDB(b *testing.B) *sql.DB {
	db, err := sql.Open("duckdb", "")
	require.NoError(b, err)
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec("SET threads = 2")
	require.NoError(b, err)
	return db
}

func plainQuery(b *testing.B, db *sql.DB, q string) int {
	rows, err := db.Query(q)
	require.NoError(b, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	require.NoError(b, rows.Err())
	return n
}

// BenchmarkReadFile reads the same 1M rows (id, name, amount, day, ts, flag) from CSV, JSON lines and
// Parquet; CSV and JSON are small enough (< 64 MiB) to have their types sniffed from the whole file.
func BenchmarkReadFile(b *testing.B) {
	dir := b.TempDir()
	const sel = "SELECT i AS id, 'name' || i AS name, i * 1.5 AS amount, DATE '2020-01-01' + (i % 1000)::INT AS day, " +
		"TIMESTAMP '2020-01-01' + to_seconds(i) AS ts, i % 2 = 0 AS flag FROM range(1000000) t(i)"
	files := map[string]string{}
	for _, f := range []struct{ name, opts string }{
		{"data.csv", "FORMAT csv, HEADER"}, {"data.jsonl", "FORMAT json"}, {"data.parquet", "FORMAT parquet"},
	} {
		p := dir + "/" + f.name
		duck(b, fmt.Sprintf("COPY (%s) TO %s (%s)", sel, sqlString(p), f.opts))
		files[f.name] = p
	}
	e := newEngine(b, Options{})
	for _, name := range []string{"data.csv", "data.jsonl", "data.parquet"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				fr, err := e.ReadFile(context.Background(), files[name], ReadOptions{})
				require.NoError(b, err)
				for fr.Next() {
				}
				require.NoError(b, fr.Err())
				require.Equal(b, int64(1_000_000), fr.Rows())
				require.NoError(b, fr.Close())
			}
			b.ReportMetric(float64(1_000_000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
