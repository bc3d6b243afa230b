package postgres

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strata-data/strata/internal/infinity"
)

// The target's encoder: Arrow columns written straight into PostgreSQL's binary COPY format (no Go value per
// cell). Each field is its length (int32, -1 for NULL) and the value in the type's binary send format; the
// server's receive function of the TARGET column's type reads it, so the encoding is chosen by the pair (Arrow
// type, target column type) and must be exactly that type's format (arrays carry their element type's OID,
// which the server checks).

// fieldFunc appends the binary value (without its length) of the non-NULL row i of the column it was bound to.
type fieldFunc func(buf []byte, i int) ([]byte, error)

// encoding writes one Arrow type into one PostgreSQL type: oid is the type's (an array's element type's, for
// arrays), bind returns the writer of one batch's column.
type encoding struct {
	oid  uint32
	bind func(a arrow.Array) fieldFunc
}

// scalarOIDs are the target types (format_type spelling) an encoding can write, and their OIDs. varchar(n),
// char(n) and types not listed go through the temporary table and a cast.
var scalarOIDs = map[string]uint32{
	"smallint": pgtype.Int2OID, "integer": pgtype.Int4OID, "bigint": pgtype.Int8OID,
	"real": pgtype.Float4OID, "double precision": pgtype.Float8OID, "boolean": pgtype.BoolOID,
	"text": pgtype.TextOID, "character varying": pgtype.VarcharOID, "json": pgtype.JSONOID, "jsonb": pgtype.JSONBOID,
	"bytea": pgtype.ByteaOID, "uuid": pgtype.UUIDOID, "date": pgtype.DateOID, "time without time zone": pgtype.TimeOID,
	"timestamp without time zone": pgtype.TimestampOID, "timestamp with time zone": pgtype.TimestamptzOID,
	"interval": pgtype.IntervalOID, "numeric": pgtype.NumericOID,
}

// timePrecision is the fractional digits of time(n) and timestamp(n) as format_type spells them.
var timePrecision = regexp.MustCompile(`^(?:time|timestamp)(\(\d+\)) with`)

// encodingFor returns how a column of Arrow type t is written into a column of PostgreSQL type target
// (format_type), or false if it cannot be written as it is (the rows then go through a cast).
func encodingFor(t arrow.DataType, target string) (encoding, bool) {
	if elem, ok := strings.CutSuffix(target, "[]"); ok {
		return listEncoding(t, elem)
	}
	// The server applies a column's type modifier (numeric's precision and scale, the fractional digits of a
	// time or timestamp) to the value it receives, as a cast does.
	if isNumeric(target) {
		target = "numeric"
	} else if m := timePrecision.FindStringSubmatchIndex(target); m != nil {
		target = target[:m[2]] + target[m[3]:]
	}
	oid, ok := scalarOIDs[target]
	if !ok {
		return encoding{}, false
	}
	bind := scalarBind(t, target)
	return encoding{oid: oid, bind: bind}, bind != nil
}

