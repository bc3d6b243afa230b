package sqlwire

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/strata-data/strata/engine"
)

// PostgreSQL type OIDs (pg_type.oid), as clients hard-code them.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidNumeric     = 1700
	oidUUID        = 2950
	oidOID         = 26
	oidOIDArray    = 1028
	oidTimeTZ      = 1266
)

// arrayOIDs maps an element type OID to its array type OID (pg_type.typarray).
var arrayOIDs = map[uint32]uint32{
	oidBool: 1000, oidBytea: 1001, oidInt2: 1005, oidInt4: 1007, oidText: 1009, oidVarchar: 1015,
	oidInt8: 1016, oidFloat4: 1021, oidFloat8: 1022, oidTimestamp: 1115, oidDate: 1182, oidTime: 1183,
	oidTimestamptz: 1185, oidInterval: 1187, oidNumeric: 1231, oidUUID: 2951, oidJSON: 199, oidOID: oidOIDArray,
	oidTimeTZ: 1270,
}

// pgType is the PostgreSQL type a result column is described as.
type pgType struct {
	OID    uint32
	Size   int16 // pg_type.typlen; -1 for variable length
	Typmod int32 // -1 when none; numeric(p,s) is ((p << 16) | s) + 4
}

// colOpts is what encoding a column needs besides its Arrow data: the engine's hint for types the Arrow
// form hides (engine.HintUUID, engine.HintJSON, "[]" per list level) and the session's time zone.
type colOpts struct {
	hint string
	loc  *time.Location // timestamptz is printed in it; nil = UTC
}

// elem returns the options of a list's elements.
func (o colOpts) elem() colOpts {
	o.hint = strings.TrimSuffix(o.hint, "[]")
	return o
}

// typeOf maps an Arrow type (as DuckDB produces it) to the PostgreSQL type clients expect. The mapping of
// types PostgreSQL lacks: structs and maps are json (a struct as an object, a
// map as a list of {"key","value"} objects), HUGEINT and UBIGINT numeric, unions and enums text (README.md,
// "SQL from psql, notebooks and BI tools").
func typeOf(t arrow.DataType, hint string) pgType {
	switch hint {
	case engine.HintUUID:
		return pgType{oidUUID, 16, -1}
	case engine.HintJSON:
		return pgType{oidJSON, -1, -1}
	case hintOID:
		return pgType{oidOID, 4, -1}
	case hintTimeTZ:
		return pgType{oidTimeTZ, 12, -1}
	}
	switch t := t.(type) {
	case *arrow.BooleanType:
		return pgType{oidBool, 1, -1}
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Uint8Type:
		return pgType{oidInt2, 2, -1}
	case *arrow.Int32Type, *arrow.Uint16Type:
		return pgType{oidInt4, 4, -1}
	case *arrow.Int64Type, *arrow.Uint32Type:
		return pgType{oidInt8, 8, -1}
	case *arrow.Uint64Type:
		return pgType{oidNumeric, -1, -1}
	case *arrow.Float16Type, *arrow.Float32Type:
		return pgType{oidFloat4, 4, -1}
	case *arrow.Float64Type:
		return pgType{oidFloat8, 8, -1}
	case *arrow.Decimal128Type:
		return pgType{oidNumeric, -1, (t.Precision<<16 | t.Scale) + 4}
	case *arrow.Decimal256Type:
		return pgType{oidNumeric, -1, (t.Precision<<16 | t.Scale) + 4}
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return pgType{oidText, -1, -1}
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return pgType{oidBytea, -1, -1}
	case *arrow.Date32Type, *arrow.Date64Type:
		return pgType{oidDate, 4, -1}
	case *arrow.Time32Type, *arrow.Time64Type:
		return pgType{oidTime, 8, -1}
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return pgType{oidTimestamptz, 8, -1}
		}
		return pgType{oidTimestamp, 8, -1}
	case *arrow.MonthDayNanoIntervalType, *arrow.DayTimeIntervalType, *arrow.MonthIntervalType, *arrow.DurationType:
		return pgType{oidInterval, 16, -1}
	case arrow.ExtensionType:
		switch t.ExtensionName() {
		case "arrow.uuid":
			return pgType{oidUUID, 16, -1}
		case "arrow.json":
			return pgType{oidJSON, -1, -1}
		}
		return typeOf(t.StorageType(), hint)
	case *arrow.StructType, *arrow.MapType:
		return pgType{oidJSON, -1, -1}
	case *arrow.ListType:
		return listType(t.Elem(), hint)
	case *arrow.LargeListType:
		return listType(t.Elem(), hint)
	case *arrow.FixedSizeListType:
		return listType(t.Elem(), hint)
	}
	return pgType{oidText, -1, -1}
}

func listType(elem arrow.DataType, hint string) pgType {
	if a, ok := arrayOIDs[typeOf(elem, strings.TrimSuffix(hint, "[]")).OID]; ok {
		return pgType{a, -1, -1}
	}
	return pgType{oidText, -1, -1}
}
