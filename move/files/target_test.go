//go:build duckdb_arrow

package files

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/rowfmt"
)

// batches builds n rows (id, day, name) in batches of size; day cycles over three values and NULL.
func batches(n, size int) array.RecordReader {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "day", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	var out []arrow.RecordBatch
	for start := 0; start < n; start += size {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := start; i < min(n, start+size); i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			if i%4 == 3 {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("2026-11-0%d", i%4+1))
			}
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("name %d/ü", i))
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	r, _ := array.NewRecordReader(sc, out)
	return r
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	got, err := Dir(dir).List(context.Background())
	require.NoError(t, err)
	sort.Strings(got)
	return got
}

// TestWriteTarget: files split by size, hive partitions (NULL as the default partition, partition columns left
// out of the files), every row once; a failing input leaves nothing; overwrite removes older data files.
func TestWriteTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng, err := engine.New(engine.Options{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	for _, tc := range []struct {
		f  rowfmt.Format
		pw ParquetWriter
	}{{rowfmt.CSV, nil}, {rowfmt.JSONL, nil}, {rowfmt.Parquet, nil}, {rowfmt.Parquet, eng}} {
		f, name := tc.f, string(tc.f)
		if tc.pw != nil {
			name += "-duckdb"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			n := 20000
			if f == rowfmt.Parquet { // a Parquet file grows a row group (122,880 rows) at a time
				n = 400000
			}
			res, err := WriteTarget(ctx, Dir(dir), batches(n, 1000), TargetOptions{Format: f, MaxFileSize: 40 << 10, Prefix: "r1", Parquet: tc.pw})
			require.NoError(t, err)
			require.Equal(t, int64(n), res.Rows)
			require.Greater(t, len(res.Files), 3, "split by size")
			require.Equal(t, res.Files, list(t, dir))
			var total int64
			for _, name := range res.Files {
				fi, err := os.Stat(filepath.Join(dir, name))
				require.NoError(t, err)
				total += fi.Size()
				require.True(t, strings.HasPrefix(name, "part-r1-"), name)
				if f == rowfmt.Parquet {
					pf, err := file.OpenParquetFile(filepath.Join(dir, name), false)
					require.NoError(t, err)
					require.Equal(t, tc.pw != nil, strings.Contains(pf.MetaData().GetCreatedBy(), "DuckDB"), "written by DuckDB when given the engine")
					require.NoError(t, pf.Close())
				}
			}
			require.Equal(t, total, res.Bytes)

			pdir := t.TempDir()
			_, err = WriteTarget(ctx, Dir(pdir), batches(1000, 100), TargetOptions{Format: f, PartitionBy: []string{"day"}, Prefix: "r2", Parquet: tc.pw})
			require.NoError(t, err)
			require.Equal(t, []string{"day=2026-11-01/part-r2-00000." + extension(f), "day=2026-11-02/part-r2-00001." + extension(f),
				"day=2026-11-03/part-r2-00002." + extension(f), "day=__HIVE_DEFAULT_PARTITION__/part-r2-00003." + extension(f)}, list(t, pdir))
			if f != rowfmt.Parquet {
				body, err := os.ReadFile(filepath.Join(pdir, "day=2026-11-02", "part-r2-00001."+extension(f)))
				require.NoError(t, err)
				require.NotContains(t, string(body), "2026-11", "the partition column is in the folder name, not the file")
				require.Contains(t, string(body), "name 1/ü")
				require.Equal(t, 250, strings.Count(string(body), "name "))
			} else {
				rows, sum, cols := readParquet(t, eng, filepath.Join(dir, "*.parquet"))
				require.Equal(t, []int64{int64(n), int64(n) * int64(n-1) / 2}, []int64{rows, sum}, "every row once")
				require.Equal(t, "id,day,name", cols)
				rows, sum, cols = readParquet(t, eng, filepath.Join(pdir, "day=2026-11-02", "*.parquet"))
				require.Equal(t, []int64{250, 250*1 + 4*(250*249/2)}, []int64{rows, sum})
				require.Equal(t, "id,name,day", cols, "the partition column is not in the file: it comes last, from the folder name")
			}

			// overwrite: the older files go once the new ones are there.
			_, err = WriteTarget(ctx, Dir(pdir), batches(10, 10), TargetOptions{Format: f, Prefix: "r3", Overwrite: true, Parquet: tc.pw})
			require.NoError(t, err)
			require.Equal(t, []string{"part-r3-00000." + extension(f)}, list(t, pdir))
		})
	}

	// A failing input: every file of the write is removed, nothing unfinished stays.
	dir := t.TempDir()
	_, err = WriteTarget(ctx, Dir(dir), &failAfter{RecordReader: batches(20000, 1000), n: 15}, TargetOptions{Format: rowfmt.CSV, MaxFileSize: 40 << 10, Prefix: "x"})
	require.ErrorContains(t, err, "source died")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)

	_, err = WriteTarget(ctx, Dir(dir), batches(1, 1), TargetOptions{Format: rowfmt.CSV, PartitionBy: []string{"nope"}})
	require.ErrorContains(t, err, `partition_by column "nope"`)
}

type failAfter struct {
	array.RecordReader
	n int
}

func (r *failAfter) Next() bool {
	if r.n == 0 {
		return false
	}
	r.n--
	return r.RecordReader.Next()
}

func (r *failAfter) Err() error {
	if r.n == 0 {
		return errors.New("source died")
	}
	return nil
}

// readParquet reads the Parquet files path names: their rows, the sum of their ids and their columns.
func readParquet(t *testing.T, eng *engine.Engine, path string) (rows, sum int64, cols string) {
	t.Helper()
	r, err := Open(context.Background(), eng, path, engine.ReadOptions{})
	require.NoError(t, err)
	defer r.Close()
	var names []string
	for _, f := range r.Schema().Fields() {
		names = append(names, f.Name)
	}
	for r.Next() {
		rb := r.RecordBatch()
		ids := rb.Column(0).(*array.Int64)
		for i := 0; i < ids.Len(); i++ {
			sum += ids.Value(i)
		}
		rows += rb.NumRows()
	}
	require.NoError(t, r.Err())
	return rows, sum, strings.Join(names, ",")
}

// TestWriteTargetManyPartitionsDuckDB: more partitions than files open at once, with DuckDB writing them: the
// least recently used file is finished to open another, every row lands once in its partition's files.
func TestWriteTargetManyPartitionsDuckDB(t *testing.T) {
	t.Parallel()
	eng, err := engine.New(engine.Options{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "p", Type: arrow.PrimitiveTypes.Int32}}, nil)
	var recs []arrow.RecordBatch
	n := 0
	for b := 0; b < 2; b++ {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := 0; i < maxOpenFiles+3; i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(n))
			bld.Field(1).(*array.Int32Builder).Append(int32(i))
			n++
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	rdr, err := array.NewRecordReader(sc, recs)
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := WriteTarget(context.Background(), Dir(dir), rdr, TargetOptions{Format: rowfmt.Parquet, PartitionBy: []string{"p"}, Prefix: "m", Parquet: eng})
	require.NoError(t, err)
	require.Equal(t, int64(n), res.Rows)
	require.Len(t, res.Files, 2*(maxOpenFiles+3), "each batch visits every partition, so each visit finishes a file")
	rows, sum, _ := readParquet(t, eng, filepath.Join(dir, "*", "*.parquet"))
	require.Equal(t, []int64{int64(n), int64(n) * int64(n-1) / 2}, []int64{rows, sum})
}
