package sqlwire

import (
	"encoding/hex"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"

	"github.com/strata-data/strata/internal/infinity"
)

// encoder appends the PostgreSQL text form of row i of one column; callers check IsNull first.
type encoder func(buf []byte, i int) []byte

// unixEpoch is 1970-01-01: dates are printed from Arrow's days since it.
var unixEpoch = time.Unix(0, 0).UTC()

// textEncoder returns the encoder of one column of a batch, printing values as PostgreSQL prints them.
func textEncoder(col arrow.Array, o colOpts) encoder {
	switch a := col.(type) {
	case *array.Boolean:
		return func(b []byte, i int) []byte {
			if a.Value(i) {
				return append(b, 't')
			}
			return append(b, 'f')
		}
	case *array.Int8:
		return func(b []byte, i int) []byte { return strconv.AppendInt(b, int64(a.Value(i)), 10) }
	case *array.Int16:
		return func(b []byte, i int) []byte { return strconv.AppendInt(b, int64(a.Value(i)), 10) }
	case *array.Int32:
		return func(b []byte, i int) []byte { return strconv.AppendInt(b, int64(a.Value(i)), 10) }
	case *array.Int64:
		return func(b []byte, i int) []byte { return strconv.AppendInt(b, a.Value(i), 10) }
	case *array.Uint8:
		return func(b []byte, i int) []byte { return strconv.AppendUint(b, uint64(a.Value(i)), 10) }
	case *array.Uint16:
		return func(b []byte, i int) []byte { return strconv.AppendUint(b, uint64(a.Value(i)), 10) }
	case *array.Uint32:
		return func(b []byte, i int) []byte { return strconv.AppendUint(b, uint64(a.Value(i)), 10) }
	case *array.Uint64:
		return func(b []byte, i int) []byte { return strconv.AppendUint(b, a.Value(i), 10) }
	case *array.Float32:
		return func(b []byte, i int) []byte { return appendFloat(b, float64(a.Value(i)), 32) }
	case *array.Float64:
		return func(b []byte, i int) []byte { return appendFloat(b, a.Value(i), 64) }
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(b []byte, i int) []byte {
			v := a.Value(i)
			if hi, lo := v.HighBits(), v.LowBits(); hi == 0 && lo < 1<<63 || hi == -1 && lo >= 1<<63 {
				var digits [20]byte // no big.Int and no allocation: several times faster
				return appendDecimalDigits(b, strconv.AppendInt(digits[:0], int64(lo), 10), scale)
			}
			return appendDecimal(b, decimal128Big(v), scale)
		}
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(b []byte, i int) []byte { return appendDecimal(b, decimal256Big(a.Value(i)), scale) }
	case *array.String:
		return func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
	case *array.LargeString:
		return func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
	case *array.Binary:
		return func(b []byte, i int) []byte { return appendBytea(b, a.Value(i)) }
	case *array.LargeBinary:
		return func(b []byte, i int) []byte { return appendBytea(b, a.Value(i)) }
	case *array.FixedSizeBinary:
		return func(b []byte, i int) []byte { return appendBytea(b, a.Value(i)) }
	case *array.Date32:
		return func(b []byte, i int) []byte { return appendDate(b, int32(a.Value(i))) }
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return func(b []byte, i int) []byte {
			return appendClock(b, time.Duration(a.Value(i))*unit.Multiplier())
		}
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		return func(b []byte, i int) []byte {
			return appendClock(b, time.Duration(a.Value(i))*unit.Multiplier())
		}
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		toTime, _ := tt.GetToTimeFunc()
		loc := o.loc
		if loc == nil {
			loc = time.UTC
		}
		if tt.TimeZone == "" || loc == time.UTC {
			// UTC needs no zone rules: the fast path, and time.Time only for BC and 5-digit years.
			tz := tt.TimeZone != ""
			return func(b []byte, i int) []byte {
				if inf, ok := infiniteTimestamp(int64(a.Value(i))); ok {
					return append(b, inf...)
				}
				if us, ok := timestampMicros(int64(a.Value(i)), tt.Unit); ok {
					if out, ok := appendTimestampMicros(b, us); ok {
						if tz {
							out = append(out, "+00"...)
						}
						return out
					}
				}
				return appendTimestamp(b, toTime(a.Value(i)).UTC(), tz)
			}
		}
		return func(b []byte, i int) []byte {
			if inf, ok := infiniteTimestamp(int64(a.Value(i))); ok {
				return append(b, inf...)
			}
			return appendTimestamp(b, toTime(a.Value(i)).In(loc), true)
		}
	case *array.MonthDayNanoInterval:
		return func(b []byte, i int) []byte {
			v := a.Value(i)
			return appendInterval(b, int64(v.Months), int64(v.Days), time.Duration(v.Nanoseconds))
		}
	case *array.Duration:
		unit := a.DataType().(*arrow.DurationType).Unit
		return func(b []byte, i int) []byte {
			return appendInterval(b, 0, 0, time.Duration(a.Value(i))*unit.Multiplier())
		}
	case array.ExtensionArray:
		return textEncoder(a.Storage(), o)
	case *array.Map, *array.Struct:
		return func(b []byte, i int) []byte { return append(b, col.ValueStr(i)...) } // JSON (typeOf: json)
	case array.ListLike:
		return listEncoder(a, o.elem())
	}
	return func(b []byte, i int) []byte { return append(b, col.ValueStr(i)...) }
}

