package rowfmt_test

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
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

var update = flag.Bool("update", false, "rewrite golden files")

func sample(t *testing.T, batches int) array.RecordReader {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	var recs []arrow.RecordBatch
	at := time.Date(2026, 11, 25, 10, 30, 0, 123000, time.UTC)
	scores := []float64{1.5, math.NaN(), math.Inf(1)}
	names := []string{"ada", "line\nbreak, \"quoted\"", ""}
	for b := 0; b < batches; b++ {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < 3; i++ {
			n := int64(b*3 + i)
			bld.Field(0).(*array.Int64Builder).Append(n)
			if i == 2 {
				bld.Field(1).(*array.StringBuilder).AppendNull()
			} else {
				bld.Field(1).(*array.StringBuilder).Append(names[i])
			}
			bld.Field(2).(*array.Float64Builder).Append(scores[i])
			bld.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(12345 + n))
			bld.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(at.Add(time.Duration(n) * time.Hour).UnixMicro()))
			bld.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(at))
			bld.Field(6).(*array.BooleanBuilder).Append(i%2 == 0)
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	rdr, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)
	return rdr
}

func TestGolden(t *testing.T) {
	for _, f := range []rowfmt.Format{rowfmt.Table, rowfmt.CSV, rowfmt.JSON, rowfmt.JSONL} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			n, err := rowfmt.Write(&buf, sample(t, 2), f, rowfmt.Options{})
			require.NoError(t, err)
			require.Equal(t, int64(6), n)
			p := filepath.Join("testdata", string(f)+".golden")
			if *update {
				require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(p)
			require.NoError(t, err)
			require.Equal(t, string(want), buf.String())
		})
	}
}

func TestEmptyResults(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for f, want := range map[rowfmt.Format]string{rowfmt.JSON: "[]\n", rowfmt.CSV: "a\n", rowfmt.JSONL: "", rowfmt.Table: "a\n-\n(0 rows)\n"} {
		rdr, _ := array.NewRecordReader(schema, nil)
		var buf bytes.Buffer
		_, err := rowfmt.Write(&buf, rdr, f, rowfmt.Options{})
		require.NoError(t, err)
		require.Equal(t, want, buf.String(), f)
	}
}

func TestTableStreamsPastBuffer(t *testing.T) {
	var buf bytes.Buffer
	n, err := rowfmt.Write(&buf, sample(t, 4), rowfmt.Table, rowfmt.Options{MaxTableRows: 2, MaxCellWidth: 5})
	require.NoError(t, err)
	require.Equal(t, int64(12), n)
	require.Contains(t, buf.String(), "(12 rows)")
	require.Contains(t, buf.String(), "…")
}

func TestArrowAndParquetRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	_, err := rowfmt.Write(&buf, sample(t, 3), rowfmt.Arrow, rowfmt.Options{})
	require.NoError(t, err)
	rdr, err := ipc.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	require.Equal(t, int64(9), rows)
	require.Equal(t, 7, rdr.Schema().NumFields())

	buf.Reset()
	_, err = rowfmt.Write(&buf, sample(t, 3), rowfmt.Parquet, rowfmt.Options{})
	require.NoError(t, err)
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Equal(t, int64(9), pf.NumRows())
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	tbl, err := fr.ReadTable(t.Context())
	require.NoError(t, err)
	defer tbl.Release()
	require.Equal(t, "price", tbl.Schema().Field(3).Name)
	require.True(t, arrow.TypeEqual(&arrow.Decimal128Type{Precision: 10, Scale: 2}, tbl.Schema().Field(3).Type))
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]rowfmt.Format{"CSV": rowfmt.CSV, "ndjson": rowfmt.JSONL, "": rowfmt.Table, "ipc": rowfmt.Arrow} {
		got, err := rowfmt.ParseFormat(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := rowfmt.ParseFormat("xml")
	require.ErrorContains(t, err, "use one of table, csv, json, jsonl, arrow, parquet")
}
