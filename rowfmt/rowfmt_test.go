package rowfmt_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/rowfmt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var sampleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 20, Scale: 2}, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "local", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "attrs", Type: arrow.StructOf(
		arrow.Field{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), Nullable: true},
	{Name: "props", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64), Nullable: true},
	{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "big", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
}, nil)

// sample returns batches of three rows each: a plain row, one with awkward values, one mostly NULL.
func sample(t testing.TB, batches int) array.RecordReader {
	t.Helper()
	recs := make([]arrow.RecordBatch, batches)
	for b := range recs {
		recs[b] = sampleBatch(b)
	}
	rdr, err := array.NewRecordReader(sampleSchema, recs)
	require.NoError(t, err)
	for _, r := range recs {
		r.Release()
	}
	return rdr
}

func sampleBatch(b int) arrow.RecordBatch { return sampleRows(b, 3) }

// sampleRows returns batch b of rows rows; row r follows the pattern of row r%3.
func sampleRows(b, rows int) arrow.RecordBatch {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, sampleSchema)
	defer bld.Release()
	at := time.Date(2026, 11, 25, 10, 30, 0, 123000, time.UTC)
	for r := range rows {
		i := r % 3
		n := int64(b*rows + r)
		bld.Field(0).(*array.Int64Builder).Append(n)
		if i == 2 {
			for f := 1; f < len(bld.Fields()); f++ {
				bld.Field(f).AppendNull()
			}
			continue
		}
		names := []string{"ada", "line\nbreak, \"quoted\" 東京"}
		bld.Field(1).(*array.StringBuilder).Append(names[i])
		bld.Field(2).(*array.Float64Builder).Append([][]float64{{1.5, math.NaN()}, {math.Inf(-1), math.Inf(1)}}[b%2][i])
		price, _ := decimal128.FromString([]string{"123.45", "-12345678901234567.89"}[i], 20, 2)
		bld.Field(3).(*array.Decimal128Builder).Append(price)
		bld.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(at.Add(time.Duration(n) * time.Hour).UnixMicro()))
		bld.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
		bld.Field(6).(*array.Date32Builder).Append(arrow.Date32FromTime(at))
		bld.Field(7).(*array.BooleanBuilder).Append(i == 0)
		tags := bld.Field(8).(*array.ListBuilder)
		tags.Append(true)
		for _, s := range []string{"a", "b\"c"}[:i+1] {
			tags.ValueBuilder().(*array.StringBuilder).Append(s)
		}
		attrs := bld.Field(9).(*array.StructBuilder)
		attrs.Append(true)
		attrs.FieldBuilder(0).(*array.StringBuilder).Append("key")
		attrs.FieldBuilder(1).(*array.Int32Builder).Append(int32(n))
		props := bld.Field(10).(*array.MapBuilder)
		props.Append(true)
		props.KeyBuilder().(*array.StringBuilder).Append("w")
		props.ItemBuilder().(*array.Float64Builder).Append(0.25)
		bld.Field(11).(*array.BinaryBuilder).Append([]byte{0xde, 0xad, byte(n)})
		bld.Field(12).(*array.Uint64Builder).Append(math.MaxUint64 - uint64(n))
	}
	return bld.NewRecordBatch()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./rowfmt -update to create it")
	require.Equal(t, string(want), string(got))
}

func TestGolden(t *testing.T) {
	for _, f := range []rowfmt.Format{rowfmt.Table, rowfmt.CSV, rowfmt.JSON, rowfmt.JSONL} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			n, err := rowfmt.Write(&buf, sample(t, 2), f, rowfmt.Options{})
			require.NoError(t, err)
			require.Equal(t, int64(6), n)
			golden(t, string(f)+".golden", buf.Bytes())
		})
	}
	t.Run("table past the buffer", func(t *testing.T) {
		// Widths come from the first 2 rows; the later, longer name is cut; cells are at most 12 wide.
		var buf bytes.Buffer
		n, err := rowfmt.Write(&buf, sample(t, 2), rowfmt.Table, rowfmt.Options{MaxTableRows: 2, MaxCellWidth: 12})
		require.NoError(t, err)
		require.Equal(t, int64(6), n)
		golden(t, "table-narrow.golden", buf.Bytes())
	})
}

