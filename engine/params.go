//go:build duckdb_arrow

package engine

import (
	"context"

	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// ParamTypes prepares the last statement of sql with tables bound, without running it, and returns the type
// DuckDB infers for each parameter $1..$n: a DuckDB type name (BOOLEAN, SMALLINT, INTEGER, BIGINT, FLOAT,
// DOUBLE, DECIMAL, VARCHAR, BLOB, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, UUID, HUGEINT, ...), or ""
// where DuckDB leaves the type open (SELECT $1) or the type has no scalar name (lists, structs).
//
// It runs in a pooled database sealed with the same tables (see QueryOptions.Reuse) and puts it back, so the
// query a driver sends after asking for the types (Parse/Describe, then Bind/Execute) finds it ready.
func (e *Engine) ParamTypes(ctx context.Context, sql string, tables []Table) ([]string, error) {
	in, err := e.prepareReusable(ctx, tables)
	if err != nil {
		return nil, err
	}
	ps, err := in.prepareLast(ctx, sql)
	if err != nil {
		e.retire(in)
		return nil, err
	}
	n := duckdb.NParams(ps)
	out := make([]string, n)
	for i := range n {
		out[i] = paramTypeNames[duckdb.ParamType(ps, i+1)]
	}
	destroyPrepared(&ps)
	e.recycle(in)
	return out, nil
}

var paramTypeNames = map[duckdb.Type]string{
	duckdb.TypeBoolean: "BOOLEAN", duckdb.TypeTinyInt: "SMALLINT", duckdb.TypeSmallInt: "SMALLINT",
	duckdb.TypeInteger: "INTEGER", duckdb.TypeBigInt: "BIGINT", duckdb.TypeUTinyInt: "SMALLINT",
	duckdb.TypeUSmallInt: "INTEGER", duckdb.TypeUInteger: "BIGINT", duckdb.TypeUBigInt: "HUGEINT",
	duckdb.TypeHugeInt: "HUGEINT", duckdb.TypeUHugeInt: "HUGEINT", duckdb.TypeFloat: "FLOAT",
	duckdb.TypeDouble: "DOUBLE", duckdb.TypeDecimal: "DECIMAL", duckdb.TypeVarchar: "VARCHAR",
	duckdb.TypeBlob: "BLOB", duckdb.TypeDate: "DATE", duckdb.TypeTime: "TIME", duckdb.TypeTimestamp: "TIMESTAMP",
	duckdb.TypeTimestampS: "TIMESTAMP", duckdb.TypeTimestampMS: "TIMESTAMP", duckdb.TypeTimestampNS: "TIMESTAMP",
	duckdb.TypeTimestampTZ: "TIMESTAMPTZ", duckdb.TypeInterval: "INTERVAL", duckdb.TypeUUID: "UUID",
	duckdb.TypeEnum: "VARCHAR",
}
