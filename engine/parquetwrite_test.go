//go:build duckdb_arrow

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func withID(f arrow.Field, id string) arrow.Field {
	f.Metadata = arrow.NewMetadata([]string{fieldIDKey}, []string{id})
	return f
}

// target is a table schema as the lake hands it over: Iceberg's Arrow types with field ids.
var target = arrow.NewSchema([]arrow.Field{
	withID(arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, "1"),
	withID(arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}, "2"),
	withID(arrow.Field{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, "3"),
	withID(arrow.Field{Name: "tags", Type: arrow.ListOfField(withID(arrow.Field{Name: "element",
		Type: arrow.BinaryTypes.String, Nullable: true}, "5")), Nullable: true}, "4"),
}, nil)

// parquetIDs returns "path=id" for every column of the Parquet files, as DuckDB reads them.
func parquetIDs(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	for _, r := range duck(t, "SELECT DISTINCT name, field_id FROM parquet_schema("+sqlStringList(files)+") WHERE field_id IS NOT NULL ORDER BY field_id") {
		out = append(out, r[0]+"="+r[1])
	}
	return out
}

func TestWriteParquetFromArrow(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{}) // sandboxed: the server's engine writes too
	ctx := context.Background()
	dir := t.TempDir()
	// The data lacks "tags" (written as nulls), has id as INTEGER (cast to the table's BIGINT), in another order.
	src, err := e.Query(ctx, "SELECT 'n' || i AS name, i::INTEGER AS id, i * 1.5 AS amount FROM range(5000) t(i)", nil)
	require.NoError(t, err)
	defer src.Close()
	files, err := e.WriteParquet(ctx, src, dir, target)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		require.Equal(t, dir, filepath.Dir(f))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, len(files), "no scratch directory is left behind")
	require.True(t, e.CanWrite(target))
	require.Equal(t, []string{"id=1", "name=2", "amount=3", "tags=4", "element=5"}, parquetIDs(t, files))
	got := duck(t, "SELECT count(*), sum(id), count(tags), max(name), typeof(any_value(id)), typeof(any_value(tags)) FROM read_parquet("+sqlStringList(files)+")")
	require.Equal(t, [][]string{{"5000", "12497500", "0", "n999", "BIGINT", "VARCHAR[]"}}, got)
}

func TestWriteParquetRefuses(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		sql    string
		schema *arrow.Schema
		want   error
		msg    string
	}{
		"a column the table lacks": {"SELECT 1::BIGINT AS id, 2 AS other", target, ErrInvalid, `"other" is not one of the table's columns`},
		"no field id": {"SELECT 1::BIGINT AS id", arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil),
			ErrInvalid, "has no field id"},
		"fixed-length binary": {"SELECT 1::BIGINT AS id", arrow.NewSchema([]arrow.Field{withID(arrow.Field{Name: "id",
			Type: &arrow.FixedSizeBinaryType{ByteWidth: 4}}, "1")}, nil), ErrUnsupported, "cannot be written by DuckDB"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.schema != target {
				require.False(t, e.CanWrite(tc.schema), "CanWrite tells the caller before it reads anything")
			}
			src, err := e.Query(ctx, tc.sql, nil)
			require.NoError(t, err)
			defer src.Close()
			_, err = e.WriteParquet(ctx, src, dir, tc.schema)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries)
		})
	}
}

