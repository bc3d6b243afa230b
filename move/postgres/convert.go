package postgres

import (
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

// converter appends one column's Go values (as pgx decodes them) to an Arrow builder.
type converter struct {
	typ arrow.DataType
	add func(b array.Builder, v any) error
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
		return converter{arrow.PrimitiveTypes.Int32, addInt32}, nil
	case pgtype.Int8OID:
		return converter{arrow.PrimitiveTypes.Int64, appendAs[int64, *array.Int64Builder]}, nil
	case pgtype.Float4OID:
		return converter{arrow.PrimitiveTypes.Float32, appendAs[float32, *array.Float32Builder]}, nil
	case pgtype.Float8OID:
		return converter{arrow.PrimitiveTypes.Float64, appendAs[float64, *array.Float64Builder]}, nil
	case pgtype.BoolOID:
		return converter{arrow.FixedWidthTypes.Boolean, appendAs[bool, *array.BooleanBuilder]}, nil
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return converter{arrow.BinaryTypes.String, appendAs[string, *array.StringBuilder]}, nil
	case pgtype.DateOID:
		return converter{arrow.FixedWidthTypes.Date32, addDate}, nil
	case pgtype.TimestamptzOID:
		return converter{tsUTC, addTimestamp}, nil
	case pgtype.TimestampOID:
		return converter{tsNaive, addTimestamp}, nil
	case pgtype.ByteaOID:
		return converter{arrow.BinaryTypes.Binary, appendAs[[]byte, *array.BinaryBuilder]}, nil
	case pgtype.NumericOID:
		if f.TypeModifier < 4 {
			return converter{arrow.BinaryTypes.String, addNumericText}, nil
		}
		p, s := int32((f.TypeModifier-4)>>16&0xffff), int32((f.TypeModifier-4)&0xffff)
		if p > 38 {
			return converter{arrow.BinaryTypes.String, addNumericText}, nil
		}
		t := &arrow.Decimal128Type{Precision: p, Scale: s}
		return converter{t, func(b array.Builder, v any) error { return addDecimal(b, v, s) }}, nil
	}
	return converter{}, errs.E(errs.Unsupported, "column %q has a PostgreSQL type (OID %d) the postgres source cannot map yet: cast it in the query, e.g. %s::text",
		f.Name, f.DataTypeOID, f.Name)
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
	txt, err := n.MarshalJSON()
	if err != nil {
		return err
	}
	b.(*array.StringBuilder).Append(string(txt))
	return nil
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
