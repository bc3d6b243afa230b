//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/stretchr/testify/require"
)

// copyTypesSQL returns 5,000 rows of every type the lake writes, with NULLs; "extra" is a column the target lacks
// only when asked for.
const copyTypesSQL = `SELECT 'n' || i AS name, i::INTEGER AS id, i * 1.5 AS amount,
  CASE WHEN i % 3 = 0 THEN NULL ELSE ['a' || i, NULL] END AS tags,
  CASE WHEN i % 4 = 0 THEN NULL ELSE ('00000000-0000-4000-8000-' || lpad(i::VARCHAR, 12, '0'))::UUID END AS u,
  i % 2 = 0 AS flag, (i % 100)::SMALLINT AS small, i::FLOAT / 3 AS ratio, (i / 7)::DECIMAL(10, 2) AS price,
  (i / 7)::DECIMAL(30, 4) AS big, DATE '2024-01-01' + i::INTEGER AS day,
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 1000003) AS at,
  TIMESTAMP '2024-01-01 00:00:00' + to_microseconds(i * 7) AS local_at, TIME '01:02:03' + to_microseconds(i) AS tod,
  ('b' || i)::BLOB AS raw, {'a': i, 'b': 'x' || i} AS pair, MAP {'k' || (i % 5): i} AS kv
FROM range(5000) t(i)`

// copyTarget is the table the rows go to, as the lake hands it over (Iceberg's Arrow types with field ids);
// "missing" is a column the data lacks.
func copyTarget() *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	f := func(name string, typ arrow.DataType, id string) arrow.Field {
		return withID(arrow.Field{Name: name, Type: typ, Nullable: true}, id)
	}
	return arrow.NewSchema([]arrow.Field{
		f("id", arrow.PrimitiveTypes.Int64, "1"),
		f("name", arrow.BinaryTypes.String, "2"),
		f("amount", arrow.PrimitiveTypes.Float64, "3"),
		f("tags", arrow.ListOfField(f("element", arrow.BinaryTypes.String, "20")), "4"),
		f("u", extensions.NewUUIDType(), "5"),
		f("flag", arrow.FixedWidthTypes.Boolean, "6"),
		f("small", arrow.PrimitiveTypes.Int32, "7"),
		f("ratio", arrow.PrimitiveTypes.Float32, "8"),
		f("price", &arrow.Decimal128Type{Precision: 10, Scale: 2}, "9"),
		f("big", &arrow.Decimal128Type{Precision: 30, Scale: 4}, "10"),
		f("day", arrow.FixedWidthTypes.Date32, "11"),
		f("at", ts, "12"),
		f("local_at", &arrow.TimestampType{Unit: arrow.Microsecond}, "13"),
		f("tod", arrow.FixedWidthTypes.Time64us, "14"),
		f("raw", arrow.BinaryTypes.Binary, "15"),
		f("pair", arrow.StructOf(f("a", arrow.PrimitiveTypes.Int64, "21"), f("b", arrow.BinaryTypes.String, "22")), "16"),
		f("kv", arrow.MapOfFields(withID(arrow.Field{Name: "key", Type: arrow.BinaryTypes.String}, "23"), f("value", arrow.PrimitiveTypes.Int64, "24")), "17"),
		f("missing", arrow.PrimitiveTypes.Int64, "18"),
	}, nil)
}

// fileRows returns the Parquet files' schema (as DuckDB reads it, field ids included) and their rows rendered
// as text, sorted.
func fileRows(t *testing.T, files []string) (schema, rows [][]string) {
	t.Helper()
	list := sqlStringList(files)
	schema = duck(t, "SELECT DISTINCT name, type, type_length, repetition_type, converted_type, scale, precision, field_id, logical_type "+
		"FROM parquet_schema("+list+") ORDER BY field_id NULLS FIRST, name")
	rows = duck(t, "SELECT r::VARCHAR AS s FROM read_parquet("+list+") r ORDER BY s")
	return schema, rows
}

// TestQueryDeferredCopiesToParquet checks that a deferred query's result handed to WriteParquet unread is
// written by a COPY in its own (sandboxed) database, into files equal in schema, field ids and rows to those the
// Arrow path writes for the same query, and that the Result then ends as if read.
func TestQueryDeferredCopiesToParquet(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{}) // sandboxed, as the server's engine
	ctx := context.Background()
	target := copyTarget()

	viaArrow, err := e.Query(ctx, copyTypesSQL, nil)
	require.NoError(t, err)
	defer viaArrow.Close()
	arrowFiles, err := e.WriteParquet(ctx, viaArrow, t.TempDir(), target)
	require.NoError(t, err)
	require.False(t, viaArrow.Copied())

	res, err := e.QueryDeferred(ctx, copyTypesSQL, nil)
	require.NoError(t, err)
	defer res.Close()
	require.True(t, res.Schema().Equal(viaArrow.Schema()), "the schema is known before the query runs: %s", res.Schema())
	dir := t.TempDir()
	files, err := e.WriteParquet(ctx, res, dir, target)
	require.NoError(t, err)
	require.True(t, res.Copied())
	require.False(t, res.Next())
	require.NoError(t, res.Err())
	require.EqualValues(t, 5000, res.Rows())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, len(files), "no scratch directory is left behind")

	wantSchema, wantRows := fileRows(t, arrowFiles)
	gotSchema, gotRows := fileRows(t, files)
	require.Equal(t, wantSchema, gotSchema)
	require.Len(t, gotRows, 5000)
	require.Equal(t, wantRows, gotRows)
	require.Contains(t, gotRows[0][0], "'missing': NULL")
}

