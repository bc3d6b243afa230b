//go:build duckdb_arrow

package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQueryShortComputedStrings: strings DuckDB keeps inline (12 bytes or less) come back intact when computed.
func TestQueryShortComputedStrings(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	got := query(t, e, "SELECT 'id' || ':' || 'BIGINT' AS s UNION ALL SELECT 'v:VARCHAR' ORDER BY s")
	require.Equal(t, [][]string{{"id:BIGINT"}, {"v:VARCHAR"}}, got)
}

func TestQueryShortComputedStringsDescribe(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	got := query(t, e, "SELECT column_name || ':' || column_type AS s FROM (DESCRIBE SELECT 1::BIGINT AS id, 'x'::VARCHAR AS v) ORDER BY s")
	require.Equal(t, [][]string{{"id:BIGINT"}, {"v:VARCHAR"}}, got)
	got = query(t, e, "SELECT s FROM (VALUES ('id' || ':' || 'BIGINT'), ('v:VARCHAR')) t(s)")
	require.Equal(t, [][]string{{"id:BIGINT"}, {"v:VARCHAR"}}, got)
}
