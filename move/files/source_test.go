//go:build duckdb_arrow

package files_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/move/files"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func writeParquet(t *testing.T, path string, ids []int64) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append("é" + string(rune('a'+id)))
	}
	rb := b.NewRecordBatch()
	defer rb.Release()
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rb))
	require.NoError(t, w.Close())
}

func readIDs(t *testing.T, r *files.Reader) []int64 {
	t.Helper()
	var out []int64
	for r.Next() {
		rb := r.RecordBatch()
		col := rb.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			out = append(out, col.Value(i))
		}
	}
	require.NoError(t, r.Err())
	return out
}

func newEngine(t *testing.T) *engine.Engine {
	eng, err := engine.New(engine.Options{Threads: 1, ExternalAccess: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// TestParquetGlob: the files a glob names are read in name order as one stream.
func TestParquetGlob(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeParquet(t, filepath.Join(dir, "part-2.parquet"), []int64{3, 4})
	writeParquet(t, filepath.Join(dir, "part-1.parquet"), []int64{1, 2})
	write(t, dir, "other.csv", "id\n9\n")
	r, err := files.Open(context.Background(), newEngine(t), filepath.Join(dir, "part-*.parquet"), engine.ReadOptions{})
	require.NoError(t, err)
	defer r.Close()
	require.Len(t, r.Files(), 2)
	require.Equal(t, []int64{1, 2, 3, 4}, readIDs(t, r))
}

// TestFolderAndLayouts: a folder gives its data files; a file of another layout fails naming it; bad rows
// share one budget across files; naming nothing is NotFound.
func TestFolderAndLayouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := newEngine(t)
	dir := t.TempDir()
	write(t, dir, "a.csv", "id\n1\n2\n")
	write(t, dir, "b.csv", "id\n3\nx\n")
	write(t, dir, "notes.txt", "ignored")
	r, err := files.Open(ctx, eng, dir, engine.ReadOptions{MaxBadRows: 1})
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 3}, readIDs(t, r))
	require.Len(t, r.BadRows(), 1)
	require.NoError(t, r.Close())

	r, err = files.Open(ctx, eng, dir, engine.ReadOptions{})
	require.NoError(t, err)
	for r.Next() {
	}
	require.Equal(t, errs.BadData, errs.KindOf(r.Err()))
	require.NoError(t, r.Close())

	other := t.TempDir()
	write(t, other, "a.csv", "id,name\n1,x\n")
	write(t, other, "b.csv", "id,label,extra\n2,y,z\n")
	r, err = files.Open(ctx, eng, other, engine.ReadOptions{})
	require.NoError(t, err)
	for r.Next() {
	}
	require.ErrorContains(t, r.Err(), "b.csv has other columns or types than")
	require.NoError(t, r.Close())

	_, err = files.Open(ctx, eng, filepath.Join(dir, "*.parquet"), engine.ReadOptions{})
	require.Equal(t, errs.NotFound, errs.KindOf(err))
	_, err = files.Open(ctx, eng, t.TempDir(), engine.ReadOptions{})
	require.ErrorContains(t, err, "holds no .csv, .json, .jsonl or .parquet file")
}
