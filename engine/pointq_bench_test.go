//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkPooledPointQuery runs a point query in a pooled database, as sqlwire sends it: with a parameter
// (PREPARE + EXECUTE of typed literals), with the value inlined, the same SQL each time, and a constant SELECT
// (the engine's fixed cost), over Parquet and with the table copied into memory (hot: compressed, as the engine copies it;
// hot-uncompressed: Options.HotUncompressed). cpu-ms/op is the process's CPU time per query.
// STRATA_POINT_ROWS sets the table's rows (default 10,000).
func BenchmarkPooledPointQuery(b *testing.B) {
	rows := 10_000
	if v, err := strconv.Atoi(os.Getenv("STRATA_POINT_ROWS")); err == nil {
		rows = v
	}
	f := writeParquet(b, b.TempDir(), "people.parquet",
		fmt.Sprintf("SELECT i::BIGINT AS id, 'person ' || i AS name FROM range(1, %d) t(i)", rows+1), "{id: 1, name: 2}")
	people := Table{Schema: "raw", Name: "people", Files: []string{f},
		Columns: []Column{{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 2, Name: "name", Type: "string"}}}
	parquet := newEngine(b, Options{Threads: 1, HotTableBytes: -1})
	hot := newEngine(b, Options{Threads: 1})
	useTwice(b, hot, people)
	waitHot(b, hot, 1)
	plain := newEngine(b, Options{Threads: 1, HotUncompressed: true})
	useTwice(b, plain, people)
	waitHot(b, plain, 1)
	for _, mode := range []struct {
		name string
		sql  func(id int) string
	}{
		{"params", func(id int) string {
			return fmt.Sprintf("PREPARE strata_stmt AS SELECT name FROM raw.people WHERE id = $1;\nEXECUTE strata_stmt(CAST('%d' AS BIGINT))", id)
		}},
		{"params-int4", func(id int) string { // psycopg declares a small Python int as int4: a cast that differs from id's type
			return fmt.Sprintf("PREPARE strata_stmt AS SELECT name FROM raw.people WHERE id = $1;\nEXECUTE strata_stmt(CAST('%d' AS INTEGER))", id)
		}},
		{"literal", func(id int) string { return fmt.Sprintf("SELECT name FROM raw.people WHERE id = %d", id) }},
		{"constant", func(int) string { return "SELECT 'person 7' AS name" }},
		{"same", func(int) string { return "SELECT name FROM raw.people WHERE id = 7" }},
	} {
		for _, eng := range []struct {
			name string
			e    *Engine
		}{{"parquet", parquet}, {"hot", hot}, {"hot-uncompressed", plain}} {
			e := eng.e
			b.Run(eng.name+"/"+mode.name, func(b *testing.B) {
				ctx := context.Background()
				cpu := cpuTime()
				for i := range b.N {
					res, err := e.QueryWith(ctx, mode.sql(i%100+1), []Table{people}, QueryOptions{Reuse: true})
					require.NoError(b, err)
					n := 0
					for res.Next() {
						n += int(res.RecordBatch().NumRows())
					}
					require.NoError(b, res.Err())
					require.NoError(b, res.Close())
					require.Equal(b, 1, n)
				}
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
		}
	}
}

// cpuTime is the process's user + system CPU time so far: on a loaded machine it measures the work a
// benchmark does better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
