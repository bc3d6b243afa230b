package rowfmt

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/internal/infinity"
)

// text renders one value for the text table and CSV; ok is false for NULL.
func text(col arrow.Array, i int) (s string, ok bool) {
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
	case *array.Dictionary:
		return text(a.Dictionary(), a.GetValueIndex(i))
	case array.ExtensionArray:
		return text(a.Storage(), i)
	case array.ListLike, *array.Struct:
		return string(appendJSON(nil, col, i)), true
	}
	return string(appendScalar(nil, col, i)), true
}

// appendScalar appends the text of a non-null value that is neither a string nor nested.
func appendScalar(buf []byte, col arrow.Array, i int) []byte {
	switch a := col.(type) {
	case *array.Int8:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(i), 10)
	case *array.Uint8:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint32:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(buf, a.Value(i), 10)
	case *array.Float16:
		return appendFloat(buf, float64(a.Value(i).Float32()), 32)
	case *array.Float32:
		return appendFloat(buf, float64(a.Value(i)), 32)
	case *array.Float64:
		return appendFloat(buf, a.Value(i), 64)
	case *array.Boolean:
		return strconv.AppendBool(buf, a.Value(i))
	case *array.Decimal128:
		return append(buf, a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)...)
	case *array.Decimal256:
		return append(buf, a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale)...)
	case *array.Binary:
		return base64.StdEncoding.AppendEncode(buf, a.Value(i))
	case *array.LargeBinary:
		return base64.StdEncoding.AppendEncode(buf, a.Value(i))
	case *array.BinaryView:
		return base64.StdEncoding.AppendEncode(buf, a.Value(i))
	case *array.FixedSizeBinary:
		return base64.StdEncoding.AppendEncode(buf, a.Value(i))
	case *array.Date32:
		if sign := infinity.Date(int32(a.Value(i))); sign != 0 {
			return append(buf, infinity.Text(sign)...)
		}
		return a.Value(i).ToTime().AppendFormat(buf, time.DateOnly)
	case *array.Date64:
		return a.Value(i).ToTime().AppendFormat(buf, time.DateOnly)
	case *array.Time32:
		return appendTimeOfDay(buf, a.Value(i).ToTime(a.DataType().(*arrow.Time32Type).Unit))
	case *array.Time64:
		return appendTimeOfDay(buf, a.Value(i).ToTime(a.DataType().(*arrow.Time64Type).Unit))
	case *array.Timestamp:
		return appendTimestamp(buf, a, i)
	case *array.Duration:
		unit := a.DataType().(*arrow.DurationType).Unit
		return append(buf, time.Duration(int64(a.Value(i))*int64(unit.Multiplier())).String()...)
	}
	return append(buf, col.ValueStr(i)...)
}

// appendFloat writes NaN and ±Inf as NaN, Infinity and -Infinity (PostgreSQL's spelling).
func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	// Plain digits in the range people read (1499732.65, not 1.49973265e+06); exponents outside it. Both are the
	// shortest form that round-trips, and valid JSON numbers.
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e15) {
		return strconv.AppendFloat(buf, f, 'f', -1, bits)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

func appendTimeOfDay(buf []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(buf, "15:04:05.999999999")
}

// appendTimestamp writes RFC 3339: an instant (a type with a time zone) in UTC with Z, a local date-time
// (no time zone) without an offset; infinity and -infinity as DuckDB and PostgreSQL spell them.
func appendTimestamp(buf []byte, a *array.Timestamp, i int) []byte {
	tt := a.DataType().(*arrow.TimestampType)
	if sign := infinity.Timestamp(int64(a.Value(i))); sign != 0 {
		return append(buf, infinity.Text(sign)...)
	}
	t := a.Value(i).ToTime(tt.Unit).UTC()
	if tt.TimeZone == "" {
		return t.AppendFormat(buf, "2006-01-02T15:04:05.999999999")
	}
	return t.AppendFormat(buf, time.RFC3339Nano)
}

// appendJSON appends one value as JSON: numbers as numbers (decimals with their exact digits; NaN and ±Inf
// as strings), booleans, times and binary as strings, lists as arrays, structs and maps as objects.
func appendJSON(buf []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(buf, "null"...)
	}
	switch a := col.(type) {
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32,
		*array.Uint64, *array.Boolean, *array.Decimal128, *array.Decimal256:
		return appendScalar(buf, col, i)
	case *array.Float16, *array.Float32, *array.Float64:
		n := len(buf)
		buf = appendScalar(buf, col, i)
		if c := buf[n]; c == 'N' || c == 'I' || (c == '-' && buf[n+1] == 'I') {
			return appendJSONString(buf[:n], string(buf[n:]))
		}
		return buf
	case *array.String:
		return appendJSONString(buf, a.Value(i))
	case *array.LargeString:
		return appendJSONString(buf, a.Value(i))
	case *array.StringView:
		return appendJSONString(buf, a.Value(i))
	case *array.Dictionary:
		return appendJSON(buf, a.Dictionary(), a.GetValueIndex(i))
	case array.ExtensionArray:
		return appendJSON(buf, a.Storage(), i)
	case *array.Map:
		return appendMap(buf, a, i)
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		buf = append(buf, '[')
		for j := start; j < end; j++ {
			if j > start {
				buf = append(buf, ',')
			}
			buf = appendJSON(buf, a.ListValues(), int(j))
		}
		return append(buf, ']')
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		buf = append(buf, '{')
		for f := 0; f < a.NumField(); f++ {
			if f > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, st.Field(f).Name)
			buf = append(buf, ':')
			buf = appendJSON(buf, a.Field(f), i)
		}
		return append(buf, '}')
	case *array.Null:
		return append(buf, "null"...)
	case *array.Binary, *array.LargeBinary, *array.BinaryView, *array.FixedSizeBinary, *array.Date32,
		*array.Date64, *array.Time32, *array.Time64, *array.Timestamp, *array.Duration:
		n := len(buf)
		buf = appendScalar(buf, col, i)
		return appendJSONString(buf[:n], string(buf[n:]))
	}
	b, err := json.Marshal(col.GetOneForMarshal(i))
	if err != nil {
		return appendJSONString(buf, col.ValueStr(i))
	}
	return append(buf, b...)
}

// appendMap writes a map as a JSON object whose keys are the keys' text.
func appendMap(buf []byte, a *array.Map, i int) []byte {
	start, end := a.ValueOffsets(i)
	keys, items := a.Keys(), a.Items()
	buf = append(buf, '{')
	for j := start; j < end; j++ {
		if j > start {
			buf = append(buf, ',')
		}
		k, _ := text(keys, int(j))
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = appendJSON(buf, items, int(j))
	}
	return append(buf, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // valid JSON, but break JavaScript and some line-based tools
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
