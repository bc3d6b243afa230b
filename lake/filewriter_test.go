package lake

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// everyType selects rows of every type a lake table holds, with NULLs, nested types and enough rows for
// several row groups.
const everyType = `SELECT i AS id, (i % 1000)::INTEGER AS i32, i::BIGINT * 1000003 AS i64, (i / 7)::FLOAT AS f32,
	CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END::DOUBLE AS f64, i % 2 = 0 AS flag,
	CASE WHEN i % 5 = 0 THEN NULL ELSE 'name_' || (i % 997) || 'é' END AS s, ('b' || i)::BLOB AS bin,
	DATE '2020-01-01' + (i % 3000)::INTEGER AS day, TIME '00:00:00' + INTERVAL (i % 86400) SECOND AS tod,
	TIMESTAMP '2026-01-01 00:00:00.123456' + INTERVAL (i) SECOND AS ts,
	TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL (i * 17) MICROSECOND AS tstz,
	(i * 3 / 100)::DECIMAL(9,2) AS d9, (i * 7 / 1000)::DECIMAL(18,3) AS d18, (i * 1000003)::DECIMAL(38,6) AS d38,
	CASE WHEN i % 4 = 0 THEN NULL ELSE [i, NULL, i + 1] END AS list_i,
	{'a': i, 'b': 'x' || (i % 10), 'c': [i % 3]} AS st, MAP {'k' || (i % 3): i} AS m
	FROM range(140000) t(i)`

// TestDuckDBFilesMatchTheLakesOwn writes the same rows of every type once with the engine's DuckDB writer
// and once with the lake's own, and checks what Iceberg readers rely on: the same table schema, every Parquet
// column (nested ones too) carrying its Iceberg field id, timestamps as microseconds adjusted to UTC only for
// timestamptz, the same rows read back by iceberg-go (by field id), and the same statistics in the manifests
// (counts, null counts, bounds), which engines use to skip files.
func TestDuckDBFilesMatchTheLakesOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, eng := duckLake(t, 2) // sandboxed, as in the server

	tables := map[string]*table.Table{}
	for name, fw := range map[string]FileWriter{"duck": eng, "own": nil} {
		rdr, err := eng.Query(ctx, everyType, nil)
		require.NoError(t, err)
		res, err := l.Write(ctx, "dev", Ident{Zone: "raw", Name: name}, rdr, WriteOptions{CreateIfMissing: true, Files: fw})
		rdr.Close()
		require.NoError(t, err)
		require.EqualValues(t, 140000, res.AddedRows)
		c, err := l.existingCatalog(ctx, "dev")
		require.NoError(t, err)
		tables[name], err = l.loadTable(ctx, c, Ident{Zone: "raw", Name: name})
		require.NoError(t, err)
	}
	duck, own := tables["duck"], tables["own"]
	require.True(t, duck.Schema().Equals(own.Schema()), "schemas differ:\n%s\n%s", duck.Schema(), own.Schema())

	files := dataFiles(t, duck)
	require.NotEmpty(t, files)
	for _, df := range files {
		require.True(t, strings.HasPrefix(df.FilePath(), "file://"), df.FilePath())
		checkParquetColumns(t, duck.Schema(), strings.TrimPrefix(df.FilePath(), "file://"))
	}
	require.Equal(t, rowsOf(t, own), rowsOf(t, duck))
	require.Equal(t, statsOf(t, own.Schema(), dataFiles(t, own)), statsOf(t, duck.Schema(), files))
}

func dataFiles(t *testing.T, tbl *table.Table) []iceberg.DataFile {
	t.Helper()
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	require.NoError(t, err)
	var out []iceberg.DataFile
	for _, task := range tasks {
		out = append(out, task.File)
	}
	return out
}

// checkParquetColumns checks every column of a data file against the table schema: field ids on every node
// of the path, and the physical form of timestamps.
func checkParquetColumns(t *testing.T, sc *iceberg.Schema, path string) {
	t.Helper()
	rd, err := file.OpenParquetFile(path, false)
	require.NoError(t, err)
	defer rd.Close()
	ids, leaves := icebergPathIDs(sc)
	psc := rd.MetaData().Schema
	require.Equal(t, leaves, psc.NumColumns(), "leaf columns")
	for i := 0; i < psc.NumColumns(); i++ {
		col := psc.Column(i)
		// Every node from the top-level field down carries the id Iceberg gave it (list/map wrappers have none).
		for node := col.SchemaNode(); node != nil && node.Parent() != nil; node = node.Parent() {
			want, ok := ids[nodePath(node)]
			if !ok {
				continue
			}
			require.Equal(t, int32(want), node.FieldID(), "field id of %s in %s", nodePath(node), path)
		}
		f, ok := sc.FindFieldByName(strings.Split(col.Path(), ".")[0])
		require.True(t, ok)
		switch f.Type.(type) {
		case iceberg.TimestampType, iceberg.TimestampTzType:
			lt, ok := col.LogicalType().(schema.TimestampLogicalType)
			require.True(t, ok, "%s: logical type %s", col.Path(), col.LogicalType())
			require.Equal(t, schema.TimeUnitMicros, lt.TimeUnit(), col.Path())
			require.Equal(t, f.Type.Equals(iceberg.PrimitiveTypes.TimestampTz), lt.IsAdjustedToUTC(), col.Path())
		}
	}
}

