package rowfmt

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// text renders one value for the text table and CSV. ok is false for NULL.
func text(col arrow.Array, i int) (string, bool) {
	if col.IsNull(i) {
		return "", false
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	case *array.StringView:
		return a.Value(i), true
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), true
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10), true
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10), true
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10), true
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10), true
	case *array.Float32:
		return formatFloat(float64(a.Value(i)), 32), true
	case *array.Float64:
		return formatFloat(a.Value(i), 64), true
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), true
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), true
	case *array.LargeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), true
	case *array.FixedSizeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), true
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), true
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly), true
	case *array.Timestamp:
		return formatTimestamp(a, i), true
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale), true
	case *array.Decimal256:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale), true
	}
	return col.ValueStr(i), true
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

func formatTimestamp(a *array.Timestamp, i int) string {
	tt := a.DataType().(*arrow.TimestampType)
	t := a.Value(i).ToTime(tt.Unit)
	if tt.TimeZone == "" {
		return t.UTC().Format("2006-01-02T15:04:05.999999999")
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// appendJSON appends one value as JSON. Numbers stay numbers (NaN and ±Inf become strings), decimals keep their
// exact digits, times are RFC 3339 strings, nested values use Arrow's JSON form.
func appendJSON(buf []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(buf, "null"...)
	}
	switch a := col.(type) {
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32,
		*array.Uint64, *array.Boolean, *array.Decimal128, *array.Decimal256:
		s, _ := text(col, i)
		return append(buf, s...)
	case *array.Float32:
		return appendFloat(buf, float64(a.Value(i)), 32)
	case *array.Float64:
		return appendFloat(buf, a.Value(i), 64)
	case *array.String, *array.LargeString, *array.StringView, *array.Binary, *array.LargeBinary,
		*array.FixedSizeBinary, *array.Date32, *array.Date64, *array.Timestamp:
		s, _ := text(col, i)
		return appendString(buf, s)
	}
	b, err := json.Marshal(col.GetOneForMarshal(i))
	if err != nil {
		return appendString(buf, col.ValueStr(i))
	}
	return append(buf, b...)
}

func appendFloat(buf []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendString(buf, formatFloat(f, bits))
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

func appendString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(buf, b...)
}
