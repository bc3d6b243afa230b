package postgres

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"

	"github.com/strata-data/strata/internal/testenv"
)

// BenchmarkTarget writes 500k rows × 8 columns (held in memory as Arrow batches) into a PostgreSQL table with
// mode append, overwrite and merge (upsert on id): the target's side of lake → postgres alone. floor is the
// same rows loaded from their binary COPY dump (held in memory) into a table of the same types, the floor of a
// load (as psql \copy FROM a binary file). cpu-s/op is this process's CPU time (user + system) per write: the
// client's share, apart from the server's.
//
//	./scripts/test ./move/postgres -run XXX -bench BenchmarkTarget -benchtime 3x
func BenchmarkTarget(b *testing.B) {
	dsn := testenv.PostgresDSN(b)
	seed(b, dsn, `CREATE TABLE bench AS SELECT i::bigint AS id, (i % 1000)::int AS n, i * 0.5::float8 AS f, 'name ' || (i % 977) AS s,
		timestamptz '2026-01-01Z' + i * interval '1 second' AS at, date '2026-01-01' + (i % 365) AS d,
		((i % 100000) / 100.0)::numeric(12,2) AS amount, i % 2 = 0 AS ok FROM generate_series(1, 500000) i`)
	ctx := context.Background()
	r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT * FROM bench", WatermarkArg: -1, Copy: true, Render: render("SELECT * FROM bench")})
	if err != nil {
		b.Fatal(err)
	}
	var batches []arrow.RecordBatch
	for r.Next() {
		rb := r.RecordBatch()
		rb.Retain()
		batches = append(batches, rb)
	}
	if r.Err() != nil {
		b.Fatal(r.Err())
	}
	sc := r.Schema()
	_ = r.Close()
	b.Run("floor", func(b *testing.B) { benchFloor(b, dsn) })
	for _, mode := range []string{"append", "overwrite", "merge"} {
		opts := TargetOptions{DSN: dsn, Table: "bench_out_" + mode, Mode: mode}
		if mode == "merge" {
			opts.Key = []string{"id"}
		}
		b.Run(mode, func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				rdr, err := array.NewRecordReader(sc, batches)
				if err != nil {
					b.Fatal(err)
				}
				n, err := WriteTarget(ctx, rdr, opts)
				if err != nil || n != 500000 {
					b.Fatal(err, n)
				}
			}
			b.ReportMetric(float64(500000*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// benchFloor loads the bench table's binary COPY dump into a table of the same types, appending as
// BenchmarkTarget/append does.
func benchFloor(b *testing.B, dsn string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var dump bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &dump, "COPY bench TO STDOUT (FORMAT binary)"); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS bench_out_floor (LIKE bench)"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		tag, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(dump.Bytes()), "COPY bench_out_floor FROM STDIN (FORMAT binary)")
		if err != nil || tag.RowsAffected() != 500000 {
			b.Fatal(err, tag)
		}
	}
	b.ReportMetric(float64(500000*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is this process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
