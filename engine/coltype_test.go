//go:build duckdb_arrow

package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestColumnHints: the DuckDB types the Arrow export turns into strings are named per column.
func TestColumnHints(t *testing.T) {
	e := newEngine(t, Options{Threads: 1})
	res, err := e.Query(context.Background(), `SELECT uuid() AS u, '{"a": 1}'::JSON AS j, [uuid()] AS us,
		[['{}'::JSON]] AS js, 'x' AS s, 1 AS i`, nil)
	require.NoError(t, err)
	defer func() { _ = res.Close() }()
	require.Equal(t, []string{HintUUID, HintJSON, "uuid[]", "json[][]", "", ""}, res.ColumnHints())
	require.Equal(t, "utf8", res.Schema().Field(0).Type.String(), "still a plain string for every Arrow client")
}

// TestParamTypes: the types DuckDB infers for $n from their use; "" where it cannot tell (DuckDB then leaves
// the others of the statement open too).
func TestParamTypes(t *testing.T) {
	e := newEngine(t, Options{Threads: 1})
	for sql, want := range map[string][]string{
		"SELECT * FROM range(10) t(i) WHERE i = $1 AND $2 = 'x'": {"BIGINT", "VARCHAR"},
		"SELECT $1::DATE + 1, $2::UUID, $3::DECIMAL(10,2)":       {"DATE", "UUID", "DECIMAL"},
		"SELECT $1":                         {""},
		"SELECT $1::DATE, $2 + 1.5::DOUBLE": {"DATE", ""},
	} {
		got, err := e.ParamTypes(context.Background(), sql, nil)
		require.NoError(t, err, sql)
		require.Equal(t, want, got, sql)
	}
	_, err := e.ParamTypes(context.Background(), "SELECT * FROM nowhere WHERE id = $1", nil)
	require.ErrorIs(t, err, ErrInvalid)
}
