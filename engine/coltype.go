//go:build duckdb_arrow

package engine

import (
	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// Column hints name the DuckDB types whose Arrow form hides them: the engine exports Arrow without
// extension types (arrow_lossless_conversion=false, so every Arrow client can read the result), which turns
// UUID and JSON into plain strings. Protocols that type their columns (the PostgreSQL wire) read the hints.
const (
	HintUUID = "uuid"
	HintJSON = "json"
	// HintTimeTZ marks a TIME WITH TIME ZONE column: its Arrow form is a plain time of day (the offset is
	// dropped), so a protocol that needs the offset asks for the column as text (CAST(... AS VARCHAR)).
	HintTimeTZ = "time with time zone"
)

// ColumnHints returns one hint per result column: HintUUID, HintJSON or HintTimeTZ for such columns, with
// "[]" appended once per list level around them ("uuid[]", "time with time zone[]"), and "" for every other
// column.
func (r *Result) ColumnHints() []string { return r.s.hints }

// columnHint is the hint of one DuckDB type (see ColumnHints).
func columnHint(t duckdb.LogicalType) string {
	if duckdb.LogicalTypeGetAlias(t) == "JSON" {
		return HintJSON
	}
	switch duckdb.GetTypeId(t) {
	case duckdb.TypeUUID:
		return HintUUID
	case duckdb.TypeTimeTZ:
		return HintTimeTZ
	case duckdb.TypeList, duckdb.TypeArray:
		var c duckdb.LogicalType
		if duckdb.GetTypeId(t) == duckdb.TypeList {
			c = duckdb.ListTypeChildType(t)
		} else {
			c = duckdb.ArrayTypeChildType(t)
		}
		defer duckdb.DestroyLogicalType(&c)
		if h := columnHint(c); h != "" {
			return h + "[]"
		}
	}
	return ""
}
