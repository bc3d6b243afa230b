//go:build duckdb_arrow

package sqlwire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHiddenWrite: the statements behind EXPLAIN and WITH are found through options, comments, literals and
// nested parentheses; reads stay allowed, including ones that call functions named like writes.
func TestHiddenWrite(t *testing.T) {
	for _, sql := range []string{
		"SELECT 1",
		"WITH x AS (SELECT 1 AS a) SELECT * FROM x",
		"WITH x AS (SELECT 'insert into t' AS a), y AS (SELECT replace(a, 'i', 'o') FROM x) SELECT * FROM y",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
		"EXPLAIN SELECT 1",
		"explain analyze select 1",
		"EXPLAIN (FORMAT json) SELECT 1",
		"EXPLAIN ANALYZE WITH x AS (SELECT 1) SELECT * FROM x",
		"EXPLAIN /* c */ FROM raw.people",
	} {
		require.NoError(t, hiddenWrite(sql), sql)
	}
	for _, sql := range []string{
		"EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
		"EXPLAIN ANALYSE COPY (SELECT 1) TO 'x'",
		"EXPLAIN (FORMAT json) INSERT INTO t SELECT 1",
		"EXPLAIN /* SELECT */ ANALYZE -- SELECT\n INSTALL httpfs",
		"EXPLAIN EXPLAIN SELECT 1",
		"EXPLAIN (ANALYZE) CREATE TABLE t AS SELECT 1",
		"EXPLAIN",
		"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
		"with x as (select 1), y as (select 2) delete from t",
		"WITH x AS (SELECT 1) UPDATE t SET a = 1",
		"WITH x AS MATERIALIZED (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DELETE",
		"WITH x AS (SELECT 1)/**/INSERT INTO t SELECT 1",
	} {
		require.ErrorIs(t, hiddenWrite(sql), ErrReadOnly, sql)
	}
}
