package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDuckTypeOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"boolean": "BOOLEAN", "int": "INTEGER", "long": "BIGINT", "float": "FLOAT", "double": "DOUBLE",
		"decimal(38, 10)": "DECIMAL(38,10)", "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP",
		"timestamptz": "TIMESTAMPTZ", "timestamp_ns": "TIMESTAMP_NS", "timestamptz_ns": "TIMESTAMPTZ",
		"string": "VARCHAR", "uuid": "UUID", "binary": "BLOB", "fixed[16]": "BLOB",
		"list<long>":        "BIGINT[]",
		"map<string, long>": "MAP(VARCHAR, BIGINT)",
		"struct<1: a: required int, 2: b: optional list<struct<3: c: optional string>>>":    `STRUCT("a" INTEGER, "b" STRUCT("c" VARCHAR)[])`,
		"struct<1: odd: name, x: required int (doc, with (parens)), 2: y: optional double>": `STRUCT("odd: name, x" INTEGER, "y" DOUBLE)`,
		"map<string, struct<4: k: required decimal(9, 2)>>":                                 `MAP(VARCHAR, STRUCT("k" DECIMAL(9,2)))`,
		"list<list<map<int, date>>>":                                                        "MAP(INTEGER, DATE)[][]",
	} {
		got, err := duckTypeOf(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "variant", "geometry", "decimal(40, 2)", "list<long", "struct<>", "map<string>", "long extra", "struct<a: required int>"} {
		_, err := duckTypeOf(bad)
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
}