// scalarBind returns the binder of Arrow type t into the scalar PostgreSQL type target, or nil.
func scalarBind(t arrow.DataType, target string) func(arrow.Array) fieldFunc {
	switch t := t.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type:
		return intBind(target)
	case *arrow.Float32Type:
		switch target {
		case "real":
			return bindAs(func(a *array.Float32, buf []byte, i int) ([]byte, error) {
				return binary.BigEndian.AppendUint32(buf, math.Float32bits(a.Value(i))), nil
			})
		case "double precision":
			return bindAs(func(a *array.Float32, buf []byte, i int) ([]byte, error) {
				return binary.BigEndian.AppendUint64(buf, math.Float64bits(float64(a.Value(i)))), nil
			})
		}
	case *arrow.Float64Type:
		if target == "double precision" {
			return bindAs(func(a *array.Float64, buf []byte, i int) ([]byte, error) {
				return binary.BigEndian.AppendUint64(buf, math.Float64bits(a.Value(i))), nil
			})
		}
	case *arrow.BooleanType:
		if target == "boolean" {
			return bindAs(func(a *array.Boolean, buf []byte, i int) ([]byte, error) {
				if a.Value(i) {
					return append(buf, 1), nil
				}
				return append(buf, 0), nil
			})
		}
	case *arrow.StringType, *arrow.LargeStringType:
		return textBind(target)
	case *extensions.JSONType:
		if b := textBind(target); b != nil {
			return func(a arrow.Array) fieldFunc { return b(a.(array.ExtensionArray).Storage()) }
		}
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		if target == "bytea" {
			return func(a arrow.Array) fieldFunc {
				bs := a.(interface{ Value(int) []byte })
				return func(buf []byte, i int) ([]byte, error) { return append(buf, bs.Value(i)...), nil }
			}
		}
	case *arrow.FixedSizeBinaryType:
		if target == "bytea" || target == "uuid" && t.ByteWidth == 16 {
			return bindAs(func(a *array.FixedSizeBinary, buf []byte, i int) ([]byte, error) {
				return append(buf, a.Value(i)...), nil
			})
		}
	case *extensions.UUIDType:
		if target == "uuid" {
			return func(a arrow.Array) fieldFunc {
				s := a.(array.ExtensionArray).Storage().(*array.FixedSizeBinary)
				return func(buf []byte, i int) ([]byte, error) { return append(buf, s.Value(i)...), nil }
			}
		}
	case *arrow.Date32Type:
		if target == "date" {
			return bindAs(func(a *array.Date32, buf []byte, i int) ([]byte, error) {
				if pg, ok := infinity.PGDate(int32(a.Value(i))); ok {
					return binary.BigEndian.AppendUint32(buf, uint32(pg)), nil
				}
				d := int64(a.Value(i)) - pgEpochDays // PostgreSQL's receive function checks its own range
				if d < math.MinInt32 {
					return buf, fmt.Errorf("date %d days before 1970 is out of range", -int64(a.Value(i)))
				}
				return binary.BigEndian.AppendUint32(buf, uint32(int32(d))), nil
			})
		}
	case *arrow.Time64Type:
		if target == "time without time zone" {
			div := int64(1)
			if t.Unit == arrow.Nanosecond {
				div = 1000
			}
			return bindAs(func(a *array.Time64, buf []byte, i int) ([]byte, error) {
				return binary.BigEndian.AppendUint64(buf, uint64(int64(a.Value(i))/div)), nil
			})
		}
	case *arrow.TimestampType:
		if (t.TimeZone != "") == (target == "timestamp with time zone") && strings.HasPrefix(target, "timestamp ") {
			return timestampBind(t.Unit)
		}
	case *arrow.MonthDayNanoIntervalType:
		if target == "interval" {
			// PostgreSQL keeps microseconds: a part below one is dropped.
			return bindAs(func(a *array.MonthDayNanoInterval, buf []byte, i int) ([]byte, error) {
				v := a.Value(i)
				buf = binary.BigEndian.AppendUint64(buf, uint64(v.Nanoseconds/1000))
				buf = binary.BigEndian.AppendUint32(buf, uint32(v.Days))
				return binary.BigEndian.AppendUint32(buf, uint32(v.Months)), nil
			})
		}
	case *arrow.Decimal128Type:
		if target == "numeric" {
			scale := t.Scale
			return bindAs(func(a *array.Decimal128, buf []byte, i int) ([]byte, error) {
				return appendNumericBinary(buf, a.Value(i), scale), nil
			})
		}
	}
	return nil
}

// bindAs adapts a writer of a typed array to a binder.
func bindAs[A arrow.Array](f func(a A, buf []byte, i int) ([]byte, error)) func(arrow.Array) fieldFunc {
	return func(a arrow.Array) fieldFunc {
		typed := a.(A)
		return func(buf []byte, i int) ([]byte, error) { return f(typed, buf, i) }
	}
}

