package envs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
	"github.com/strata-data/strata/meta"
)

// BenchmarkWritePath compares the two ways a write can encode its data files, on the same data in one run:
// "lake" is the lake's own writer (arrow-go, one Parquet writer per core), "duckdb" is the engine's
// (DuckDB's COPY ... TO parquet with field ids, on every engine thread); both commit one snapshot.
//
//   - arrow: 1M rows × 12 columns of Arrow batches (laketest.Rows) through Service.Write, as movement does;
//   - import: the same rows as a zstd Parquet file through Service.ImportFile, as `strata table import`
//     does (the duckdb path copies the file without passing it through Go);
//   - floor: DuckDB alone rewriting that file (COPY ... TO parquet zstd), the least an import can cost.
//
// go test -tags duckdb_arrow ./envs -run '^$' -bench BenchmarkWritePath -benchtime 3x
func BenchmarkWritePath(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	eng, err := engine.New(engine.Options{TempDir: b.TempDir(), ExternalAccess: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eng.Close() })
	src := filepath.Join(b.TempDir(), "src.parquet")
	seed := newBenchService(b, nil)
	if _, err := seed.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "seed"}, laketest.Rows(0, rows, 64*1024),
		envs.WriteOptions{CreateIfMissing: true}); err != nil {
		b.Fatal(err)
	}
	tables, err := seed.BindSQL(ctx, "dev", "SELECT * FROM raw.seed")
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Export(ctx, "SELECT * FROM raw.seed", tables, "parquet", src); err != nil {
		b.Fatal(err)
	}
	writers := map[string]lake.FileWriter{"lake": nil, "duckdb": eng}
	for _, name := range []string{"lake", "duckdb"} {
		b.Run("arrow/"+name, func(b *testing.B) {
			svc := newBenchService(b, writers[name])
			for i := 0; b.Loop(); i++ {
				rdr := laketest.Rows(0, rows, 64*1024)
				res, err := svc.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: fmt.Sprint("t", i)}, rdr,
					envs.WriteOptions{CreateIfMissing: true})
				rdr.Release()
				benchCheck(b, res, err, rows)
			}
			b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("import/"+name, func(b *testing.B) {
			svc := newBenchService(b, writers[name])
			if name == "lake" { // ImportFile uses the engine it is given unless the service has a writer
				svc = newBenchService(b, lakeOwnWriter{})
			}
			for i := 0; b.Loop(); i++ {
				res, err := svc.ImportFile(ctx, eng, "dev", lake.Ident{Zone: "raw", Name: fmt.Sprint("t", i)}, src,
					engine.ReadOptions{}, envs.WriteOptions{CreateIfMissing: true})
				var wr *envs.WriteResult
				if res != nil {
					wr = res.WriteResult
				}
				benchCheck(b, wr, err, rows)
			}
			b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("floor", func(b *testing.B) {
		dir := b.TempDir()
		for i := 0; b.Loop(); i++ {
			out := filepath.Join(dir, fmt.Sprint(i, ".parquet"))
			if err := eng.Export(ctx, "SELECT * FROM read_parquet('"+src+"')", nil, "parquet", out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
	})
}

// lakeOwnWriter makes a service use the lake's own writer for imports too: it declines every write.
type lakeOwnWriter struct{}

func (lakeOwnWriter) CanWrite(*arrow.Schema) bool { return false }

func (lakeOwnWriter) WriteParquet(context.Context, array.RecordReader, string, *arrow.Schema) ([]string, error) {
	return nil, engine.ErrUnsupported
}

func newBenchService(b *testing.B, fw lake.FileWriter) *envs.Service {
	b.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	svc := envs.New(db, lk, envs.Options{Files: fw})
	if err := svc.Init(ctx); err != nil {
		b.Fatal(err)
	}
	return svc
}

func benchCheck(b *testing.B, res *envs.WriteResult, err error, rows int64) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	if res.AddedRows != rows {
		b.Fatalf("wrote %d rows, want %d", res.AddedRows, rows)
	}
}