// unwrapper is a wrapper that promises its rows are exactly the wrapped reader's (as the lake's rebound does).
type unwrapper struct{ array.RecordReader }

func (u unwrapper) Unwrap() array.RecordReader { return u.RecordReader }

// TestQueryDeferredCopyCases checks when a deferred result is copied, when it is read instead, and that it obeys
// WriteParquet's contract either way.
func TestQueryDeferredCopyCases(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	target := copyTarget()
	count := func(files []string) string {
		if len(files) == 0 {
			return "0"
		}
		return duck(t, "SELECT count(*) FROM read_parquet("+sqlStringList(files)+")")[0][0]
	}
	for name, tc := range map[string]struct {
		sql    string
		wrap   bool
		next   int // batches read before WriteParquet
		copied bool
		rows   string
	}{
		"copied through an Unwrap wrapper": {sql: "SELECT i AS id FROM range(10000) t(i)", wrap: true, copied: true, rows: "10000"},
		"a trailing semicolon":             {sql: "SELECT i AS id FROM range(10) t(i);\n", copied: true, rows: "10"},
		"a trailing comment is read":       {sql: "SELECT i AS id FROM range(10) t(i); -- ten", rows: "10"},
		"several statements are read":      {sql: "CREATE TEMP TABLE x AS SELECT 7 AS id; SELECT id FROM x", rows: "1"},
		"partly read, the rest streams":    {sql: "SELECT i AS id FROM range(10000) t(i)", next: 1, rows: "7952"},
		"no rows":                          {sql: "SELECT i AS id FROM range(0) t(i)", copied: true, rows: "0"},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := e.QueryDeferred(ctx, tc.sql, nil)
			require.NoError(t, err)
			defer res.Close()
			for range tc.next {
				require.True(t, res.Next())
				require.EqualValues(t, 2048, res.RecordBatch().NumRows())
			}
			var rdr array.RecordReader = res
			if tc.wrap {
				rdr = unwrapper{res}
			}
			dir := t.TempDir()
			files, err := e.WriteParquet(ctx, rdr, dir, target)
			require.NoError(t, err)
			require.Equal(t, tc.copied, res.Copied())
			require.Equal(t, tc.rows, count(files))
			require.False(t, res.Next())
			require.NoError(t, res.Err())
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, len(files))
		})
	}
	t.Run("a column the table lacks leaves the reader unread", func(t *testing.T) {
		res, err := e.QueryDeferred(ctx, "SELECT 1::BIGINT AS id, 2 AS other", nil)
		require.NoError(t, err)
		defer res.Close()
		dir := t.TempDir()
		_, err = e.WriteParquet(ctx, res, dir, target)
		require.ErrorIs(t, err, ErrInvalid)
		require.ErrorContains(t, err, `"other" is not one of the table's columns`)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, entries)
		require.Equal(t, [][]string{{"1", "2"}}, drain(t, res))
	})
	t.Run("errors in the SQL come from QueryDeferred", func(t *testing.T) {
		_, err := e.QueryDeferred(ctx, "SELECT nope FROM range(3)", nil)
		require.ErrorIs(t, err, ErrInvalid)
	})
	t.Run("a failing copy leaves no file", func(t *testing.T) {
		res, err := e.QueryDeferred(ctx, "SELECT CASE WHEN i < 9000 THEN i ELSE error('boom') END AS id FROM range(10000) t(i)", nil)
		require.NoError(t, err)
		defer res.Close()
		dir := t.TempDir()
		_, err = e.WriteParquet(ctx, res, dir, target)
		require.ErrorContains(t, err, "boom")
		require.False(t, res.Next())
		require.ErrorContains(t, res.Err(), "boom")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
	t.Run("read as a Query when not written", func(t *testing.T) {
		res, err := e.QueryDeferred(ctx, "SELECT i AS id, 'x' || i AS name FROM range(3) t(i) ORDER BY i", nil)
		require.NoError(t, err)
		defer res.Close()
		require.Equal(t, [][]string{{"0", "x0"}, {"1", "x1"}, {"2", "x2"}}, drain(t, res))
		require.EqualValues(t, 3, res.Rows())
		require.False(t, res.Copied())
	})
}

// TestQueryDeferredCopyCancelled checks that cancelling the write's context stops the copy, fails the Result and
// leaves no file, whether it is cancelled before or while the copy runs.
func TestQueryDeferredCopyCancelled(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	target := copyTarget()
	for name, after := range map[string]time.Duration{"before": 0, "while copying": 150 * time.Millisecond} {
		t.Run(name, func(t *testing.T) {
			res, err := e.QueryDeferred(context.Background(), "SELECT i AS id, md5(i::VARCHAR) AS name FROM range(1000000000) t(i)", nil)
			require.NoError(t, err)
			defer res.Close()
			ctx, cancel := context.WithCancel(context.Background())
			if after == 0 {
				cancel()
			} else {
				time.AfterFunc(after, cancel)
			}
			dir := t.TempDir()
			start := time.Now()
			_, err = e.WriteParquet(ctx, res, dir, target)
			require.ErrorIs(t, err, context.Canceled)
			require.Less(t, time.Since(start), 30*time.Second, "the copy stops when the context ends")
			require.False(t, res.Next())
			require.True(t, errors.Is(res.Err(), context.Canceled), "the Result fails too: %v", res.Err())
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries)
			scratch, err := os.ReadDir(res.in.tmpDir)
			require.NoError(t, err)
			for _, s := range scratch {
				require.NotRegexp(t, "^write-", s.Name(), "the copy's scratch directory is removed")
			}
		})
	}
}