// TestWriteParquetCopiesFileReaders checks the import path: a FileReader nothing of which was read is copied
// by DuckDB whole, with the same bad-row accounting as reading it, and ends as if read.
func TestWriteParquetCopiesFileReaders(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	p := writeFile(t, t.TempDir(), "bad.csv", badCSV)
	schema := arrow.NewSchema([]arrow.Field{
		withID(arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, "1"),
		withID(arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}, "2"),
		withID(arrow.Field{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, "3"),
	}, nil)

	t.Run("within the limit", func(t *testing.T) {
		dir := t.TempDir()
		fr, err := e.ReadFile(ctx, p, ReadOptions{Columns: badCSVColumns, MaxBadRows: 4})
		require.NoError(t, err)
		defer fr.Close()
		require.True(t, fr.copyable())
		files, err := e.WriteParquet(ctx, fr, dir, schema)
		require.NoError(t, err)
		require.Len(t, fr.BadRows(), 4)
		require.EqualValues(t, 4, fr.Rows())
		require.False(t, fr.Next())
		require.NoError(t, fr.Err())
		got := duck(t, "SELECT id, name, amount FROM read_parquet("+sqlStringList(files)+") ORDER BY id")
		require.Equal(t, [][]string{{"1", "a", "1.5"}, {"2", "b", "2.5"}, {"7", "g\nh", "7.5"}, {"8", "h", "8.5"}}, got)
	})
	t.Run("over the limit", func(t *testing.T) {
		dir := t.TempDir()
		fr, err := e.ReadFile(ctx, p, ReadOptions{Columns: badCSVColumns, MaxBadRows: 3})
		require.NoError(t, err)
		defer fr.Close()
		_, err = e.WriteParquet(ctx, fr, dir, schema)
		var bad *BadInputError
		require.ErrorAs(t, err, &bad)
		require.EqualValues(t, 4, bad.Total)
		require.ErrorIs(t, fr.Err(), ErrInvalid, "the reader reports the failure too")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
	t.Run("after a batch was read it streams", func(t *testing.T) {
		fr, err := e.ReadFile(ctx, p, ReadOptions{Columns: badCSVColumns, MaxBadRows: 4})
		require.NoError(t, err)
		defer fr.Close()
		require.True(t, fr.Next())
		require.False(t, fr.copyable())
	})
}

// TestWriteParquetReportsProgress checks that a file being copied reports rows while the copy runs, for the
// CLI's progress line, and the exact count at its end.
func TestWriteParquetReportsProgress(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("id,name\n")
	const rows = 1_000_000
	for i := range rows {
		b.WriteString("1234567,some text for row ")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte('\n')
	}
	p := writeFile(t, t.TempDir(), "big.csv", b.String())
	fr, err := e.ReadFile(ctx, p, ReadOptions{})
	require.NoError(t, err)
	defer fr.Close()
	var seen atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				if n := fr.Rows(); n > 0 && n < rows {
					seen.Store(n)
				}
			}
		}
	}()
	schema := arrow.NewSchema([]arrow.Field{
		withID(arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, "1"),
		withID(arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}, "2"),
	}, nil)
	_, err = e.WriteParquet(ctx, fr, t.TempDir(), schema)
	close(done)
	require.NoError(t, err)
	require.EqualValues(t, rows, fr.Rows())
	t.Logf("a row count seen during the copy: %d", seen.Load())
}

// TestWriteParquetUUID writes Arrow's canonical uuid extension (what a PostgreSQL uuid column becomes) into an
// Iceberg uuid column: FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type, values intact.
func TestWriteParquetUUID(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	b := extensions.NewUUIDBuilder(memory.DefaultAllocator)
	defer b.Release()
	u := uuid.MustParse("6f1c8c1e-3b0a-4c53-9d1e-1f2a3b4c5d6e")
	b.Append(u)
	b.AppendNull()
	col := b.NewArray()
	defer col.Release()
	f := arrow.Field{Name: "u", Type: extensions.NewUUIDType(), Nullable: true}
	sc := arrow.NewSchema([]arrow.Field{f}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 2)
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	defer rdr.Release()
	files, err := e.WriteParquet(ctx, rdr, t.TempDir(), arrow.NewSchema([]arrow.Field{withID(f, "7")}, nil))
	require.NoError(t, err)
	got := duck(t, "SELECT type, logical_type, field_id FROM parquet_schema("+sqlStringList(files)+") WHERE name = 'u'")
	require.Equal(t, [][]string{{"FIXED_LEN_BYTE_ARRAY", "UUIDType()", "7"}}, got)
	require.Equal(t, [][]string{{u.String()}, {"NULL"}}, duck(t, "SELECT u::VARCHAR FROM read_parquet("+sqlStringList(files)+") ORDER BY u NULLS LAST"))
}
