package engine

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// lakeType maps the Arrow type DuckDB produces for a column to the DuckDB type whose Arrow form iceberg-go
// can store, and reports whether a cast is needed. The mapping (ReadFile's output types):
//
//	int8/16/32/64, float32/64, bool, utf8, binary, date32, decimal128, time64[us]   kept
//	timestamp[us] kept; timestamp[s|ms|ns] → timestamp[us] (nanoseconds are truncated); time zone always UTC
//	uint8 → int16, uint16 → int32, uint32 → int64, uint64 → decimal128(38, 0) (DuckDB's HUGEINT)
//	dictionary (DuckDB ENUM) → utf8 · null → utf8 · time32/time64[ns] → time64[us]
//	fixed_size_list (DuckDB ARRAY) → list · list, struct, map: their children mapped the same way
//
// Other types (intervals, unions, ...) have no lake type: the error says to give the column a type.
//
// This is the engine → lake direction as Arrow (what ReadFile and Query hand over); DuckDBToIceberg names the
// same results in the lake's vocabulary, and a test checks the two agree.
func lakeType(t arrow.DataType) (duck string, cast bool, err error) {
	switch t := t.(type) {
	case *arrow.Int8Type:
		return "TINYINT", false, nil
	case *arrow.Int16Type:
		return "SMALLINT", false, nil
	case *arrow.Int32Type:
		return "INTEGER", false, nil
	case *arrow.Int64Type:
		return "BIGINT", false, nil
	case *arrow.Uint8Type:
		return "SMALLINT", true, nil
	case *arrow.Uint16Type:
		return "INTEGER", true, nil
	case *arrow.Uint32Type:
		return "BIGINT", true, nil
	case *arrow.Uint64Type:
		return "HUGEINT", true, nil
	case *arrow.Float32Type:
		return "FLOAT", false, nil
	case *arrow.Float64Type:
		return "DOUBLE", false, nil
	case *arrow.BooleanType:
		return "BOOLEAN", false, nil
	case *arrow.StringType:
		return "VARCHAR", false, nil
	case *arrow.LargeStringType, *arrow.StringViewType, *arrow.NullType:
		return "VARCHAR", true, nil
	case *arrow.BinaryType:
		return "BLOB", false, nil
	case *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return "BLOB", true, nil
	case *arrow.Date32Type:
		return "DATE", false, nil
	case *arrow.Date64Type:
		return "DATE", true, nil
	case *arrow.Time64Type:
		return "TIME", t.Unit != arrow.Microsecond, nil
	case *arrow.Time32Type:
		return "TIME", true, nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), false, nil
	case *arrow.TimestampType:
		name := "TIMESTAMP"
		if t.TimeZone != "" {
			name = "TIMESTAMPTZ"
		}
		return name, t.Unit != arrow.Microsecond || (t.TimeZone != "" && t.TimeZone != "UTC"), nil
	case *arrow.DictionaryType:
		if _, _, err := lakeType(t.ValueType); err != nil {
			return "", false, err
		}
		return "VARCHAR", true, nil
	case *arrow.ListType:
		elem, c, err := lakeType(t.Elem())
		return elem + "[]", c, err
	case *arrow.LargeListType:
		elem, _, err := lakeType(t.Elem())
		return elem + "[]", true, err
	case *arrow.FixedSizeListType:
		elem, _, err := lakeType(t.Elem())
		return elem + "[]", true, err
	case *arrow.MapType:
		k, ck, err := lakeType(t.KeyType())
		if err != nil {
			return "", false, err
		}
		v, cv, err := lakeType(t.ItemType())
		return "MAP(" + k + ", " + v + ")", ck || cv, err
	case *arrow.StructType:
		fields := make([]string, t.NumFields())
		cast := false
		for i, f := range t.Fields() {
			ft, c, err := lakeType(f.Type)
			if err != nil {
				return "", false, fmt.Errorf("field %q: %w", f.Name, err)
			}
			fields[i], cast = sqlIdent(f.Name)+" "+ft, cast || c
		}
		return "STRUCT(" + strings.Join(fields, ", ") + ")", cast, nil
	}
	return "", false, fmt.Errorf("type %s has no lake type", t)
}

// lakeProjection returns the select list that turns a source with the given schema into lake types, or ""
// when no column needs a cast.
func lakeProjection(schema *arrow.Schema) (string, error) {
	cols := make([]string, schema.NumFields())
	anyCast := false
	for i, f := range schema.Fields() {
		typ, cast, err := lakeType(f.Type)
		if err != nil {
			return "", fmt.Errorf("column %q: %w: give the column a supported type in the columns of the import (e.g. %q): %w",
				f.Name, err, f.Name+" VARCHAR", ErrInvalid)
		}
		cols[i] = sqlIdent(f.Name)
		if cast {
			anyCast = true
			cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", sqlIdent(f.Name), typ, sqlIdent(f.Name))
		}
	}
	if !anyCast {
		return "", nil
	}
	return strings.Join(cols, ", "), nil
}
