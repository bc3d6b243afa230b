//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestFloatTextLikePostgreSQL: float8 and float4 values in text (a result, an array, COPY text and CSV) read
// exactly as a real PostgreSQL 15 prints the same values — plain digits from 1e-4 up to 1e15 for float8 (1e6 for
// float4), exponents outside, the shortest form that reads back exactly. Until 2026-12-05 a float8 of a million
// or more came out as 1.49973265e+06 where psql shows PostgreSQL's 1499732.65. One kind of value differs and is
// left out: a double whose shortest decimal lies exactly halfway to its neighbour (1e23, the double
// 99999999999999991611392) is 1e+23 here, which reads back to the same double, and 9.999999999999999e+22 in
// PostgreSQL, whose shortest-digits search does not take the halfway point.
func TestFloatTextLikePostgreSQL(t *testing.T) {
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close(ctx) })
	st := start(t).connect(t, "dev", pgx.QueryExecModeSimpleProtocol)

	doubles := []string{"0", "-0", "1", "3", "-2.5", "0.1", "0.3", "123456.5", "999999.9999", "1e6", "-1e6",
		"1499732.65", "1000000.5", "2147483648", "1e14", "99999999999999.9", "999999999999999", "1e15", "-1e15",
		"1.2345678901234568e17", "1e22", "1.7976931348623157e308", "0.0001", "0.00012", "-0.0001",
		"0.00009999", "1e-5", "5e-324", "2.2250738585072014e-308", "NaN", "Infinity", "-Infinity"}
	reals := []string{"0", "1", "0.1", "-2.5", "123456.5", "999999", "1e6", "1499732.65", "16777216", "1e14",
		"3.4028235e38", "0.0001", "1e-5", "1.5e-45", "NaN", "-Infinity"}

	text := func(c *pgx.Conn, sql string) []string {
		res := c.PgConn().ExecParams(ctx, sql, nil, nil, nil, []int16{0}).Read()
		require.NoError(t, res.Err, sql)
		var out []string
		for _, v := range res.Rows[0] {
			out = append(out, string(v))
		}
		return out
	}
	values := func(vals []string, typ string) string {
		cols := make([]string, len(vals))
		for i, v := range vals {
			cols[i] = "'" + v + "'::" + typ
		}
		return strings.Join(cols, ", ")
	}
	for _, tc := range []struct {
		name     string
		vals     []string
		pg, duck string
	}{{"float8", doubles, "float8", "DOUBLE"}, {"float4", reals, "float4", "REAL"}} {
		want := text(pg, "SELECT "+values(tc.vals, tc.pg))
		got := text(st, "SELECT "+values(tc.vals, tc.duck))
		for i := range tc.vals {
			require.Equal(t, want[i], got[i], "%s %s", tc.name, tc.vals[i])
		}
		// An array prints its elements the same way.
		want = text(pg, "SELECT ARRAY["+values(tc.vals, tc.pg)+"]")
		got = text(st, "SELECT ["+values(tc.vals, tc.duck)+"]")
		require.Equal(t, want, got, "%s[]", tc.name)
		// COPY in text and CSV.
		for _, format := range []string{"text", "csv"} {
			copyOut := func(c *pgx.Conn, sql string) string {
				var b strings.Builder
				_, err := c.PgConn().CopyTo(ctx, &b, "COPY ("+sql+") TO STDOUT (FORMAT "+format+")")
				require.NoError(t, err)
				return b.String()
			}
			require.Equal(t, copyOut(pg, "SELECT "+values(tc.vals, tc.pg)), copyOut(st, "SELECT "+values(tc.vals, tc.duck)),
				"%s COPY %s", tc.name, format)
		}
	}
}

// TestDatesLikePostgreSQL: dates and timestamps, infinite and BC ones included, reach clients with the bytes a
// real PostgreSQL 15 sends for the same values, in text and in binary, alone and in arrays. DuckDB's infinities
// are the largest value of the type and its negation; until 2026-12-05 they went out as dates in the years
// 5881580 and 294247 (and -infinity's binary timestamp wrapped around), and a date before 1 AD printed as year
// 0000 instead of 0001 BC.
func TestDatesLikePostgreSQL(t *testing.T) {
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close(ctx) })
	_, err = pg.Exec(ctx, "SET TimeZone = 'UTC'")
	require.NoError(t, err)
	st := start(t).connect(t, "dev", pgx.QueryExecModeSimpleProtocol)

	for _, c := range []struct{ pg, duck string }{
		{"'infinity'::date", "'infinity'::DATE"},
		{"'-infinity'::date", "'-infinity'::DATE"},
		{"'2026-01-02'::date", "DATE '2026-01-02'"},
		{"'0044-03-15'::date", "DATE '0044-03-15'"},
		{"'0001-12-31 BC'::date", "DATE '0001-01-01' - 1"},
		{"'0044-03-15 BC'::date", "DATE '0044-03-15 (BC)'"},
		{"'10000-01-01'::date", "DATE '9999-12-31' + 1"},
		{"'infinity'::timestamp", "'infinity'::TIMESTAMP"},
		{"'-infinity'::timestamp", "'-infinity'::TIMESTAMP"},
		{"'infinity'::timestamptz", "'infinity'::TIMESTAMPTZ"},
		{"'-infinity'::timestamptz", "'-infinity'::TIMESTAMPTZ"},
		{"'2026-01-02 03:04:05.5'::timestamp", "TIMESTAMP '2026-01-02 03:04:05.5'"},
		{"'0001-12-31 23:00:00 BC'::timestamp", "TIMESTAMP '0001-01-01 00:00:00' - INTERVAL 1 HOUR"},
		{"'2026-01-02 03:04:05+02'::timestamptz", "TIMESTAMPTZ '2026-01-02 03:04:05+02'"},
		{"ARRAY['infinity'::date, '2026-01-02', NULL, '-infinity']", "['infinity'::DATE, DATE '2026-01-02', NULL, '-infinity'::DATE]"},
		{"ARRAY['infinity'::timestamp, '2026-01-02 10:00']", "['infinity'::TIMESTAMP, TIMESTAMP '2026-01-02 10:00']"},
		{"ARRAY['-infinity'::timestamptz]", "['-infinity'::TIMESTAMPTZ]"},
	} {
		for _, format := range []int16{0, 1} {
			want := pg.PgConn().ExecParams(ctx, "SELECT "+c.pg, nil, nil, nil, []int16{format}).Read()
			require.NoError(t, want.Err, c.pg)
			got := st.PgConn().ExecParams(ctx, "SELECT "+c.duck, nil, nil, nil, []int16{format}).Read()
			require.NoError(t, got.Err, c.duck)
			require.Equal(t, want.FieldDescriptions[0].DataTypeOID, got.FieldDescriptions[0].DataTypeOID, c.pg)
			require.Equal(t, want.Rows[0][0], got.Rows[0][0], "%s (format %d): PostgreSQL %q, Strata %q", c.pg, format,
				want.Rows[0][0], got.Rows[0][0])
		}
	}
}