// appendFloat prints like PostgreSQL 12+: the shortest form that reads back exactly; NaN, Infinity, -Infinity.
// PostgreSQL writes plain digits while the first digit's decimal exponent is at least -4 and below 15 for a
// float8 (6 for a float4), exponents outside. Go's shortest 'g' switches at 6 for both, so a float8 from 1e6 up
// to 1e15 is written with 'f' (1499732.65, not 1.49973265e+06). Powers of ten up to 1e22 are exact doubles, so
// comparing the value with 1e6 and 1e15 decides exactly as the shortest digits' exponent does.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	if a := math.Abs(f); bits == 64 && a >= 1e6 && a < 1e15 {
		return strconv.AppendFloat(b, f, 'f', -1, bits)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

func decimal128Big(v decimal128.Num) *big.Int { return v.BigInt() }
func decimal256Big(v decimal256.Num) *big.Int { return v.BigInt() }

// appendDecimal prints an unscaled integer with scale digits after the point, as numeric(p,s) prints.
func appendDecimal(b []byte, v *big.Int, scale int32) []byte {
	return appendDecimalDigits(b, v.Append(nil, 10), scale)
}

// appendDecimalDigits places the point in an integer's decimal digits ("-1234", scale 2 → "-12.34").
func appendDecimalDigits(b []byte, digits []byte, scale int32) []byte {
	if len(digits) > 0 && digits[0] == '-' {
		b = append(b, '-')
		digits = digits[1:]
	}
	if scale <= 0 {
		b = append(b, digits...)
		for ; scale < 0; scale++ {
			b = append(b, '0')
		}
		return b
	}
	sc := int(scale)
	if len(digits) <= sc {
		b = append(b, '0', '.')
		for i := len(digits); i < sc; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	b = append(b, digits[:len(digits)-sc]...)
	b = append(b, '.')
	return append(b, digits[len(digits)-sc:]...)
}

func appendBytea(b, v []byte) []byte {
	b = append(b, `\x`...)
	return hex.AppendEncode(b, v)
}

// appendClock prints a time of day or a duration's clock part: HH:MM:SS[.ffffff].
func appendClock(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	us := int64(d / time.Microsecond)
	h, m, s, frac := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60, us%1_000_000
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, m, 2)
	b = append(b, ':')
	b = appendPadded(b, s, 2)
	return appendFraction(b, frac)
}

