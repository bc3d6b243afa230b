package sqlwire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/internal/infinity"
)

// binaryDate is PostgreSQL's binary date: days since 2000-01-01, or its infinities for DuckDB's.
func binaryDate(days int32) int32 {
	if pg, ok := infinity.PGDate(days); ok {
		return pg
	}
	return days - 10957
}

// pgEpochMicros is 2000-01-01 in Unix microseconds: PostgreSQL's binary dates and timestamps count from it.
const pgEpochMicros = 946_684_800_000_000

// binaryEncoder returns the encoder of a column in PostgreSQL's binary format (what pgx asks for by default),
// or nil for the types that have none here (arrays of more than one dimension). Types described as text or
// json are sent as their text bytes, which is their binary form.
func binaryEncoder(col arrow.Array, o colOpts) encoder {
	be := binary.BigEndian
	switch o.hint {
	case engine.HintUUID:
		if a, ok := col.(*array.String); ok {
			return func(b []byte, i int) []byte { return appendUUID(b, a.Value(i)) }
		}
	case hintTimeTZ:
		if a, ok := col.(*array.String); ok {
			return func(b []byte, i int) []byte { return appendTimeTZ(b, a.Value(i)) }
		}
	case hintOID:
		if a, ok := col.(*array.Int64); ok {
			return func(b []byte, i int) []byte { return be.AppendUint32(b, uint32(a.Value(i))) }
		}
	}
	switch a := col.(type) {
	case *array.Boolean:
		return func(b []byte, i int) []byte {
			if a.Value(i) {
				return append(b, 1)
			}
			return append(b, 0)
		}
	case *array.Int8:
		return func(b []byte, i int) []byte { return be.AppendUint16(b, uint16(int16(a.Value(i)))) }
	case *array.Uint8:
		return func(b []byte, i int) []byte { return be.AppendUint16(b, uint16(a.Value(i))) }
	case *array.Int16:
		return func(b []byte, i int) []byte { return be.AppendUint16(b, uint16(a.Value(i))) }
	case *array.Uint16:
		return func(b []byte, i int) []byte { return be.AppendUint32(b, uint32(a.Value(i))) }
	case *array.Int32:
		return func(b []byte, i int) []byte { return be.AppendUint32(b, uint32(a.Value(i))) }
	case *array.Uint32:
		return func(b []byte, i int) []byte { return be.AppendUint64(b, uint64(a.Value(i))) }
	case *array.Int64:
		return func(b []byte, i int) []byte { return be.AppendUint64(b, uint64(a.Value(i))) }
	case *array.Float32:
		return func(b []byte, i int) []byte { return be.AppendUint32(b, math.Float32bits(a.Value(i))) }
	case *array.Float64:
		return func(b []byte, i int) []byte { return be.AppendUint64(b, math.Float64bits(a.Value(i))) }
	case *array.String:
		return func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
	case *array.LargeString:
		return func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
	case *array.Binary:
		return func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
	case *array.LargeBinary:
		return func(b []byte, i int) []byte { return append(b, a.Value(i)...) }
	case *array.Date32:
		return func(b []byte, i int) []byte { return be.AppendUint32(b, uint32(binaryDate(int32(a.Value(i))))) }
	case *array.Time64:
		mul := int64(a.DataType().(*arrow.Time64Type).Unit.Multiplier())
		return func(b []byte, i int) []byte { return be.AppendUint64(b, uint64(int64(a.Value(i))*mul/1000)) }
	case *array.Time32:
		mul := int64(a.DataType().(*arrow.Time32Type).Unit.Multiplier())
		return func(b []byte, i int) []byte { return be.AppendUint64(b, uint64(int64(a.Value(i))*mul/1000)) }
	case *array.Timestamp:
		if a.DataType().(*arrow.TimestampType).Unit == arrow.Microsecond {
			return func(b []byte, i int) []byte {
				v := int64(a.Value(i))
				if inf, ok := infinity.PGTimestamp(v); ok {
					return be.AppendUint64(b, uint64(inf))
				}
				return be.AppendUint64(b, uint64(v-pgEpochMicros))
			}
		}
		toTime, _ := a.DataType().(*arrow.TimestampType).GetToTimeFunc()
		return func(b []byte, i int) []byte {
			if inf, ok := infinity.PGTimestamp(int64(a.Value(i))); ok {
				return be.AppendUint64(b, uint64(inf))
			}
			return be.AppendUint64(b, uint64(toTime(a.Value(i)).UnixMicro()-pgEpochMicros))
		}
	case *array.MonthDayNanoInterval:
		return func(b []byte, i int) []byte {
			v := a.Value(i)
			b = be.AppendUint64(b, uint64(v.Nanoseconds/1000))
			b = be.AppendUint32(b, uint32(v.Days))
			return be.AppendUint32(b, uint32(v.Months))
		}
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		slow := numericEncoder(func(i int) *big.Int { return a.Value(i).BigInt() }, scale)
		return func(b []byte, i int) []byte {
			v := a.Value(i)
			if hi, lo := v.HighBits(), v.LowBits(); scale >= 0 && scale <= 40 && (hi == 0 && lo < 1<<53 || hi == -1 && lo > ^uint64(1<<53)) {
				return appendNumeric(b, int64(lo), scale) // no big.Int: most values of a lake table
			}
			return slow(b, i)
		}
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return numericEncoder(func(i int) *big.Int { return a.Value(i).BigInt() }, scale)
	case *array.Uint64:
		return numericEncoder(func(i int) *big.Int { return new(big.Int).SetUint64(a.Value(i)) }, 0)
	case array.ExtensionArray:
		return binaryEncoder(a.Storage(), o)
	case *array.Map, *array.Struct:
		return textEncoder(col, o) // json's binary form is its text
	case array.ListLike:
		return arrayEncoder(a, o.elem())
	}
	if oid := typeOf(col.DataType(), o.hint).OID; oid == oidText || oid == oidJSON {
		return textEncoder(col, o) // text's binary form is its bytes
	}
	return nil
}

