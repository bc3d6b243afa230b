package postgres

import (
	"encoding/binary"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// decodeNumeric runs the COPY path's numeric decoder on one binary value.
func decodeNumeric(t testing.TB, src []byte, scale int32) (decimal128.Num, error) {
	t.Helper()
	b := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 38, Scale: scale})
	defer b.Release()
	if err := appendNumeric(b, src, scale); err != nil {
		return decimal128.Num{}, err
	}
	a := b.NewDecimal128Array()
	defer a.Release()
	return a.Value(0), nil
}

// viaPgx is the query path's decimal for the same bytes: pgx's numeric decoding, rescaled with big.Int.
func viaPgx(t testing.TB, src []byte, scale int32) decimal128.Num {
	t.Helper()
	v, err := pgtype.NewMap().TypeForOID(pgtype.NumericOID)
	require.True(t, err)
	n, derr := v.Codec.DecodeValue(pgtype.NewMap(), pgtype.NumericOID, pgtype.BinaryFormatCode, src)
	require.NoError(t, derr)
	b := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 38, Scale: scale})
	defer b.Release()
	require.NoError(t, addDecimal(b, n, scale))
	a := b.NewDecimal128Array()
	defer a.Release()
	return a.Value(0)
}

// rawNumeric builds numeric's binary form from its parts.
func rawNumeric(weight int16, neg bool, dscale uint16, digits ...uint16) []byte {
	buf := binary.BigEndian.AppendUint16(nil, uint16(len(digits)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(weight))
	sign := uint16(0)
	if neg {
		sign = 0x4000
	}
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, dscale)
	for _, d := range digits {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf
}

// TestNumericDecodeExamples: values PostgreSQL sends for numeric(p, s) columns decode to the exact decimal,
// including the widest precision the fast path takes (30), a digit group cut by the scale, and zero.
func TestNumericDecodeExamples(t *testing.T) {
	for _, tc := range []struct {
		src   []byte
		scale int32
		want  string
	}{
		{rawNumeric(0, false, 2, 12, 3400), 2, "12.34"},
		{rawNumeric(0, true, 2, 12, 3400), 2, "-12.34"},
		{rawNumeric(-1, false, 2, 500), 2, "0.05"},
		{rawNumeric(2, false, 0, 1), 0, "100000000"},
		{rawNumeric(0, false, 0), 3, "0.000"},
		{rawNumeric(5, false, 6, 9999, 9999, 9999, 9999, 9999, 9999, 9999, 9999), 6, "999999999999999999999999.999999"},
		{rawNumeric(5, true, 6, 9999, 9999, 9999, 9999, 9999, 9999, 9999, 9999), 6, "-999999999999999999999999.999999"},
		{rawNumeric(0, false, 30, 0, 1234, 5678, 9012, 3456, 7890, 1234, 5678, 9000), 30, "0.123456789012345678901234567890"},
	} {
		got, err := decodeNumeric(t, tc.src, tc.scale)
		require.NoError(t, err)
		require.Equal(t, tc.want, got.ToString(tc.scale), "%v", tc.src)
		require.Equal(t, viaPgx(t, tc.src, tc.scale), got)
	}
	_, err := decodeNumeric(t, []byte{0, 0, 0, 0, 0xC0, 0, 0, 0}, 2)
	require.ErrorContains(t, err, "NaN or infinity")
}

// FuzzNumericDecode: the multiplication-only decoder gives what the division form (numericDiv) and pgx's own
// decoding give, for any digits, weight, sign and scale whose value fits 38 digits — including digits finer
// than the scale, which PostgreSQL never sends for a numeric(p, s) column (they are cut toward zero).
func FuzzNumericDecode(f *testing.F) {
	f.Add([]byte{0, 12, 13, 40}, int8(0), false, uint8(2))
	f.Add([]byte{39, 15, 39, 15, 39, 15}, int8(4), true, uint8(6))
	f.Add([]byte{1, 244}, int8(-1), false, uint8(2))
	f.Add([]byte{4, 210, 22, 46, 35, 40, 13, 128}, int8(-2), true, uint8(3))
	f.Add([]byte{0, 7}, int8(-3), false, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, weight int8, neg bool, scale uint8) {
		digits := make([]uint16, 0, len(raw)/2)
		for i := 0; i+1 < len(raw) && len(digits) < 9; i += 2 {
			digits = append(digits, binary.BigEndian.Uint16(raw[i:])%10000)
		}
		s := int32(scale % 31)
		// Keep every intermediate of the division form within 38 digits: the integer part, the digits and
		// the rescaled value.
		if w := int(weight); 4*(w+1)+int(s) > 37 || 4*len(digits) > 36 || 4*(w+1) > 36 || w < -12 {
			return
		}
		src := rawNumeric(int16(weight), neg, uint16(s), digits...)
		got, err := decodeNumeric(t, src, s)
		require.NoError(t, err)
		want, err := numericDiv(src, len(digits), int(weight), binary.BigEndian.Uint16(src[4:]), s)
		require.NoError(t, err)
		require.Equal(t, want, got, "digits %v weight %d scale %d", digits, weight, s)
		require.Equal(t, viaPgx(t, src, s), got, "digits %v weight %d scale %d", digits, weight, s)
	})
}

