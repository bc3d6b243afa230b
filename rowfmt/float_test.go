package rowfmt_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/rowfmt"
)

// Floats print as plain digits where people read them, with exponents only for very large or small values,
// always the shortest form that round-trips.
func TestFloatText(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]float64{1499732.65, 0.1, -2, 0, 1e20, 1e-7, 123456789012345.5, math.Inf(-1)}, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = rowfmt.Write(&buf, rdr, rowfmt.CSV, rowfmt.Options{})
	require.NoError(t, err)
	require.Equal(t, "x\n1499732.65\n0.1\n-2\n0\n1e+20\n1e-07\n123456789012345.5\n-Infinity\n", buf.String())
}

// DuckDB's infinite dates and timestamps (the type's largest value and its negation) print as infinity and
// -infinity in CSV and JSON, not as dates in the years 5881580 and 294247.
func TestInfiniteDatesAndTimestamps(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}}, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(
		`[{"d": 2147483647, "ts": 9223372036854775807}, {"d": -2147483647, "ts": -9223372036854775807}, {"d": 0, "ts": 0}]`))
	require.NoError(t, err)
	defer rec.Release()
	for format, want := range map[rowfmt.Format]string{
		rowfmt.CSV: "d,ts\ninfinity,infinity\n-infinity,-infinity\n1970-01-01,1970-01-01T00:00:00Z\n",
		rowfmt.JSON: "[{\"d\":\"infinity\",\"ts\":\"infinity\"},\n{\"d\":\"-infinity\",\"ts\":\"-infinity\"},\n" +
			"{\"d\":\"1970-01-01\",\"ts\":\"1970-01-01T00:00:00Z\"}]",
	} {
		rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		require.NoError(t, err)
		var buf bytes.Buffer
		_, err = rowfmt.Write(&buf, rdr, format, rowfmt.Options{})
		require.NoError(t, err)
		require.Equal(t, want, strings.TrimSpace(buf.String())+map[bool]string{true: "\n"}[format == rowfmt.CSV], format)
	}
}