func nodePath(n schema.Node) string {
	var parts []string
	for ; n != nil && n.Parent() != nil; n = n.Parent() {
		parts = append([]string{n.Name()}, parts...)
	}
	return strings.Join(parts, ".")
}

// icebergPathIDs maps the Parquet path of every field of the schema (Iceberg's naming: list.element,
// key_value.key, key_value.value) to its field id, and counts the leaf columns.
func icebergPathIDs(sc *iceberg.Schema) (ids map[string]int, leaves int) {
	ids = map[string]int{}
	var walk func(prefix string, f iceberg.NestedField)
	walk = func(prefix string, f iceberg.NestedField) {
		p := prefix + f.Name
		ids[p] = f.ID
		switch typ := f.Type.(type) {
		case *iceberg.StructType:
			for _, c := range typ.FieldList {
				walk(p+".", c)
			}
		case *iceberg.ListType:
			walk(p+".list.", typ.ElementField())
		case *iceberg.MapType:
			walk(p+".key_value.", typ.KeyField())
			walk(p+".key_value.", typ.ValueField())
		default:
			leaves++
		}
	}
	for _, f := range sc.Fields() {
		walk("", f)
	}
	return ids, leaves
}

// rowsOf reads the table with iceberg-go and returns its rows as sorted text lines.
func rowsOf(t *testing.T, tbl *table.Table) []string {
	t.Helper()
	sc, itr, err := tbl.Scan().ToArrowRecords(context.Background())
	require.NoError(t, err)
	var lines []string
	for rec, err := range itr {
		require.NoError(t, err)
		for r := 0; r < int(rec.NumRows()); r++ {
			cells := make([]string, sc.NumFields())
			for c := range cells {
				cells[c] = cellText(rec.Column(c), r)
			}
			lines = append(lines, strings.Join(cells, "|"))
		}
		rec.Release()
	}
	slices.Sort(lines)
	return lines
}

func cellText(col arrow.Array, r int) string {
	if col.IsNull(r) {
		return "NULL"
	}
	if s, ok := col.(*array.String); ok {
		return s.Value(r)
	}
	return col.ValueStr(r)
}

type fileStats struct {
	Rows                  int64
	Values, Nulls         map[int]int64
	Lower, Upper          map[int]string
	ColumnsWithSizes      []int
	AllFilesHaveSomeBytes bool
}

// statsOf returns the statistics of a table's data files: counts summed, bounds merged over the files (by
// value, decoded with the column's type), as text.
func statsOf(t *testing.T, sc *iceberg.Schema, files []iceberg.DataFile) fileStats {
	t.Helper()
	s := fileStats{Values: map[int]int64{}, Nulls: map[int]int64{}, Lower: map[int]string{}, Upper: map[int]string{},
		AllFilesHaveSomeBytes: true}
	lower, upper := map[int]iceberg.Literal{}, map[int]iceberg.Literal{}
	sizes := map[int]bool{}
	merge := func(into map[int]iceberg.Literal, bounds map[int][]byte, keep int) {
		for id, b := range bounds {
			f, ok := sc.FindFieldByID(id)
			require.True(t, ok)
			lit, err := iceberg.LiteralFromBytes(f.Type, b)
			require.NoError(t, err)
			if cur, ok := into[id]; !ok || compareLiterals(lit, cur) == keep {
				into[id] = lit
			}
		}
	}
	for _, f := range files {
		s.Rows += f.Count()
		s.AllFilesHaveSomeBytes = s.AllFilesHaveSomeBytes && f.FileSizeBytes() > 0
		for id, n := range f.ValueCounts() {
			s.Values[id] += n
		}
		for id, n := range f.NullValueCounts() {
			s.Nulls[id] += n
		}
		for id := range f.ColumnSizes() {
			sizes[id] = true
		}
		merge(lower, f.LowerBoundValues(), -1)
		merge(upper, f.UpperBoundValues(), 1)
	}
	for id, l := range lower {
		// For a float column whose least value is 0, arrow-go writes -0 as the bound (as the Parquet spec
		// suggests, in case the data hold -0), DuckDB 0: the data here hold +0 only, so both are right.
		if s.Lower[id] = l.String(); s.Lower[id] == "-0" {
			s.Lower[id] = "0"
		}
	}
	for id, u := range upper {
		s.Upper[id] = u.String()
	}
	for id := range sizes {
		s.ColumnsWithSizes = append(s.ColumnsWithSizes, id)
	}
	slices.Sort(s.ColumnsWithSizes)
	return s
}