// intBind writes any signed integer column into smallint, integer or bigint; a value outside the target's
// range fails, as the cast would.
func intBind(target string) func(arrow.Array) fieldFunc {
	var lo, hi int64
	var size int
	switch target {
	case "smallint":
		lo, hi, size = math.MinInt16, math.MaxInt16, 2
	case "integer":
		lo, hi, size = math.MinInt32, math.MaxInt32, 4
	case "bigint":
		lo, hi, size = math.MinInt64, math.MaxInt64, 8
	default:
		return nil
	}
	return func(a arrow.Array) fieldFunc {
		get := intGetter(a)
		return func(buf []byte, i int) ([]byte, error) {
			v := get(i)
			switch {
			case v < lo || v > hi:
				return buf, fmt.Errorf("%d is out of range for type %s", v, target)
			case size == 2:
				return binary.BigEndian.AppendUint16(buf, uint16(v)), nil
			case size == 4:
				return binary.BigEndian.AppendUint32(buf, uint32(v)), nil
			}
			return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
		}
	}
}

func intGetter(a arrow.Array) func(int) int64 {
	switch a := a.(type) {
	case *array.Int8:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int16:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int32:
		return func(i int) int64 { return int64(a.Value(i)) }
	}
	vs := a.(*array.Int64).Int64Values()
	return func(i int) int64 { return vs[i] }
}

// textBind writes a string column into a text-like type; json and jsonb validate the text on the server
// (jsonb's binary format is a version byte, 1, and the text). A NUL byte, which no PostgreSQL text holds, fails.
func textBind(target string) func(arrow.Array) fieldFunc {
	var prefix []byte
	switch target {
	case "text", "character varying", "json":
	case "jsonb":
		prefix = []byte{1}
	default:
		return nil
	}
	return func(a arrow.Array) fieldFunc {
		if sa, ok := a.(*array.String); ok {
			return func(buf []byte, i int) ([]byte, error) { return appendText(append(buf, prefix...), sa.Value(i)) }
		}
		s := a.(interface{ Value(int) string })
		return func(buf []byte, i int) ([]byte, error) { return appendText(append(buf, prefix...), s.Value(i)) }
	}
}

func appendText(buf []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return buf, fmt.Errorf("the text holds a NUL byte, which PostgreSQL text cannot hold: remove it or write the column as bytea")
	}
	return append(buf, s...), nil
}

// timestampBind writes a timestamp of any unit as microseconds since 2000-01-01 (nanoseconds floored, as pgx
// does).
func timestampBind(unit arrow.TimeUnit) func(arrow.Array) fieldFunc {
	mul, div := int64(1), int64(1)
	switch unit {
	case arrow.Second:
		mul = 1_000_000
	case arrow.Millisecond:
		mul = 1000
	case arrow.Nanosecond:
		div = 1000
	}
	return bindAs(func(a *array.Timestamp, buf []byte, i int) ([]byte, error) {
		v := int64(a.Value(i))
		if pg, ok := infinity.PGTimestamp(v); ok { // in every unit
			return binary.BigEndian.AppendUint64(buf, uint64(pg)), nil
		}
		if div > 1 {
			q := v / div
			if v%div < 0 {
				q--
			}
			v = q
		} else if mul > 1 {
			if v > math.MaxInt64/mul || v < math.MinInt64/mul {
				return buf, fmt.Errorf("timestamp %d is out of range", v)
			}
			v *= mul
		}
		if v < math.MinInt64+pgEpochMicros {
			return buf, fmt.Errorf("timestamp %d µs is out of range", v)
		}
		return binary.BigEndian.AppendUint64(buf, uint64(v-pgEpochMicros)), nil
	})
}