// BenchmarkNumericDecode: one numeric(12,2) value through the COPY decoder (mul) and through the division form
// it replaced (div).
func BenchmarkNumericDecode(b *testing.B) {
	src := rawNumeric(1, false, 2, 12, 3456, 7800)
	for name, decode := range map[string]func(*array.Decimal128Builder) error{
		"mul": func(bld *array.Decimal128Builder) error { return appendNumeric(bld, src, 2) },
		"div": func(bld *array.Decimal128Builder) error { return appendNumericDiv(bld, src, 3, 1, 0, 2) },
	} {
		b.Run(name, func(b *testing.B) {
			bld := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 12, Scale: 2})
			defer bld.Release()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if i%65536 == 0 {
					bld.NewArray().Release()
				}
				if err := decode(bld); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// textViaPgx is the query path's text for a numeric without a declared precision.
func textViaPgx(t testing.TB, src []byte) string {
	t.Helper()
	m := pgtype.NewMap()
	typ, _ := m.TypeForOID(pgtype.NumericOID)
	n, err := typ.Codec.DecodeValue(m, pgtype.NumericOID, pgtype.BinaryFormatCode, src)
	require.NoError(t, err)
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	require.NoError(t, addNumericText(b, n))
	a := b.NewStringArray()
	defer a.Release()
	return a.Value(0)
}

// FuzzNumericText: the COPY path's numeric text, rendered from the binary digits, is the text the query path
// stores through pgx for any digits, weight, sign and display scale (NaN and infinities included).
func FuzzNumericText(f *testing.F) {
	f.Add([]byte{0, 12, 13, 40}, int16(0), uint16(0), int16(2))
	f.Add([]byte{0, 0}, int16(0), uint16(0x4000), int16(3))
	f.Add([]byte{0, 5}, int16(3), uint16(0x4000), int16(0))
	f.Add([]byte{1, 244, 0, 0}, int16(-2), uint16(0), int16(9))
	f.Add([]byte{}, int16(0), uint16(0xD000), int16(0))
	f.Add([]byte{}, int16(0), uint16(0xC000), int16(0))
	f.Add([]byte{39, 15, 0, 100, 0, 0}, int16(1), uint16(0), int16(1))
	f.Fuzz(func(t *testing.T, raw []byte, weight int16, sign uint16, dscale int16) {
		digits := make([]uint16, 0, len(raw)/2)
		for i := 0; i+1 < len(raw) && len(digits) < 12; i += 2 {
			digits = append(digits, binary.BigEndian.Uint16(raw[i:])%10000)
		}
		weight %= 40
		dscale %= 60
		switch sign {
		case 0xC000, 0xD000, 0xF000:
			digits = nil
		default:
			sign &= 0x4000
		}
		src := rawNumeric(weight, sign != 0, uint16(dscale), digits...)
		binary.BigEndian.PutUint16(src[4:], sign)
		got, _, ok := appendNumericText(nil, nil, src)
		require.True(t, ok)
		require.Equal(t, textViaPgx(t, src), string(got), "digits %v weight %d sign %x dscale %d", digits, weight, sign, dscale)
	})
}