// appendUUID appends the 16 bytes of a UUID DuckDB printed as 8-4-4-4-12 hex digits.
func appendUUID(b []byte, s string) []byte {
	var u [16]byte
	_, _ = hex.Decode(u[:], []byte(strings.ReplaceAll(s, "-", "")))
	return append(b, u[:]...)
}

// arrayEncoder encodes a list as a one-dimensional PostgreSQL array (array_send): dimensions, a has-NULL
// flag, the element type, then each element with its length (-1 for NULL). Lists of lists have no binary
// form here (PostgreSQL arrays are rectangular, DuckDB's lists are not): nil.
func arrayEncoder(a array.ListLike, o colOpts) encoder {
	values := a.ListValues()
	if _, nested := values.(array.ListLike); nested {
		if _, isMap := values.(*array.Map); !isMap {
			return nil
		}
	}
	elem := binaryEncoder(values, o)
	if elem == nil {
		return nil
	}
	elemOID := typeOf(values.DataType(), o.hint).OID
	be := binary.BigEndian
	return func(b []byte, i int) []byte {
		from, to := a.ValueOffsets(i)
		hasNull := uint32(0)
		for j := from; j < to; j++ {
			if values.IsNull(int(j)) {
				hasNull = 1
				break
			}
		}
		if from == to { // an empty array has no dimensions
			b = be.AppendUint32(b, 0)
			b = be.AppendUint32(b, 0)
			return be.AppendUint32(b, elemOID)
		}
		b = be.AppendUint32(b, 1)
		b = be.AppendUint32(b, hasNull)
		b = be.AppendUint32(b, elemOID)
		b = be.AppendUint32(b, uint32(to-from))
		b = be.AppendUint32(b, 1)
		for j := from; j < to; j++ {
			if values.IsNull(int(j)) {
				b = be.AppendUint32(b, 0xFFFFFFFF)
				continue
			}
			at := len(b)
			b = elem(be.AppendUint32(b, 0), int(j))
			be.PutUint32(b[at:], uint32(len(b)-at-4))
		}
		return b
	}
}