func compareLiterals(a, b iceberg.Literal) int {
	switch a.(type) {
	case iceberg.BoolLiteral:
		return compareTyped[bool](a, b)
	case iceberg.Int32Literal:
		return compareTyped[int32](a, b)
	case iceberg.Int64Literal:
		return compareTyped[int64](a, b)
	case iceberg.Float32Literal:
		return compareTyped[float32](a, b)
	case iceberg.Float64Literal:
		return compareTyped[float64](a, b)
	case iceberg.DateLiteral:
		return compareTyped[iceberg.Date](a, b)
	case iceberg.TimeLiteral:
		return compareTyped[iceberg.Time](a, b)
	case iceberg.TimestampLiteral:
		return compareTyped[iceberg.Timestamp](a, b)
	case iceberg.StringLiteral:
		return compareTyped[string](a, b)
	case iceberg.BinaryLiteral:
		return compareTyped[[]byte](a, b)
	case iceberg.DecimalLiteral:
		return compareTyped[iceberg.Decimal](a, b)
	}
	panic(fmt.Sprintf("no comparison for %T", a))
}

func compareTyped[T iceberg.LiteralType](a, b iceberg.Literal) int {
	x, y := a.(iceberg.TypedLiteral[T]), b.(iceberg.TypedLiteral[T])
	return x.Comparator()(x.Value(), y.Value())
}

// failingReader yields batches of ids and then fails, or cancels a context, after `after` batches.
type failingReader struct {
	array.RecordReader
	n, after int
	cancel   context.CancelFunc // if set, called instead of failing
	err      error
}

func (r *failingReader) Next() bool {
	if r.n == r.after {
		if r.cancel != nil {
			r.cancel()
		} else {
			r.err = fmt.Errorf("the source connection was lost")
		}
	}
	r.n++
	if r.err != nil {
		return false
	}
	return r.RecordReader.Next()
}

func (r *failingReader) Err() error { return r.err }

func idBatches(t *testing.T, batches, rows int) array.RecordReader {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	var recs []arrow.RecordBatch
	for b := 0; b < batches; b++ {
		bld := array.NewInt64Builder(memory.DefaultAllocator)
		for i := 0; i < rows; i++ {
			bld.Append(int64(b*rows + i))
		}
		col := bld.NewArray()
		recs = append(recs, array.NewRecordBatch(sc, []arrow.Array{col}, int64(rows)))
		col.Release()
	}
	rdr, err := array.NewRecordReader(sc, recs)
	require.NoError(t, err)
	return rdr
}

// TestDuckDBWriteFailureLeavesNothing checks the write guarantees with the engine writing the files: an input
// that fails after some batches, or a context cancelled mid-write, commits nothing and leaves no data file
// and no scratch directory behind.
func TestDuckDBWriteFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, eng := duckLake(t, 2)
	id := Ident{Zone: "raw", Name: "t"}
	first, err := l.Write(ctx, "dev", id, idBatches(t, 2, 1000), WriteOptions{CreateIfMissing: true, Files: eng})
	require.NoError(t, err)
	dataDir := l.tableDir("dev", id) + "/data"
	before, err := os.ReadDir(dataDir)
	require.NoError(t, err)
	require.Len(t, before, 1)

	for _, name := range []string{"input fails", "cancelled"} {
		wctx, cancel := context.WithCancel(ctx)
		rdr := &failingReader{RecordReader: idBatches(t, 50, 5000), after: 20}
		if name == "cancelled" {
			rdr.cancel = cancel
		}
		_, err := l.Write(wctx, "dev", id, rdr, WriteOptions{Files: eng})
		cancel()
		require.Error(t, err, name)
		if name == "input fails" {
			require.ErrorContains(t, err, "the source connection was lost")
		}
		after, err := os.ReadDir(dataDir)
		require.NoError(t, err)
		require.Equal(t, names(before), names(after), name)
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Equal(t, first.SnapshotID, info.CurrentSnapshotID, name)
	}
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestFileWriterDeclinesFixed checks the fallback: a table with a fixed[n] column, which DuckDB cannot write
// exactly, is written by the lake's own writer even when a FileWriter is given.
func TestFileWriterDeclinesFixed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, eng := duckLake(t, 1)

	sc := arrow.NewSchema([]arrow.Field{{Name: "k", Type: &arrow.FixedSizeBinaryType{ByteWidth: 4}, Nullable: true}}, nil)
	b := array.NewFixedSizeBinaryBuilder(memory.DefaultAllocator, &arrow.FixedSizeBinaryType{ByteWidth: 4})
	b.Append([]byte("abcd"))
	b.Append([]byte("wxyz"))
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 2)
	col.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	require.NoError(t, err)
	res, err := l.Write(ctx, "dev", Ident{Zone: "raw", Name: "fixed"}, rdr, WriteOptions{CreateIfMissing: true, Files: eng})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.AddedRows)
	info, err := l.Describe(ctx, "dev", Ident{Zone: "raw", Name: "fixed"})
	require.NoError(t, err)
	require.Equal(t, "fixed[4]", info.Columns[0].Type)
}

// duckLake opens a lake with environment dev on SQLite and an engine (sandboxed, as in the server) to write its
// files, both closed when the test ends.
func duckLake(t *testing.T, threads int) (*Lake, *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.New(engine.Options{Threads: threads, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	l, err := Open(ctx, db, Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, l.EnsureEnv(ctx, "dev"))
	return l, eng
}
