//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestTimeTZKeepsOffset: DuckDB's Arrow output drops a timetz's offset; the wire sends the time with its
// offset as PostgreSQL does, in text and in binary (8 bytes of microseconds, then seconds west of UTC).
func TestTimeTZKeepsOffset(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	const q = "SELECT TIMETZ '12:00:00.5+05:30' AS a, TIMETZ '12:00:00-03' AS b, TIME '01:02:03' AS c, NULL::TIMETZ AS d"
	res := c.PgConn().ExecParams(ctx, q, nil, nil, nil, []int16{0}).Read()
	require.NoError(t, res.Err)
	require.Equal(t, []uint32{1266, 1266, 1083, 1266}, oidsOf(res.FieldDescriptions))
	require.Equal(t, [][]byte{[]byte("12:00:00.5+05:30"), []byte("12:00:00-03"), []byte("01:02:03"), nil}, res.Rows[0])

	res = c.PgConn().ExecParams(ctx, q, nil, nil, nil, []int16{1}).Read()
	require.NoError(t, res.Err)
	require.Equal(t, []byte{0, 0, 0, 0x0a, 0x0e, 0xf3, 0x51, 0x20, 0xff, 0xff, 0xb2, 0xa8}, res.Rows[0][0]) // 43200.5 s, -19800
	require.Equal(t, []byte{0, 0, 0, 0x0a, 0x0e, 0xeb, 0xb0, 0x00, 0x00, 0x00, 0x2a, 0x30}, res.Rows[0][1]) // 43200 s, +10800
	require.Nil(t, res.Rows[0][3])

	// a binary timetz parameter (what asyncpg sends) and a text one
	bin := []byte{0, 0, 0, 0x08, 0x61, 0xc4, 0x68, 0x00, 0xff, 0xff, 0xe3, 0xe0} // 10:00, +02:00
	res = c.PgConn().ExecParams(ctx, "SELECT $1::TIMETZ", [][]byte{bin}, []uint32{1266}, []int16{1}, []int16{0}).Read()
	require.NoError(t, res.Err)
	require.Equal(t, "10:00:00+02", string(res.Rows[0][0]))
}

// TestArrayParameters: PostgreSQL array parameters ({1,NULL,3}, quoted text elements, oid[]) become DuckDB
// lists of typed values.
func TestArrayParameters(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	cases := []struct {
		sql, param, want string
	}{
		{"SELECT $1::int4[]", "{1,NULL,3}", "{1,NULL,3}"},
		{"SELECT $1::text[]", `{"a b",NULL,"x\"y","",zoë}`, `{"a b",NULL,"x\"y","",zoë}`},
		{"SELECT len($1::oid[])", "{23,1007}", "2"},
		{"SELECT $1::float8[]", "{}", "{}"},
	}
	for _, tc := range cases {
		res := c.PgConn().ExecParams(ctx, tc.sql, [][]byte{[]byte(tc.param)}, nil, nil, nil).Read()
		require.NoError(t, res.Err, tc.sql)
		require.Equal(t, tc.want, string(res.Rows[0][0]), tc.sql)
	}
}

func oidsOf(fields []pgconn.FieldDescription) []uint32 {
	out := make([]uint32, len(fields))
	for i, f := range fields {
		out[i] = f.DataTypeOID
	}
	return out
}

// TestTimeTZListsKeepOffset: lists of timetz are timetz[] whose elements keep their offsets, in text and binary
// (a list of lists is text, as for every type, with the offsets).
func TestTimeTZListsKeepOffset(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	const q = "SELECT [TIMETZ '12:00:00.5+05:30', NULL, TIMETZ '12:00:00-03'] AS a, CAST(NULL AS TIMETZ[]) AS b, " +
		"[TIME '01:02:03'] AS c, CAST([] AS TIMETZ[]) AS d, [[TIMETZ '01:00:00+01']] AS e"
	res := c.PgConn().ExecParams(ctx, q, nil, nil, nil, []int16{0}).Read()
	require.NoError(t, res.Err)
	require.Equal(t, []uint32{1270, 1270, 1183, 1270, 25}, oidsOf(res.FieldDescriptions))
	require.Equal(t, [][]byte{[]byte("{12:00:00.5+05:30,NULL,12:00:00-03}"), nil, []byte("{01:02:03}"), []byte("{}"),
		[]byte("{{01:00:00+01}}")}, res.Rows[0])

	res = c.PgConn().ExecParams(ctx, "SELECT [TIMETZ '12:00:00.5+05:30', NULL, TIMETZ '12:00:00-03'] AS a", nil, nil, nil, []int16{1}).Read()
	require.NoError(t, res.Err)
	want := []byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x04, 0xf2, 0, 0, 0, 3, 0, 0, 0, 1, // 1 dimension, has NULLs, timetz, 3 from 1
		0, 0, 0, 12, 0, 0, 0, 0x0a, 0x0e, 0xf3, 0x51, 0x20, 0xff, 0xff, 0xb2, 0xa8, // 43200.5 s, -19800
		0xff, 0xff, 0xff, 0xff, // NULL
		0, 0, 0, 12, 0, 0, 0, 0x0a, 0x0e, 0xeb, 0xb0, 0x00, 0x00, 0x00, 0x2a, 0x30} // 43200 s, +10800
	require.Equal(t, want, res.Rows[0][0])
}
