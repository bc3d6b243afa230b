package lake

import (
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
)

// floats returns a reader of rows × 3 nullable DOUBLE columns: full-precision random values (which zstd
// cannot shrink) or counters (which it shrinks several times).
func floats(t *testing.T, rows int, random bool, seed uint64) array.RecordReader {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "c", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	r := rand.New(rand.NewPCG(seed, 7))
	cols := make([]arrow.Array, 3)
	for j := range cols {
		b := array.NewFloat64Builder(memory.DefaultAllocator)
		for i := range rows {
			switch {
			case (i+j)%11 == 0:
				b.AppendNull()
			case random:
				b.Append(r.Float64() * 1000)
			default:
				b.Append(float64(i + j))
			}
		}
		cols[j] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(sc, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	require.NoError(t, err)
	return rdr
}

// codecsOf returns the codecs of every column chunk of the table's current data files but those in old.
func codecsOf(t *testing.T, tbl *table.Table, old map[string]bool) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, df := range dataFiles(t, tbl) {
		if old[df.FilePath()] {
			continue
		}
		p, ok := localPath(df.FilePath())
		require.True(t, ok)
		rd, err := file.OpenParquetFile(p, false)
		require.NoError(t, err)
		md := rd.MetaData()
		for g := 0; g < md.NumRowGroups(); g++ {
			for c := 0; c < md.RowGroup(g).NumColumns(); c++ {
				cc, err := md.RowGroup(g).ColumnChunk(c)
				require.NoError(t, err)
				seen[strings.ToLower(cc.Compression().String())] = true
			}
		}
		require.NoError(t, rd.Close())
	}
	var out []string
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// filesOf returns the table's current data files.
func filesOf(t *testing.T, tbl *table.Table) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if tbl.CurrentSnapshot() == nil {
		return out
	}
	for _, df := range dataFiles(t, tbl) {
		out[df.FilePath()] = true
	}
	return out
}

func loadForTest(t *testing.T, l *Lake, id Ident) *table.Table {
	t.Helper()
	c, err := l.existingCatalog(context.Background(), "dev")
	require.NoError(t, err)
	tbl, err := l.loadTable(context.Background(), c, id)
	require.NoError(t, err)
	return tbl
}

// TestCodecAutoFollowsTheData: with the default codec setting (auto), a write of data zstd cannot shrink
// (random doubles) makes the next writes uncompressed, and a write of data it shrinks (counters) makes them
// zstd again; the files of each write have the codec chosen before it, every file stays readable by
// iceberg-go and DuckDB, and the choice is recorded in Iceberg's write.parquet.compression-codec.
func TestCodecAutoFollowsTheData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, eng := duckLake(t, 1)
	id := Ident{Zone: "features", Name: "scores"}

	steps := []struct {
		random     bool
		wantFiles  string // the codec of this write's files
		wantRecord string // the codec recorded for the next write
	}{
		{true, "zstd", "uncompressed"}, // a new table starts with zstd; zstd saves < 10% of random doubles
		{true, "uncompressed", "uncompressed"},
		{false, "uncompressed", "zstd"}, // a sample of the uncompressed counters shrinks well with zstd
		{false, "zstd", "zstd"},
	}
	const rows = 60_000 // 3 × 8 bytes × 60k = 1.4 MB, above the size auto judges by
	old := map[string]bool{}
	for i, s := range steps {
		rdr := floats(t, rows, s.random, uint64(i))
		_, err := l.Write(ctx, "dev", id, rdr, WriteOptions{CreateIfMissing: true})
		rdr.Release()
		require.NoError(t, err, "write %d", i)
		tbl := loadForTest(t, l, id)
		require.Equal(t, []string{s.wantFiles}, codecsOf(t, tbl, old), "files of write %d", i)
		old = filesOf(t, tbl)
		require.Equal(t, s.wantRecord, tbl.Properties()[compressionKey], "codec recorded after write %d", i)
		require.Equal(t, CodecAuto, tbl.Properties()[CodecKey])
	}

	tbl := loadForTest(t, l, id)
	require.Len(t, rowsOf(t, tbl), len(steps)*rows, "iceberg-go reads every file")
	require.Equal(t, []string{"uncompressed", "zstd"}, codecsOf(t, tbl, nil))
	p, err := l.Plan(ctx, "dev", id, SnapshotRef{})
	require.NoError(t, err)
	et := engine.Table{Schema: id.Zone, Name: id.Name, Files: p.Files}
	for _, c := range p.Columns {
		et.Columns = append(et.Columns, engine.Column{FieldID: c.FieldID, Name: c.Name, Type: c.Type, Required: c.Required})
	}
	res, err := eng.Query(ctx, "SELECT count(*) AS n, count(a) AS a, sum(c) FILTER (WHERE c < 1000 AND c = floor(c)) AS s FROM features.scores",
		[]engine.Table{et})
	require.NoError(t, err)
	defer res.Close()
	require.True(t, res.Next())
	rec := res.RecordBatch()
	require.EqualValues(t, len(steps)*rows, rec.Column(0).(*array.Int64).Value(0), "DuckDB reads every file")
	require.Greater(t, rec.Column(1).(*array.Int64).Value(0), int64(len(steps)*rows*9/10))
}

