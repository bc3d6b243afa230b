//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestDevWriteAnswersGolden: what a client sees for each dev write (command tag, or SQLSTATE and message) in
// both protocols, written to testdata/write_answers.golden: the writes' rules are shared with `strata sql`,
// and this endpoint's answers stay exactly what they were.
func TestDevWriteAnswersGolden(t *testing.T) {
	f := start(t)
	var b strings.Builder
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		for _, env := range []string{"dev", "prod"} {
			c := f.connect(t, env, mode)
			for _, sql := range writeAnswerStatements {
				fmt.Fprintf(&b, "%s %s: %s\n  -> %s\n", env, modeName(mode), sql, answer(c, mode, sql))
			}
		}
	}
	path := filepath.Join("testdata", "write_answers.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -tags duckdb_arrow ./sqlwire -run TestDevWriteAnswersGolden -update")
	require.Equal(t, string(want), b.String())
}

// writeAnswerStatements run in order: each mode starts from the state the previous one left (the last
// statements drop what the first create).
var writeAnswerStatements = []string{
	"CREATE TABLE clean.g AS SELECT id, name, score FROM raw.people WHERE id <= 2",
	"CREATE TABLE clean.g AS SELECT 1 AS id",
	"CREATE TABLE IF NOT EXISTS clean.g AS SELECT 1 AS id",
	"create table clean.g2 as select 1 as a with no data",
	"INSERT INTO clean.g SELECT id, name, score FROM raw.people WHERE id = 3",
	"INSERT INTO clean.g VALUES (10, 'x', 1.5), (11, NULL, NULL)",
	"INSERT INTO Clean.G (score, id) VALUES (2.5, 12)",
	"INSERT INTO clean.g VALUES (13, 'four', 1.0, 99)",
	"INSERT INTO clean.g VALUES (14)",
	"INSERT INTO clean.g (id) VALUES (15, 'x')",
	"/* a comment */ INSERT INTO clean.g (id) VALUES (16) -- another",
	"INSERT INTO clean.g (nope) VALUES (1)",
	"INSERT INTO clean.g (id, id) VALUES (1, 2)",
	"INSERT INTO clean.g VALUES ('not a number', 'x', 1.0)",
	"INSERT INTO clean.g DEFAULT VALUES",
	"INSERT INTO clean.g SELECT 1, 'a', 1.0 RETURNING id",
	"INSERT INTO clean.nope VALUES (1)",
	"INSERT INTO clean.g EXPLAIN ANALYZE CREATE TABLE y AS SELECT 1",
	"INSERT INTO clean.g WITH x AS (SELECT 1) DELETE FROM y",
	"CREATE TABLE clean.t AS EXPLAIN ANALYZE CREATE TABLE y AS SELECT 1",
	"CREATE TABLE clean.t AS WITH x AS (SELECT 1 AS a) INSERT INTO y SELECT * FROM x",
	"CREATE TABLE clean.t AS SELECT * FROM read_text('/etc/hostname')",
	"CREATE TABLE \"Bad Zone\".t AS SELECT 1",
	"CREATE TABLE nozone.t AS SELECT 1 AS a",
	"CREATE TABLE pg_catalog.pg_class AS SELECT 1 AS oid",
	"CREATE OR REPLACE TABLE clean.g AS SELECT 7::BIGINT AS id",
	"SELECT count(*) FROM clean.g",
	"UPDATE clean.g SET id = 0",
	"DROP TABLE clean.nope",
	"DROP TABLE IF EXISTS clean.nope",
	"DROP TABLE clean.g CASCADE",
	"DROP TABLE clean.g",
}

func modeName(m pgx.QueryExecMode) string {
	if m == pgx.QueryExecModeSimpleProtocol {
		return "simple"
	}
	return "extended"
}

// answer is the command tag of sql, or its error's SQLSTATE and message.
func answer(c *pgx.Conn, mode pgx.QueryExecMode, sql string) string {
	var tag pgconn.CommandTag
	var err error
	if mode == pgx.QueryExecModeSimpleProtocol {
		var res []*pgconn.Result
		res, err = c.PgConn().Exec(context.Background(), sql).ReadAll()
		if err == nil && len(res) > 0 {
			tag = res[len(res)-1].CommandTag
		}
	} else {
		r := c.PgConn().ExecParams(context.Background(), sql, nil, nil, nil, nil).Read()
		tag, err = r.CommandTag, r.Err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + " " + pe.Message
	}
	if err != nil {
		return "error " + err.Error()
	}
	return tag.String()
}
