//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestDeclareFetchClose: SQL cursors stream forward in FETCH-sized steps, MOVE skips, CLOSE frees, and
// only WITH HOLD cursors outlive their transaction.
func TestDeclareFetchClose(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	run := func(sql string) []*pgconn.Result {
		t.Helper()
		res, err := simple(t, c, sql)
		require.NoError(t, err, sql)
		return res
	}
	col := func(r *pgconn.Result) string {
		var out []string
		for _, row := range r.Rows {
			out = append(out, string(row[0]))
		}
		return strings.Join(out, ",")
	}
	run("BEGIN")
	res := run(`DECLARE "Big" NO SCROLL CURSOR WITHOUT HOLD FOR SELECT i FROM range(10) t(i) ORDER BY i`)
	require.Equal(t, "DECLARE CURSOR", res[0].CommandTag.String())
	res = run(`FETCH FORWARD 3 FROM "Big"`)
	require.Equal(t, "0,1,2", col(res[0]))
	require.Equal(t, "FETCH 3", res[0].CommandTag.String())
	require.Equal(t, uint32(20), res[0].FieldDescriptions[0].DataTypeOID)
	res = run(`MOVE 2 IN "Big"`)
	require.Equal(t, "MOVE 2", res[0].CommandTag.String())
	res = run(`FETCH "Big"`)
	require.Equal(t, "5", col(res[0]), "FETCH without a count is one row")
	res = run(`FETCH ALL FROM "Big"`)
	require.Equal(t, "6,7,8,9", col(res[0]))
	res = run(`FETCH 5 FROM "Big"`)
	require.Equal(t, "FETCH 0", res[0].CommandTag.String())
	require.Empty(t, res[0].Rows)
	run("DECLARE held CURSOR WITH HOLD FOR SELECT id FROM raw.people ORDER BY id")
	run("DECLARE gone CURSOR FOR SELECT 1")
	run("COMMIT")

	res = run("FETCH 2 FROM held")
	require.Equal(t, "1,2", col(res[0]), "WITH HOLD survives COMMIT")
	for sql, state := range map[string]string{
		`FETCH 1 FROM "Big"`:                                    "34000", // closed at COMMIT
		"FETCH 1 FROM gone":                                     "34000",
		"FETCH BACKWARD 1 FROM held":                            "55000",
		"FETCH ABSOLUTE 1 FROM held":                            "55000",
		"DECLARE x CURSOR FOR SELECT 1":                         "25P01", // outside a transaction without HOLD
		"DECLARE x SCROLL CURSOR WITH HOLD FOR SELECT 1":        "0A000",
		"DECLARE held CURSOR WITH HOLD FOR SELECT 1":            "42P03",
		"DECLARE y CURSOR WITH HOLD FOR SELECT * FROM raw.nope": "42P01",
	} {
		_, err := simple(t, c, sql)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
		require.Equal(t, state, pe.Code, "%s: %s", sql, pe.Message)
	}
	res = run("CLOSE held")
	require.Equal(t, "CLOSE CURSOR", res[0].CommandTag.String())
	_, err := simple(t, c, "FETCH 1 FROM held")
	require.Error(t, err)
	run("DECLARE a CURSOR WITH HOLD FOR SELECT 1; DECLARE b CURSOR WITH HOLD FOR SELECT 2")
	res = run("CLOSE ALL")
	require.Equal(t, "CLOSE CURSOR ALL", res[0].CommandTag.String())
	_, err = simple(t, c, "FETCH 1 FROM b")
	require.Error(t, err)
}

// TestDeclareStreams: a cursor over a result of a terabyte answers its FETCHes: nothing reads the whole
// result.
func TestDeclareStreams(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	_, err := simple(t, c, "DECLARE huge CURSOR WITH HOLD FOR SELECT i, repeat('x', 1000) FROM range(1000000000) t(i)")
	require.NoError(t, err)
	res, err := simple(t, c, "FETCH 1000 FROM huge; FETCH 1000 FROM huge") // a terabyte: never materialised
	require.NoError(t, err)
	require.Len(t, res[1].Rows, 1000)
	require.Equal(t, "1999", string(res[1].Rows[999][0]))
	_, err = simple(t, c, "CLOSE huge")
	require.NoError(t, err)
}

// TestDeclaredCursorIsAPortal: psycopg 3 describes a declared cursor as a portal and fetches it with the
// extended protocol, in binary.
func TestDeclaredCursorIsAPortal(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	pc := c.PgConn()
	_, err := simple(t, c, "DECLARE pc BINARY CURSOR WITH HOLD FOR SELECT id, name FROM raw.people ORDER BY id")
	require.NoError(t, err)
	sd, err := pc.Prepare(ctx, "", "FETCH FORWARD 2 FROM pc", nil)
	require.NoError(t, err)
	require.Len(t, sd.Fields, 2)
	require.Equal(t, uint32(20), sd.Fields[0].DataTypeOID)
	rr := pc.ExecPrepared(ctx, "", nil, nil, []int16{1}).Read()
	require.NoError(t, rr.Err)
	require.Len(t, rr.Rows, 2)
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 2}, rr.Rows[1][0], "BINARY cursor rows are binary")
	require.Equal(t, "Zoë ✓ 2", string(rr.Rows[1][1]))
	require.Equal(t, "FETCH 2", rr.CommandTag.String())
}

// TestDeclareWithParameters: a DECLARE sent with the extended protocol binds its query's parameters.
func TestDeclareWithParameters(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeExec)
	_, err := c.Exec(ctx, "DECLARE p CURSOR WITH HOLD FOR SELECT id FROM raw.people WHERE id >= $1 ORDER BY id", int64(2))
	require.NoError(t, err)
	rows, err := c.Query(ctx, "FETCH ALL FROM p")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{2, 3}, ids)
}
