package postgres

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strata-data/strata/errs"
)

// converter appends one column's Go values (as pgx decodes them) to an Arrow builder. A raw converter gets the
// value's wire bytes instead ([]byte, nil for NULL): json and jsonb keep their exact text.
type converter struct {
	typ arrow.DataType
	add func(b array.Builder, v any) error
	raw bool
	// array marks a one-dimensional array type: the wire value is checked to have one dimension (pgx decodes
	// a multi-dimensional array as a flat list).
	array bool
}

var (
	tsUTC   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsNaive = &arrow.TimestampType{Unit: arrow.Microsecond}
)

// converterFor maps a result column's PostgreSQL type to an Arrow type. numeric(p, s) becomes decimal(p, s);
// numeric without a declared precision becomes its exact text (a string), never a rounded float.
func converterFor(f pgconn.FieldDescription) (converter, error) {
	switch f.DataTypeOID {
	case pgtype.Int2OID, pgtype.Int4OID:
		return converter{typ: arrow.PrimitiveTypes.Int32, add: addInt32}, nil
	case pgtype.Int8OID:
		return converter{typ: arrow.PrimitiveTypes.Int64, add: appendAs[int64, *array.Int64Builder]}, nil
	case pgtype.Float4OID:
		return converter{typ: arrow.PrimitiveTypes.Float32, add: appendAs[float32, *array.Float32Builder]}, nil
	case pgtype.Float8OID:
		return converter{typ: arrow.PrimitiveTypes.Float64, add: appendAs[float64, *array.Float64Builder]}, nil
	case pgtype.BoolOID:
		return converter{typ: arrow.FixedWidthTypes.Boolean, add: appendAs[bool, *array.BooleanBuilder]}, nil
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return converter{typ: arrow.BinaryTypes.String, add: appendAs[string, *array.StringBuilder]}, nil
	case pgtype.DateOID:
		return converter{typ: arrow.FixedWidthTypes.Date32, add: addDate}, nil
	case pgtype.TimestamptzOID:
		return converter{typ: tsUTC, add: addTimestamp}, nil
	case pgtype.TimestampOID:
		return converter{typ: tsNaive, add: addTimestamp}, nil
	case pgtype.ByteaOID:
		return converter{typ: arrow.BinaryTypes.Binary, add: appendAs[[]byte, *array.BinaryBuilder]}, nil
	case pgtype.TimeOID:
		return converter{typ: arrow.FixedWidthTypes.Time64us, add: addTime}, nil
	case pgtype.IntervalOID:
		return converter{typ: arrow.BinaryTypes.String, add: addInterval}, nil
	case pgtype.UUIDOID:
		return converter{typ: arrow.BinaryTypes.String, add: addUUID}, nil
	case pgtype.JSONOID:
		return converter{typ: arrow.BinaryTypes.String, add: addJSON(false), raw: true}, nil
	case pgtype.JSONBOID:
		return converter{typ: arrow.BinaryTypes.String, add: addJSON(true), raw: true}, nil
	case pgtype.NumericOID:
		if f.TypeModifier < 4 {
			return converter{typ: arrow.BinaryTypes.String, add: addNumericText}, nil
		}
		p, s := int32((f.TypeModifier-4)>>16&0xffff), int32((f.TypeModifier-4)&0xffff)
		if p > 38 {
			return converter{typ: arrow.BinaryTypes.String, add: addNumericText}, nil
		}
		t := &arrow.Decimal128Type{Precision: p, Scale: s}
		return converter{typ: t, add: func(b array.Builder, v any) error { return addDecimal(b, v, s) }}, nil
	}
	if elem, ok := arrayElems[f.DataTypeOID]; ok {
		ec, err := converterFor(pgconn.FieldDescription{Name: f.Name, DataTypeOID: elem, TypeModifier: -1})
		if err == nil && !ec.raw {
			return converter{typ: arrow.ListOf(ec.typ), add: addList(ec), array: true}, nil
		}
	}
	return converter{}, errs.E(errs.Unsupported, "column %q has a PostgreSQL type (OID %d) the postgres source cannot map yet: cast it in the query, e.g. %s::text",
		f.Name, f.DataTypeOID, f.Name)
}

// arrayElems maps the one-dimensional array types the source reads to their element types.
var arrayElems = map[uint32]uint32{
	pgtype.Int2ArrayOID: pgtype.Int2OID, pgtype.Int4ArrayOID: pgtype.Int4OID, pgtype.Int8ArrayOID: pgtype.Int8OID,
	pgtype.Float4ArrayOID: pgtype.Float4OID, pgtype.Float8ArrayOID: pgtype.Float8OID, pgtype.BoolArrayOID: pgtype.BoolOID,
	pgtype.TextArrayOID: pgtype.TextOID, pgtype.VarcharArrayOID: pgtype.VarcharOID, pgtype.BPCharArrayOID: pgtype.BPCharOID,
	pgtype.DateArrayOID: pgtype.DateOID, pgtype.TimestampArrayOID: pgtype.TimestampOID,
	pgtype.TimestamptzArrayOID: pgtype.TimestamptzOID, pgtype.UUIDArrayOID: pgtype.UUIDOID,
	pgtype.NumericArrayOID: pgtype.NumericOID, pgtype.ByteaArrayOID: pgtype.ByteaOID,
	pgtype.TimeArrayOID: pgtype.TimeOID, pgtype.IntervalArrayOID: pgtype.IntervalOID,
}

// multiDimensional reports whether an array's wire value (binary: ndim first; text: nested braces) has more
// than one dimension.
func multiDimensional(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '{' {
		return len(raw) > 1 && raw[1] == '{'
	}
	return len(raw) >= 4 && binary.BigEndian.Uint32(raw) > 1
}