func appendPadded(b []byte, v int64, width int) []byte {
	var digits [20]byte
	s := strconv.AppendInt(digits[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// appendFraction prints microseconds (0 ≤ us < 1,000,000) as ".ffffff" without trailing zeros, nothing when zero.
func appendFraction(b []byte, us int64) []byte {
	if us == 0 {
		return b
	}
	b = append(b, '.')
	for d := int64(100_000); us > 0; d /= 10 {
		b = append(b, byte('0'+us/d))
		us %= d
	}
	return b
}

// infiniteTimestamp returns the text of an infinite timestamp value, whatever its unit.
func infiniteTimestamp(v int64) (string, bool) {
	if sign := infinity.Timestamp(v); sign != 0 {
		return infinity.Text(sign), true
	}
	return "", false
}

// appendDate prints days since 1970-01-01 as PostgreSQL does: 2026-01-02, 0001-12-31 BC for the year before
// 1 AD, infinity and -infinity.
func appendDate(b []byte, days int32) []byte {
	if sign := infinity.Date(days); sign != 0 {
		return append(b, infinity.Text(sign)...)
	}
	t := unixEpoch.AddDate(0, 0, int(days))
	year := t.Year()
	if year > 0 {
		return t.AppendFormat(b, "2006-01-02")
	}
	b = appendPadded(b, int64(1-year), 4)
	b = appendPadded(append(b, '-'), int64(t.Month()), 2)
	b = appendPadded(append(b, '-'), int64(t.Day()), 2)
	return append(b, " BC"...)
}

// appendTimestampMicros prints a timestamp given in microseconds since 1970-01-01 00:00:00 UTC as
// appendTimestamp prints it in UTC (without the offset), from the civil calendar rather than time.Time: text
// results print one per row. ok is false outside years 1–9999 (BC and 5-digit years), which appendTimestamp
// prints.
func appendTimestampMicros(b []byte, us int64) ([]byte, bool) {
	const dayUS = 86_400_000_000
	days, rem := us/dayUS, us%dayUS
	if rem < 0 {
		days, rem = days-1, rem+dayUS
	}
	// Days to year, month, day (H. Hinnant's days_from_civil inverse, proleptic Gregorian).
	z := days + 719_468
	era := z / 146_097
	if z < 0 {
		era = (z - 146_096) / 146_097
	}
	doe := z - era*146_097
	yoe := (doe - doe/1_460 + doe/36_524 - doe/146_096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day, month, year := doy-(153*mp+2)/5+1, mp+3, yoe+era*400
	if mp >= 10 {
		month -= 12
	}
	if month <= 2 {
		year++
	}
	if year < 1 || year > 9999 {
		return b, false
	}
	b = appendPadded(b, year, 4)
	b = appendPadded(append(b, '-'), month, 2)
	b = appendPadded(append(b, '-'), day, 2)
	b = appendClock(append(b, ' '), time.Duration(rem)*time.Microsecond)
	return b, true
}

// timestampMicros returns a timestamp value of unit as microseconds since the epoch (nanoseconds rounded
// down, as time.Time's microsecond is); ok is false when that overflows.
func timestampMicros(v int64, unit arrow.TimeUnit) (int64, bool) {
	switch unit {
	case arrow.Second:
		return v * 1_000_000, v > -9_000_000_000_000 && v < 9_000_000_000_000
	case arrow.Millisecond:
		return v * 1_000, v > -9_000_000_000_000_000 && v < 9_000_000_000_000_000
	case arrow.Microsecond:
		return v, true
	}
	us := v / 1_000
	if v%1_000 < 0 {
		us--
	}
	return us, true
}

// appendTimestamp prints "2026-01-02 10:00:00[.ffffff]" and, for timestamptz, the offset of t's zone as
// PostgreSQL prints it in DateStyle ISO: "+00", "+05:30", "-03:30:15".
func appendTimestamp(b []byte, t time.Time, tz bool) []byte {
	year := t.Year()
	bc := year <= 0
	if bc {
		t = t.AddDate(1-2*year, 0, 0)
	}
	b = t.AppendFormat(b, "2006-01-02 15:04:05")
	b = appendFraction(b, int64(t.Nanosecond()/1000))
	if tz {
		b = appendOffset(b, t)
	}
	if bc {
		b = append(b, " BC"...)
	}
	return b
}

func appendOffset(b []byte, t time.Time) []byte {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = appendPadded(append(b, sign), int64(off/3600), 2)
	if m, s := off/60%60, off%60; m != 0 || s != 0 {
		b = appendPadded(append(b, ':'), int64(m), 2)
		if s != 0 {
			b = appendPadded(append(b, ':'), int64(s), 2)
		}
	}
	return b
}

// appendInterval prints IntervalStyle postgres: "1 year 2 mons 3 days 04:05:06".
func appendInterval(b []byte, months, days int64, clock time.Duration) []byte {
	start := len(b)
	before := false // the previous part was negative: PostgreSQL then signs a positive one ("-1 days +02:00:00")
	sep := func(positive bool) {
		if len(b) > start {
			b = append(b, ' ')
		}
		if before && positive {
			b = append(b, '+')
		}
	}
	unit := func(v int64, one, many string) {
		if v == 0 {
			return
		}
		sep(v > 0)
		b = strconv.AppendInt(b, v, 10)
		if v == 1 {
			b = append(b, one...)
		} else {
			b = append(b, many...)
		}
		before = v < 0
	}
	unit(months/12, " year", " years")
	unit(months%12, " mon", " mons")
	unit(days, " day", " days")
	if clock != 0 || len(b) == start {
		sep(clock > 0)
		b = appendClock(b, clock)
	}
	return b
}

// listEncoder prints a list as a PostgreSQL array literal: {1,2,NULL}, {"a b","x\"y"}.
func listEncoder(a array.ListLike, o colOpts) encoder {
	values := a.ListValues()
	elem := textEncoder(values, o)
	quoteAll := typeOf(values.DataType(), o.hint).OID == oidBytea
	_, nested := values.(array.ListLike)
	var scratch []byte
	return func(b []byte, i int) []byte {
		from, to := a.ValueOffsets(i)
		b = append(b, '{')
		for j := from; j < to; j++ {
			if j > from {
				b = append(b, ',')
			}
			if values.IsNull(int(j)) {
				b = append(b, "NULL"...)
				continue
			}
			scratch = elem(scratch[:0], int(j))
			b = appendArrayElem(b, scratch, quoteAll && !nested, nested)
		}
		return append(b, '}')
	}
}

// appendArrayElem quotes an element when PostgreSQL's array_out would.
func appendArrayElem(b, v []byte, force, nested bool) []byte {
	need := force || len(v) == 0 || strings.EqualFold(string(v), "NULL")
	if !need && !nested {
		for _, c := range v {
			if c == '"' || c == '\\' || c == ',' || c == '{' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				need = true
				break
			}
		}
	}
	if !need {
		return append(b, v...)
	}
	b = append(b, '"')
	for _, c := range v {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