// TestCodecFixedByTheTable: a table whose strata.write.parquet.codec names a codec gets it for every write
// (recorded in write.parquet.compression-codec, which the FileWriter is also told); a value that names no
// codec fails the write with ErrInvalid, naming the property, and commits nothing.
func TestCodecFixedByTheTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, eng := duckLake(t, 1)
	id := Ident{Zone: "raw", Name: "fixed_codec"}
	rdr := floats(t, 1000, false, 1)
	_, err := l.Write(ctx, "dev", id, rdr, WriteOptions{CreateIfMissing: true})
	rdr.Release()
	require.NoError(t, err)

	setProps := func(props iceberg.Properties) {
		tbl := loadForTest(t, l, id)
		txn := tbl.NewTransaction()
		require.NoError(t, txn.SetProperties(props))
		_, err := txn.Commit(ctx)
		require.NoError(t, err)
	}
	setProps(iceberg.Properties{CodecKey: "snappy"})
	for _, fw := range []FileWriter{nil, &codecSpy{FileWriter: eng}} {
		old := filesOf(t, loadForTest(t, l, id))
		rdr = floats(t, 70_000, true, 2)
		_, err := l.Write(ctx, "dev", id, rdr, WriteOptions{Files: fw})
		rdr.Release()
		require.NoError(t, err)
		tbl := loadForTest(t, l, id)
		require.Equal(t, "snappy", tbl.Properties()[compressionKey], "a fixed codec is not changed by the data")
		if spy, ok := fw.(*codecSpy); ok {
			require.Equal(t, []string{"snappy"}, spy.asked, "the FileWriter is told the codec")
		} else {
			require.Equal(t, []string{"snappy"}, codecsOf(t, tbl, old))
		}
	}

	setProps(iceberg.Properties{CodecKey: "brotli-9"})
	before := loadForTest(t, l, id).CurrentSnapshot().SnapshotID
	rdr = floats(t, 10, false, 3)
	_, err = l.Write(ctx, "dev", id, rdr, WriteOptions{})
	rdr.Release()
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, CodecKey)
	require.ErrorContains(t, err, "uncompressed")
	require.Equal(t, before, loadForTest(t, l, id).CurrentSnapshot().SnapshotID)
}

// TestCodecOfTablesMadeElsewhere: a table another engine created with its own codec keeps it: Strata's first
// write records that codec as the table's fixed setting (and writes it) instead of choosing by the data; a
// table created with zstd, or with a codec the setting cannot fix, is left to auto.
func TestCodecOfTablesMadeElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := duckLake(t, 1)
	rdr := floats(t, 10, false, 1)
	_, err := l.Write(ctx, "dev", Ident{Zone: "raw", Name: "seed"}, rdr, WriteOptions{CreateIfMissing: true})
	rdr.Release()
	require.NoError(t, err)
	c, err := l.existingCatalog(ctx, "dev")
	require.NoError(t, err)
	sch := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "a", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 2, Name: "b", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 3, Name: "c", Type: iceberg.PrimitiveTypes.Float64})
	for _, tc := range []struct{ owner, setting, files string }{
		{"snappy", "snappy", "snappy"}, {"uncompressed", "uncompressed", "uncompressed"}, {"zstd", CodecAuto, "zstd"},
	} {
		id := Ident{Zone: "raw", Name: "made_" + tc.owner}
		_, err := c.CreateTable(ctx, table.Identifier{id.Zone, id.Name}, sch,
			icecat.WithLocation(fileURL(l.tableDir("dev", id))), icecat.WithProperties(iceberg.Properties{compressionKey: tc.owner}))
		require.NoError(t, err)
		rdr := floats(t, 70_000, false, 2)
		_, err = l.Write(ctx, "dev", id, rdr, WriteOptions{})
		rdr.Release()
		require.NoError(t, err)
		tbl := loadForTest(t, l, id)
		require.Equal(t, tc.setting, tbl.Properties()[CodecKey], tc.owner)
		require.Equal(t, []string{tc.files}, codecsOf(t, tbl, nil), tc.owner)
	}
	require.Equal(t, CodecAuto, ownerCodec(iceberg.Properties{compressionKey: "gzip"}), "a codec the setting cannot fix")

	s, err := codecOf(iceberg.Properties{compressionKey: "zstd"})
	require.NoError(t, err)
	require.Equal(t, codecSetting{auto: true, codec: "zstd"}, s, "no setting means auto")
	s, err = codecOf(iceberg.Properties{CodecKey: " Uncompressed "})
	require.NoError(t, err)
	require.Equal(t, codecSetting{codec: "uncompressed"}, s)
	require.Equal(t, "zstd", nextCodec("zstd", autoMinBytes-1, 1), "too small to judge keeps the codec")
	require.Equal(t, "uncompressed", nextCodec("zstd", 100<<20, 95<<20))
	require.Equal(t, "zstd", nextCodec("uncompressed", 100<<20, 80<<20))
}

// codecSpy is a FileWriter that notes the codec each write asks for.
type codecSpy struct {
	FileWriter
	asked []string
}

func (s *codecSpy) WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, sc *arrow.Schema) ([]string, error) {
	v, _ := sc.Metadata().GetValue(FileCodecKey)
	s.asked = append(s.asked, v)
	return s.FileWriter.WriteParquet(ctx, rdr, dir, sc)
}