// addList appends a one-dimensional array (pgx decodes it as []any); a multi-dimensional one is refused.
func addList(elem converter) func(b array.Builder, v any) error {
	return func(b array.Builder, v any) error {
		if v == nil {
			b.AppendNull()
			return nil
		}
		xs, ok := v.([]any)
		if !ok {
			return fmt.Errorf("unexpected %T", v)
		}
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		for _, x := range xs {
			if _, nested := x.([]any); nested {
				return fmt.Errorf("a multi-dimensional array cannot be stored: unnest it or cast it to text in the query")
			}
			if err := elem.add(lb.ValueBuilder(), x); err != nil {
				return err
			}
		}
		return nil
	}
}

// addValid appends v, which pgx decodes as T (or nil for NULL), through add; valid says whether a T holds a
// value (pgtype's Valid false is NULL too).
func addValid[T any](b array.Builder, v any, valid func(T) bool, add func(T) error) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	x, ok := v.(T)
	if !ok {
		return fmt.Errorf("unexpected %T", v)
	}
	if valid != nil && !valid(x) {
		b.AppendNull()
		return nil
	}
	return add(x)
}

func addTime(b array.Builder, v any) error {
	return addValid(b, v, func(t pgtype.Time) bool { return t.Valid }, func(t pgtype.Time) error {
		b.(*array.Time64Builder).Append(arrow.Time64(t.Microseconds))
		return nil
	})
}

// addInterval stores an interval as PostgreSQL reads it back exactly: "<months> mons <days> days
// [-]HH:MM:SS.ffffff" (an interval has no lake type; months and days do not convert to a fixed duration).
func addInterval(b array.Builder, v any) error {
	return addValid(b, v, func(iv pgtype.Interval) bool { return iv.Valid }, func(iv pgtype.Interval) error {
		b.(*array.StringBuilder).Append(IntervalText(iv.Months, iv.Days, iv.Microseconds))
		return nil
	})
}

// IntervalText renders an interval in a form PostgreSQL parses back to the same months, days and microseconds.
func IntervalText(months, days int32, micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	h, rest := micros/3_600_000_000, micros%3_600_000_000
	m, rest := rest/60_000_000, rest%60_000_000
	sec, frac := rest/1_000_000, rest%1_000_000
	return fmt.Sprintf("%d mons %d days %s%02d:%02d:%02d.%06d", months, days, sign, h, m, sec, frac)
}

// addUUID stores a uuid as its canonical text (the lake has no uuid type that every reader maps).
func addUUID(b array.Builder, v any) error {
	return addValid(b, v, nil, func(u [16]byte) error {
		b.(*array.StringBuilder).Append(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
		return nil
	})
}

// addJSON stores json and jsonb as their text; jsonb's binary form is a version byte (1) and the text.
func addJSON(jsonb bool) func(b array.Builder, v any) error {
	return func(b array.Builder, v any) error {
		raw, _ := v.([]byte)
		if raw == nil {
			b.AppendNull()
			return nil
		}
		if jsonb && len(raw) > 0 && raw[0] == 1 {
			raw = raw[1:]
		}
		b.(*array.StringBuilder).Append(string(raw))
		return nil
	}
}

// appendAs appends v, which pgx decodes as T (or nil for NULL), to a builder of type B.
func appendAs[T any, B interface{ Append(T) }](b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	x, ok := v.(T)
	if !ok {
		return fmt.Errorf("unexpected %T", v)
	}
	b.(B).Append(x)
	return nil
}

func addInt32(b array.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.AppendNull()
	case int16:
		b.(*array.Int32Builder).Append(int32(x))
	case int32:
		b.(*array.Int32Builder).Append(x)
	default:
		return fmt.Errorf("unexpected %T", v)
	}
	return nil
}

func addDate(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	x, ok := v.(time.Time)
	if !ok {
		return fmt.Errorf("a date that is not finite (%v) cannot be stored: filter it out or cast it in the query", v)
	}
	b.(*array.Date32Builder).Append(arrow.Date32FromTime(x))
	return nil
}

func addTimestamp(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	x, ok := v.(time.Time)
	if !ok {
		return fmt.Errorf("a timestamp that is not finite (%v) cannot be stored: filter it out or cast it in the query", v)
	}
	b.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
	return nil
}

func addNumericText(b array.Builder, v any) error {
	return addValid(b, v, func(n pgtype.Numeric) bool { return n.Valid }, func(n pgtype.Numeric) error {
		txt, err := n.MarshalJSON()
		if err != nil {
			return err
		}
		b.(*array.StringBuilder).Append(string(txt))
		return nil
	})
}

// addDecimal rescales a numeric to the column's scale exactly (PostgreSQL already rounded it to that scale).
func addDecimal(b array.Builder, v any, scale int32) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	n, ok := v.(pgtype.Numeric)
	if !ok {
		return fmt.Errorf("unexpected %T", v)
	}
	if !n.Valid {
		b.AppendNull()
		return nil
	}
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("NaN or infinity cannot be stored in a decimal column: filter it out in the query")
	}
	i := new(big.Int).Set(n.Int)
	shift := int64(n.Exp) + int64(scale)
	ten := big.NewInt(10)
	if shift >= 0 {
		i.Mul(i, new(big.Int).Exp(ten, big.NewInt(shift), nil))
	} else {
		i.Quo(i, new(big.Int).Exp(ten, big.NewInt(-shift), nil))
	}
	b.(*array.Decimal128Builder).Append(decimal128.FromBigInt(i))
	return nil
}