func TestJSONAndCSVParseBack(t *testing.T) {
	var buf bytes.Buffer
	_, err := rowfmt.Write(&buf, sample(t, 1), rowfmt.JSON, rowfmt.Options{})
	require.NoError(t, err)
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	var rows []map[string]any
	require.NoError(t, dec.Decode(&rows))
	require.Len(t, rows, 3)
	require.Equal(t, json.Number("-12345678901234567.89"), rows[1]["price"], "decimals keep every digit")
	require.Equal(t, "NaN", rows[1]["score"])
	require.Nil(t, rows[2]["name"])
	require.Equal(t, "2026-11-25T11:30:00.000123Z", rows[1]["at"])
	require.Equal(t, "2026-11-25T10:30:00.000123", rows[1]["local"])
	require.Equal(t, map[string]any{"w": json.Number("0.25")}, rows[0]["props"])
	require.Equal(t, json.Number("18446744073709551615"), rows[0]["big"])

	buf.Reset()
	_, err = rowfmt.Write(&buf, sample(t, 1), rowfmt.CSV, rowfmt.Options{})
	require.NoError(t, err)
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	require.Equal(t, "line\nbreak, \"quoted\" 東京", recs[2][1])
	require.Equal(t, []string{"2", "", "", "", "", "", "", "", "", "", "", "", ""}, recs[3], "NULL is empty")
}

func TestEmptyResults(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for f, want := range map[rowfmt.Format]string{
		rowfmt.JSON: "[]\n", rowfmt.CSV: "a\n", rowfmt.JSONL: "", rowfmt.Table: " a\n---\n(0 rows)\n",
	} {
		rdr, err := array.NewRecordReader(schema, nil)
		require.NoError(t, err)
		var buf bytes.Buffer
		n, err := rowfmt.Write(&buf, rdr, f, rowfmt.Options{})
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, want, buf.String(), f)
	}
}

func TestArrowRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	n, err := rowfmt.Write(&buf, sample(t, 3), rowfmt.Arrow, rowfmt.Options{})
	require.NoError(t, err)
	require.Equal(t, int64(9), n)
	rdr, err := ipc.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	defer rdr.Release()
	require.True(t, rdr.Schema().Equal(sampleSchema))
	b := 0
	for rdr.Next() {
		want := sampleBatch(b)
		require.True(t, array.RecordApproxEqual(want, rdr.RecordBatch(), array.WithNaNsEqual(true)), "batch %d", b)
		want.Release()
		b++
	}
	require.NoError(t, rdr.Err())
	require.Equal(t, 3, b)
}

func TestParquetRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	n, err := rowfmt.Write(&buf, sample(t, 3), rowfmt.Parquet, rowfmt.Options{})
	require.NoError(t, err)
	require.Equal(t, int64(9), n)
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Equal(t, int64(9), pf.NumRows())
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	require.NoError(t, err)
	require.Equal(t, "ZSTD", cc.Compression().String())
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 3}, memory.DefaultAllocator)
	require.NoError(t, err)
	rr, err := fr.GetRecordReader(t.Context(), nil, nil)
	require.NoError(t, err)
	defer rr.Release()
	// Parquet adds field-id metadata and names list elements "element"; names, type kinds and every value
	// (compared through the JSON writer) come back.
	for i, f := range rr.Schema().Fields() {
		want := sampleSchema.Field(i)
		require.Equal(t, want.Name, f.Name)
		require.Equal(t, want.Type.ID(), f.Type.ID(), f.Name)
	}
	var got, want bytes.Buffer
	_, err = rowfmt.Write(&got, rr, rowfmt.JSONL, rowfmt.Options{})
	require.NoError(t, err)
	_, err = rowfmt.Write(&want, sample(t, 3), rowfmt.JSONL, rowfmt.Options{})
	require.NoError(t, err)
	require.Equal(t, want.String(), got.String())
}

// failing yields its batches and then an error.
type failing struct {
	array.RecordReader
	err error
}

