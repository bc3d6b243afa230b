//go:build duckdb_arrow

package engine

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake/laketest"
)

// TestWriteParquetMemoryIsFlat: the peak memory (RSS) a write of Arrow batches adds to the process does not grow
// with the rows written — writing 4N rows adds about what N rows add — and stays far below what the rows take:
// the input is streamed, and each DuckDB thread buffers a row group of at most writeRowGroupBytes before it
// encodes it. The peak is the kernel's high-water mark, reset before each write (/proc/self/clear_refs), so the
// test does not depend on timing.
//
// Not parallel: it measures the whole process.
func TestWriteParquetMemoryIsFlat(t *testing.T) {
	e := newEngine(t, Options{Threads: 2})
	fields := make([]arrow.Field, laketest.Schema.NumFields())
	for i, f := range laketest.Schema.Fields() {
		fields[i] = withID(f, strconv.Itoa(i+1))
	}
	sc := arrow.NewSchema(fields, nil)
	growth := func(rows int64) int64 {
		rdr := laketest.Rows(0, rows, 16*1024)
		defer rdr.Release()
		runtime.GC()
		debug.FreeOSMemory()
		require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0), "reset the peak RSS")
		before := procKB(t, "VmRSS")
		files, err := e.WriteParquet(context.Background(), rdr, t.TempDir(), sc)
		require.NoError(t, err)
		require.NotEmpty(t, files)
		return (procKB(t, "VmHWM") - before) << 10
	}
	const n = 400_000                  // about 40 MB of Arrow data, 60 MB of DuckDB vectors
	growth(n)                          // warm up: DuckDB's and the allocators' first use
	small := max(growth(n), growth(n)) // the larger of two: the first after warming up may still be low
	big := growth(4 * n)
	t.Logf("peak RSS growth: %d MB for %d rows, %d MB for %d rows", small>>20, n, big>>20, 4*n)
	require.Less(t, big, small+small/4+(16<<20), "4× the rows must not take much more memory")
	require.Less(t, big, int64(128<<20), "a write's memory is bounded (Go batches + DuckDB's row group buffers)")
}

// procKB reads a "kB" field of /proc/self/status.
func procKB(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
