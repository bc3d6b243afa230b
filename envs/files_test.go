package envs_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// countingWriter is the engine's writer, counting the writes it does.
type countingWriter struct {
	eng   *engine.Engine
	calls atomic.Int64
}

func (c *countingWriter) CanWrite(sc *arrow.Schema) bool { return c.eng.CanWrite(sc) }

func (c *countingWriter) WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, sc *arrow.Schema) ([]string, error) {
	c.calls.Add(1)
	return c.eng.WriteParquet(ctx, rdr, dir, sc)
}

// TestWritesGoThroughTheFileWriter checks the routing: with Options.Files every write (Write, ImportFile)
// has its data files written by it, prod writes (staged) included; without it ImportFile uses the engine it is
// given. The rows land either way.
func TestWritesGoThroughTheFileWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng, db, lk := engineAndLake(t)
	fw := &countingWriter{eng: eng}
	svc := envs.New(db, lk, envs.Options{Files: fw})
	require.NoError(t, svc.Init(ctx))
	id := lake.Ident{Zone: "raw", Name: "t"}

	res, err := svc.Write(ctx, "dev", id, rows(0, 100), envs.WriteOptions{CreateIfMissing: true})
	require.NoError(t, err)
	require.EqualValues(t, 100, res.AddedRows)
	require.EqualValues(t, 1, fw.calls.Load())
	_, err = svc.Write(ctx, "prod", id, rows(0, 10), envs.WriteOptions{CreateIfMissing: true, Force: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, fw.calls.Load())
	csv := filepath.Join(t.TempDir(), "more.csv")
	require.NoError(t, os.WriteFile(csv, []byte("id,value\n100,x\n101,y\n"), 0o644))
	res2, err := svc.ImportFile(ctx, eng, "dev", id, csv, engine.ReadOptions{}, envs.WriteOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 2, res2.AddedRows)
	require.EqualValues(t, 3, fw.calls.Load())

	// Without a writer of its own the service imports with the engine it is given (the file copied whole).
	plain := envs.New(db, lk, envs.Options{})
	res3, err := plain.ImportFile(ctx, eng, "dev", id, csv, engine.ReadOptions{}, envs.WriteOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 2, res3.AddedRows)
	require.EqualValues(t, 3, fw.calls.Load())
	tables, err := svc.BindSQL(ctx, "dev", "SELECT count(*), sum(id) FROM raw.t")
	require.NoError(t, err)
	got, err := eng.Query(ctx, "SELECT count(*), sum(id) FROM raw.t", tables)
	require.NoError(t, err)
	defer got.Close()
	require.True(t, got.Next())
	rec := got.RecordBatch()
	require.Equal(t, "104", rec.Column(0).ValueStr(0))
	require.Equal(t, "5352", rec.Column(1).ValueStr(0)) // 0..99 + 2×(100+101)
}

// engineAndLake opens an engine that may read files (as strata's own commands do), a SQLite metadata database
// and a lake in a temporary warehouse, all closed when the test ends.
func engineAndLake(t *testing.T) (*engine.Engine, *meta.DB, *lake.Lake) {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.New(engine.Options{Threads: 2, TempDir: t.TempDir(), ExternalAccess: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	return eng, db, lk
}
