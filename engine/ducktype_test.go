package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDuckDBToIceberg(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"BIGINT": "long", "integer": "int", "UTINYINT": "int", "UINTEGER": "long", "UBIGINT": "decimal(38, 0)",
		"HUGEINT": "decimal(38, 0)", "DOUBLE": "double", "REAL": "float", "DECIMAL(10,2)": "decimal(10, 2)",
		"NUMERIC(7)": "decimal(7, 0)", "DECIMAL": "decimal(18, 3)", "VARCHAR": "string", "VARCHAR(20)": "string",
		"UUID": "string", "JSON": "string", "BLOB": "binary", "DATE": "date", "TIME": "time",
		"TIMESTAMP": "timestamp", "TIMESTAMP_NS": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz",
		"TIMESTAMPTZ": "timestamptz", "ENUM('a', 'b''c')": "string", "BOOLEAN": "boolean",
		"INTEGER[]":            "list<int>",
		"VARCHAR[][3]":         "list<list<string>>",
		"MAP(VARCHAR, DOUBLE)": "map<string, double>",
		`STRUCT(a INTEGER, "b c" VARCHAR[], "x""y" MAP(INTEGER, DATE))`: `struct<a: optional int, b c: optional list<string>, x"y: optional map<int, date>>`,
		"STRUCT(x JSON)[]": "list<struct<x: optional string>>",
	} {
		got, err := DuckDBToIceberg(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "INTERVAL", "UNION(a INT)", "BIGINT extra", "MAP(VARCHAR)", "STRUCT()", "DECIMAL(40,2)", "BIT", "TIMETZ"} {
		_, err := DuckDBToIceberg(bad)
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
}

// TestTypeRoundTrip: every lake type read into the engine and handed back is the same lake type.
func TestTypeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, iceberg := range []string{"boolean", "int", "long", "float", "double", "decimal(9, 2)", "date", "time",
		"timestamp", "timestamptz", "string", "binary", "list<long>", "map<string, list<double>>"} {
		duck, err := IcebergToDuckDB(iceberg)
		require.NoError(t, err, iceberg)
		back, err := DuckDBToIceberg(duck)
		require.NoError(t, err, duck)
		require.Equal(t, iceberg, back, duck)
	}
}
