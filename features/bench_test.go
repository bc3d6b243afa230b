package features

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// benchRows writes n rows of (user_id, event_ts[, created_ts], f0..f{nf-1}) in batches of 64k: users cycle over
// entities, times go back and forth (out of order), every 7th row repeats the previous event time (a tie).
func benchRows(n, entities, nf int, spine bool) array.RecordReader {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	fields := []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts}}
	if !spine {
		fields = append(fields, arrow.Field{Name: "created_ts", Type: ts})
	}
	for i := 0; i < nf; i++ {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%d", i), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var recs []arrow.RecordBatch
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for start := 0; start < n; start += 1 << 16 {
		for i := start; i < n && i < start+1<<16; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i % entities))
			t := base + int64((i*7919)%(n+1))*60_000_000
			if i%7 == 0 && i > 0 {
				t = base + int64(((i-1)*7919)%(n+1))*60_000_000
			}
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
			c := 2
			if !spine {
				b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(t + int64(i%3)))
				c = 3
			}
			for j := 0; j < nf; j++ {
				if (i+j)%11 == 0 {
					b.Field(c + j).AppendNull()
				} else {
					b.Field(c + j).(*array.Float64Builder).Append(float64(i + j))
				}
			}
		}
		recs = append(recs, b.NewRecordBatch())
	}
	rdr, _ := array.NewRecordReader(schema, recs)
	return rdr
}

// BenchmarkDatasetBuild builds a training set of 10 features from 1M feature rows (100k entities) for a spine
// of 100k rows, end to end: resolve, join in DuckDB, write datasets.bench through envs.Write.
func BenchmarkDatasetBuild(b *testing.B) { benchBuild(b, 1_000_000, 100_000, 100_000, 10) }

// BenchmarkDatasetBuild50 is the goal shape: 1M feature rows × 100k spine rows × 50 float features.
func BenchmarkDatasetBuild50(b *testing.B) { benchBuild(b, 1_000_000, 100_000, 100_000, 50) }

// BenchmarkDatasetBuild10M is the large shape: 10M feature rows (1M entities) × 1M spine rows × 50 features.
func BenchmarkDatasetBuild10M(b *testing.B) { benchBuild(b, 10_000_000, 1_000_000, 1_000_000, 50) }

// BenchmarkDatasetJoin50 is BenchmarkDatasetBuild50 without the write: the DuckDB join alone, drained.
func BenchmarkDatasetJoin50(b *testing.B) {
	benchBuildMode(b, 1_000_000, 100_000, 100_000, 50, modeJoin)
}

// BenchmarkDatasetBuild50Arrow is BenchmarkDatasetBuild50 with the rows read out of the join's database and
// written by a second one, as before datasets were copied (QueryDeferred): the copy's baseline.
func BenchmarkDatasetBuild50Arrow(b *testing.B) {
	benchBuildMode(b, 1_000_000, 100_000, 100_000, 50, modeArrow)
}

const (
	modeBuild = iota // Build, as the CLI runs it
	modeJoin         // the join alone, drained
	modeArrow        // Build with the rows read through Go
)

func benchBuild(b *testing.B, rows, entities, spine, nf int) {
	benchBuildMode(b, rows, entities, spine, nf, modeBuild)
}

// hidden hides what a reader is, so that the engine's FileWriter reads its rows instead of copying its source.
type hidden struct{ array.RecordReader }

type arrowFiles struct{ eng *engine.Engine }

func (f arrowFiles) CanWrite(sc *arrow.Schema) bool { return f.eng.CanWrite(sc) }

func (f arrowFiles) WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, sc *arrow.Schema) ([]string, error) {
	return f.eng.WriteParquet(ctx, hidden{rdr}, dir, sc)
}

func benchBuildMode(b *testing.B, rows, entities, spine, nf, mode int) {
	ctx := context.Background()
	db := openDBB(b, testenv.SQLiteDSN(b))
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: b.TempDir()})
	require.NoError(b, err)
	eng, err := engine.New(engine.Options{Threads: 2, TempDir: b.TempDir()})
	require.NoError(b, err)
	defer eng.Close()
	// The engine writes the data files, as in the CLI (app.go's engineFiles): the lake's own arrow-go writer is
	// only a fallback, and measuring it made the write look 5x slower than what users get.
	svc := envs.New(db, lk, envs.Options{Files: eng})
	if mode == modeArrow {
		svc = envs.New(db, lk, envs.Options{Files: arrowFiles{eng}})
	}
	require.NoError(b, svc.Init(ctx))
	write := func(table string, rdr array.RecordReader) {
		id, _ := lake.ParseIdent(table)
		_, err := svc.Write(ctx, "dev", id, rdr, envs.WriteOptions{CreateIfMissing: true, Actor: "bench"})
		require.NoError(b, err)
	}
	write("clean.bench_features", benchRows(rows, entities, nf, false))
	write("raw.bench_spine", benchRows(spine, entities+entities/5, 0, true))
	var feats []string
	for i := 0; i < nf; i++ {
		feats = append(feats, fmt.Sprintf("{name: f%d, type: double}", i))
	}
	defs := mustParseB(b, "entities:\n  - name: user\n    join_keys: [{name: user_id, type: long}]\nfeature_views:\n  - name: bench\n"+
		"    entities: [user]\n    source: {table: clean.bench_features}\n    event_time: event_ts\n    created_time: created_ts\n"+
		"    ttl: 30d\n    features: ["+strings.Join(feats, ", ")+"]\n")
	r := NewRegistry(db)
	_, err = r.Apply(ctx, "dev", defs, "bench")
	require.NoError(b, err)
	bl := &Builder{Registry: r, Envs: svc, Engine: eng}
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op") }()
	for i := 0; i < b.N; i++ {
		req := DatasetRequest{Env: "dev", Name: "bench", Spine: "raw.bench_spine", SpineTime: "event_ts", Features: []string{"bench:*"}}
		if mode == modeJoin {
			q, _, err := bl.plan(ctx, req)
			require.NoError(b, err)
			res, err := eng.Query(ctx, q.sql, q.tables)
			require.NoError(b, err)
			n := int64(0)
			for res.Next() {
				n += res.RecordBatch().NumRows()
			}
			require.NoError(b, res.Err())
			res.Close()
			require.Equal(b, int64(spine), n)
			continue
		}
		ds, err := bl.Build(ctx, req)
		require.NoError(b, err)
		require.Equal(b, int64(spine), ds.Rows)
	}
}

func openDBB(b *testing.B, dsn string) *meta.DB {
	db, err := meta.Open(context.Background(), dsn)
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func mustParseB(b *testing.B, text string) *Defs {
	d, err := Parse("bench.yaml", []byte(text))
	require.NoError(b, err)
	return d
}

// cpuTime is the process's user + system CPU time: on a shared machine it measures the work of a benchmark
// better than wall time (DuckDB's threads are in the process).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
