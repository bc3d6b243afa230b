package postgres

import (
	"context"
	"syscall"
	"testing"

	"github.com/strata-data/strata/internal/testenv"
)

// BenchmarkSource reads 500k rows × 9 columns with the row stream (query) and with COPY BINARY (copy), and reports
// the process CPU per million rows.
//
//	./scripts/test ./move/postgres -run XXX -bench BenchmarkSource -benchtime 3x
func BenchmarkSource(b *testing.B) {
	dsn := testenv.PostgresDSN(b)
	seed(b, dsn, `CREATE TABLE bench AS SELECT i::bigint AS id, (i % 1000)::int AS n, i * 0.5 AS f, 'name ' || (i % 977) AS s,
		timestamptz '2026-01-01Z' + i * interval '1 second' AS at, date '2026-01-01' + (i % 365) AS d,
		(i % 100000) / 100.0::numeric(12,2) AS amount, ((i % 100000) / 100.0)::numeric(12,2) AS price,
		i % 2 = 0 AS ok FROM generate_series(1, 500000) i`)
	for _, cp := range []bool{false, true} {
		name := "query"
		if cp {
			name = "copy"
		}
		b.Run(name, func(b *testing.B) {
			q := "SELECT * FROM bench WHERE id > $1"
			cpu0 := cpuSeconds(b)
			for i := 0; i < b.N; i++ {
				r, err := Open(context.Background(), Options{DSN: dsn, Query: q, Args: []any{int64(0)}, WatermarkArg: -1, Copy: cp, Render: render(q)})
				if err != nil {
					b.Fatal(err)
				}
				for r.Next() {
				}
				if r.Err() != nil || r.Rows() != 500000 {
					b.Fatal(r.Err(), r.Rows())
				}
				_ = r.Close()
			}
			b.ReportMetric(float64(500000*b.N)/b.Elapsed().Seconds(), "rows/s")
			// The process's CPU (user + system) per million rows: the client's decode cost, whatever the load.
			b.ReportMetric((cpuSeconds(b)-cpu0)/float64(b.N)/0.5, "cpu-s/1Mrows")
		})
	}
}

// cpuSeconds is the process's user + system CPU time so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