// appendNumeric encodes the numeric v / 10^scale (|v| < 2^53) in PostgreSQL's binary form: digit count,
// weight of the first base-10000 digit, sign, display scale, then the digits.
func appendNumeric(b []byte, v int64, scale int32) []byte {
	be := binary.BigEndian
	sign := uint16(0)
	if v < 0 {
		sign, v = 0x4000, -v
	}
	frac := (scale + 3) / 4 // base-10000 digits after the point
	u := uint64(v)
	for k := scale; k < frac*4; k++ {
		u *= 10 // align the fraction to whole base-10000 digits (fits: |v| < 2^53, at most 3 steps)
	}
	var digits [16]uint16
	n := 0
	for u > 0 {
		digits[n] = uint16(u % 10000)
		u /= 10000
		n++
	}
	// digits[n-1] is the most significant; weight counts base-10000 digits before the point, minus one.
	weight := n - int(frac) - 1
	low := 0
	for low < n && digits[low] == 0 {
		low++ // trailing zero digits are not sent
	}
	if low == n {
		n, weight, sign = 0, 0, 0
	}
	b = be.AppendUint16(b, uint16(n-low))
	b = be.AppendUint16(b, uint16(int16(weight)))
	b = be.AppendUint16(b, sign)
	b = be.AppendUint16(b, uint16(scale))
	for j := n - 1; j >= low; j-- {
		b = be.AppendUint16(b, digits[j])
	}
	return b
}

// numericEncoder encodes numeric with pgx's codec (base-10000 digits are easy to get wrong by hand).
func numericEncoder(val func(i int) *big.Int, scale int32) encoder {
	var m *pgtype.Map // made on first use: NewMap is costly and most batches never need it (appendNumeric)
	return func(b []byte, i int) []byte {
		if m == nil {
			m = pgtype.NewMap()
		}
		out, err := m.Encode(oidNumeric, pgtype.BinaryFormatCode, pgtype.Numeric{Int: val(i), Exp: -scale, Valid: true}, b)
		if err != nil {
			panic(fmt.Sprintf("sqlwire: encode numeric: %v", err)) // cannot happen for a valid big.Int
		}
		return out
	}
}

// setFormats applies Bind's result format codes (none = all text, one = all columns, else one per column)
// and refuses binary for a column that has no binary form here.
func (cu *cursor) setFormats(codes []int16) error {
	if cu.from != nil {
		return cu.setFetchFormats(codes)
	}
	schema := cu.resultSchema()
	if len(codes) == 0 || schema == nil || cu.copy != nil {
		return nil
	}
	if len(codes) != 1 && len(codes) != len(cu.fields) {
		return fmt.Errorf("bind message has %d result formats but the query has %d columns: %w", len(codes), len(cu.fields), &stateError{state: "08P01"})
	}
	cu.formats = make([]int16, len(cu.fields))
	for i, f := range schema.Fields() {
		code := codes[0]
		if len(codes) > 1 {
			code = codes[i]
		}
		if code == pgtype.BinaryFormatCode {
			empty := array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
			ok := binaryEncoder(empty, cu.colOpts(i)) != nil
			empty.Release()
			if !ok {
				return fmt.Errorf("column %q (%s): binary format is not supported for this type (lists of lists): ask for text: %w", f.Name, f.Type, ErrUnsupported)
			}
		}
		cu.formats[i] = code
		cu.fields[i].Format = code
	}
	return nil
}

// setFetchFormats: a FETCH through the extended protocol sends its rows in the result formats of its own
// Bind, which override the declared cursor's (BINARY or not), as in PostgreSQL.
func (cu *cursor) setFetchFormats(codes []int16) error {
	under := cu.from
	if len(codes) == 0 || cu.fields == nil || under.resultSchema() == nil {
		return nil
	}
	probe := &cursor{fields: append([]pgproto3.FieldDescription(nil), under.fields...), schema: under.resultSchema(),
		hints: under.hints, loc: under.loc}
	if err := probe.setFormats(codes); err != nil {
		return err
	}
	cu.fields, cu.fetchFormats = probe.fields, probe.formats
	return nil
}