// listEncoding writes a list column as a one-dimensional PostgreSQL array of elem (lower bound 1; an empty
// list is PostgreSQL's empty array, of no dimension).
func listEncoding(t arrow.DataType, elem string) (encoding, bool) {
	var et arrow.DataType
	switch t := t.(type) {
	case *arrow.ListType:
		et = t.Elem()
	case *arrow.LargeListType:
		et = t.Elem()
	default:
		return encoding{}, false
	}
	if strings.HasSuffix(elem, "[]") {
		return encoding{}, false
	}
	e, ok := encodingFor(et, elem)
	if !ok {
		return encoding{}, false
	}
	bind := func(a arrow.Array) fieldFunc {
		l := a.(array.ListLike)
		vals := l.ListValues()
		ew := e.bind(vals)
		var nulls arrow.Array
		var flags uint32 // has NULL elements (PostgreSQL recomputes it; set as pg_dump would)
		if vals.NullN() > 0 {
			nulls, flags = vals, 1
		}
		return func(buf []byte, i int) ([]byte, error) {
			start, end := l.ValueOffsets(i)
			if start == end {
				buf = binary.BigEndian.AppendUint32(buf, 0) // ndim
				buf = binary.BigEndian.AppendUint32(buf, 0) // flags
				return binary.BigEndian.AppendUint32(buf, e.oid), nil
			}
			buf = binary.BigEndian.AppendUint32(buf, 1)
			buf = binary.BigEndian.AppendUint32(buf, flags)
			buf = binary.BigEndian.AppendUint32(buf, e.oid)
			buf = binary.BigEndian.AppendUint32(buf, uint32(end-start))
			buf = binary.BigEndian.AppendUint32(buf, 1)
			for j := int(start); j < int(end); j++ {
				var err error
				if buf, err = appendField(buf, nulls, ew, j); err != nil {
					return buf, fmt.Errorf("element %d: %w", j-int(start)+1, err)
				}
			}
			return buf, nil
		}
	}
	return encoding{oid: e.oid, bind: bind}, true
}

// appendField appends row i of a column as a COPY field (or array element): its length, then its value, or
// -1 for NULL. nulls is the column if it holds NULLs, else nil (no row is NULL).
func appendField(buf []byte, nulls arrow.Array, f fieldFunc, i int) ([]byte, error) {
	if nulls != nil && nulls.IsNull(i) {
		return append(buf, 0xff, 0xff, 0xff, 0xff), nil
	}
	at := len(buf)
	buf, err := f(append(buf, 0, 0, 0, 0), i)
	if err != nil {
		return buf, err
	}
	n := len(buf) - at - 4
	if n > math.MaxInt32 {
		return buf, fmt.Errorf("a value of %d bytes exceeds PostgreSQL's 1 GB field limit", n)
	}
	binary.BigEndian.PutUint32(buf[at:], uint32(n))
	return buf, nil
}

// appendNumericBinary appends a decimal (unscaled v, scale) in numeric's binary format: digit count, weight
// (of the first base-10000 digit), sign, display scale, then the base-10000 digits, most significant first.
// Digit groups are aligned on the decimal point; leading and trailing zero groups are left out.
func appendNumericBinary(buf []byte, v decimal128.Num, scale int32) []byte {
	neg := v.Sign() < 0
	if neg {
		v = v.Negate()
	}
	hi, lo := uint64(v.HighBits()), v.LowBits()
	// The lowest digit of v is worth 10^e; the lowest group 10000^k holds it at 10^pad within the group.
	e := -int(scale)
	k := e / 4
	if e%4 < 0 {
		k--
	}
	pad := e - 4*k
	var groups [12]uint16 // least significant first; 39 digits + 3 of padding need 11
	n := 0
	if hi != 0 || lo != 0 {
		var r uint64
		hi, lo, r = divmod128(hi, lo, pow10[4-pad])
		groups[0] = uint16(r * pow10[pad])
		n = 1
		for hi != 0 || lo != 0 {
			hi, lo, r = divmod128(hi, lo, 10000)
			groups[n] = uint16(r)
			n++
		}
	}
	low := 0
	for low < n && groups[low] == 0 {
		low++
	}
	ndigits, weight := n-low, k+n-1
	if ndigits == 0 {
		weight = 0
	}
	sign := uint16(0)
	if neg && ndigits > 0 {
		sign = 0x4000
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(ndigits))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(max(scale, 0)))
	for j := n - 1; j >= low; j-- {
		buf = binary.BigEndian.AppendUint16(buf, groups[j])
	}
	return buf
}

var pow10 = [5]uint64{1, 10, 100, 1000, 10000}

// divmod128 divides the 128-bit hi:lo by d.
func divmod128(hi, lo, d uint64) (qhi, qlo, r uint64) {
	if hi == 0 {
		return 0, lo / d, lo % d
	}
	qhi, r = hi/d, hi%d
	qlo, r = bits.Div64(r, lo, d)
	return qhi, qlo, r
}