func (f *failing) Err() error {
	if err := f.RecordReader.Err(); err != nil {
		return err
	}
	return f.err
}

func TestStreamErrorLeavesOutputUnfinished(t *testing.T) {
	boom := errors.New("boom")
	for _, f := range []rowfmt.Format{rowfmt.Table, rowfmt.CSV, rowfmt.JSON, rowfmt.JSONL, rowfmt.Arrow, rowfmt.Parquet} {
		var buf bytes.Buffer
		n, err := rowfmt.Write(&buf, &failing{RecordReader: sample(t, 2), err: boom}, f, rowfmt.Options{})
		require.ErrorIs(t, err, boom, f)
		require.Equal(t, int64(6), n)
		switch f {
		case rowfmt.JSON:
			require.False(t, json.Valid(buf.Bytes()), "a cut-short JSON array must not parse")
		case rowfmt.Table:
			require.NotContains(t, buf.String(), "rows)")
		}
	}
}

// scribbling overwrites each batch's buffers once the next batch is asked for, as a reader over C memory
// (DuckDB's) frees them: a writer must not keep strings that alias them.
type scribbling struct {
	array.RecordReader
	prev arrow.RecordBatch
}

func (s *scribbling) Next() bool {
	if s.prev != nil {
		for _, col := range s.prev.Columns() {
			scribble(col.Data())
		}
		s.prev.Release()
		s.prev = nil
	}
	if !s.RecordReader.Next() {
		return false
	}
	s.prev = s.RecordReader.RecordBatch()
	s.prev.Retain()
	return true
}

func scribble(d arrow.ArrayData) {
	for _, b := range d.Buffers() {
		if b != nil {
			for i := range b.Bytes() {
				b.Bytes()[i] = 'X'
			}
		}
	}
	for _, c := range d.Children() {
		scribble(c)
	}
}

func TestWritersCopyWhatTheyKeep(t *testing.T) {
	for _, f := range []rowfmt.Format{rowfmt.Table, rowfmt.CSV, rowfmt.JSON} {
		var want, got bytes.Buffer
		_, err := rowfmt.Write(&want, sample(t, 3), f, rowfmt.Options{})
		require.NoError(t, err)
		_, err = rowfmt.Write(&got, &scribbling{RecordReader: sample(t, 3)}, f, rowfmt.Options{})
		require.NoError(t, err)
		require.Equal(t, want.String(), got.String(), f)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]rowfmt.Format{
		"CSV": rowfmt.CSV, " json ": rowfmt.JSON, "ndjson": rowfmt.JSONL, "": rowfmt.Table, "ipc": rowfmt.Arrow, "parquet": rowfmt.Parquet,
	} {
		got, err := rowfmt.ParseFormat(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := rowfmt.ParseFormat("xml")
	require.ErrorIs(t, err, rowfmt.ErrInvalid)
	require.EqualError(t, err, `unknown format "xml": use one of table, csv, json, jsonl, arrow, parquet: invalid`)
	_, err = rowfmt.Write(&bytes.Buffer{}, sample(t, 1), rowfmt.Format("xml"), rowfmt.Options{})
	require.ErrorIs(t, err, rowfmt.ErrInvalid)
	require.True(t, rowfmt.Parquet.Binary())
	require.False(t, rowfmt.CSV.Binary())
}

func TestJSONStringEscaping(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "s\"k", Type: arrow.BinaryTypes.String}}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	in := []string{"plain", "quote\" back\\slash", "ctl\x00\x1f\t\r\n", "bad\xffutf8", "sep\u2028x", "ünï 東京 🙂"}
	for _, s := range in {
		bld.Field(0).(*array.StringBuilder).Append(s)
	}
	rec := bld.NewRecordBatch()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = rowfmt.Write(&buf, rdr, rowfmt.JSONL, rowfmt.Options{})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, len(in))
	for i, line := range lines {
		var got map[string]string
		require.NoError(t, json.Unmarshal([]byte(line), &got), line)
		want := strings.ToValidUTF8(in[i], "\ufffd")
		require.Equal(t, want, got[`s"k`])
	}
}
