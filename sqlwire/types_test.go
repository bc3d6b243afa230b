//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// TestTypesHiddenByArrow checks the types DuckDB's Arrow export turns into strings or has no PostgreSQL
// twin for: their OIDs and text forms (the mapping documented in docs/sql.md).
func TestTypesHiddenByArrow(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	cases := []struct {
		expr string
		oid  uint32
		text string
	}{
		{"'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID", 2950, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{`'{"a": [1, null]}'::JSON`, 114, `{"a": [1, null]}`},
		{"['6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID, NULL]", 2951, "{6ba7b810-9dad-11d1-80b4-00c04fd430c8,NULL}"},
		{"{'a': 1, 'b': 'x'}", 114, `{"a":1,"b":"x"}`},
		{"MAP {'k': 1}", 114, `[{"key":"k","value":1}]`},
		{"170141183460469231731687303715884105727::HUGEINT", 1700, "170141183460469231731687303715884105727"},
		{"18446744073709551615::UBIGINT", 1700, "18446744073709551615"},
		{"'b'::ENUM('a', 'b')", 25, "b"},
		{"TIME '23:59:59.999999'", 1083, "23:59:59.999999"},
		{"INTERVAL '-1 day 02:00:00'", 1186, "-1 days +02:00:00"},
		{"[[1, 2], [3]]", 25, "{{1,2},{3}}"},
	}
	for _, tc := range cases {
		res, err := simple(t, c, "SELECT "+tc.expr+" AS v")
		require.NoError(t, err, tc.expr)
		require.Equal(t, tc.oid, res[0].FieldDescriptions[0].DataTypeOID, tc.expr)
		require.Equal(t, tc.text, string(res[0].Rows[0][0]), tc.expr)
	}
}

// TestTimestamptzInSessionTimeZone: timestamptz is printed in the client's TimeZone with PostgreSQL's
// offsets; binary values are instants, unaffected.
func TestTimestamptzInSessionTimeZone(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	const ts = "SELECT TIMESTAMPTZ '2026-07-01 12:00:00.25+00' AS v"
	for zone, want := range map[string]string{
		"UTC": "2026-07-01 12:00:00.25+00", "Europe/Berlin": "2026-07-01 14:00:00.25+02",
		"Asia/Kolkata": "2026-07-01 17:30:00.25+05:30", "America/St_Johns": "2026-07-01 09:30:00.25-02:30",
		"+03": "2026-07-01 15:00:00.25+03",
	} {
		_, err := simple(t, c, "SET TimeZone = '"+zone+"'")
		require.NoError(t, err, zone)
		require.Equal(t, zone, c.PgConn().ParameterStatus("TimeZone"), "ParameterStatus reports the change")
		res, err := simple(t, c, ts)
		require.NoError(t, err)
		require.Equal(t, want, string(res[0].Rows[0][0]), zone)
	}
	_, err := simple(t, c, "SET TIME ZONE 'Mars/Olympus'")
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "22023", pe.Code)
	_, err = simple(t, c, "SET DateStyle = 'German'")
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "22023", pe.Code)
	require.Contains(t, pe.Message, "ISO")

	bin := f.connect(t, "dev", pgx.QueryExecModeExec)
	_, err = bin.Exec(ctx, "SET TimeZone = 'Asia/Tokyo'")
	require.NoError(t, err)
	var got time.Time
	require.NoError(t, bin.QueryRow(ctx, "SELECT TIMESTAMPTZ '2026-07-01 12:00:00+00'").Scan(&got))
	require.True(t, got.Equal(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)), "%v", got)
}

// TestBinaryResults reads every type pgx asks for in binary (extended protocol, cached describe) and
// compares exact values, NULLs inside arrays included.
func TestBinaryResults(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeCacheDescribe)

	var ints []*int32
	require.NoError(t, c.QueryRow(ctx, "SELECT [1, NULL, -3]::INTEGER[]").Scan(&ints))
	require.Len(t, ints, 3)
	require.Equal(t, int32(1), *ints[0])
	require.Nil(t, ints[1])
	require.Equal(t, int32(-3), *ints[2])

	var texts []string
	require.NoError(t, c.QueryRow(ctx, "SELECT ['Zoë ✓', '', 'a,b']").Scan(&texts))
	require.Equal(t, []string{"Zoë ✓", "", "a,b"}, texts)

	var empty []int64
	require.NoError(t, c.QueryRow(ctx, "SELECT []::BIGINT[]").Scan(&empty))
	require.Empty(t, empty)

	var u pgtype.UUID
	require.NoError(t, c.QueryRow(ctx, "SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID").Scan(&u))
	require.Equal(t, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", u.String())

	var uuids []pgtype.UUID
	require.NoError(t, c.QueryRow(ctx, "SELECT ['6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID]").Scan(&uuids))
	require.Equal(t, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", uuids[0].String())

	var doc map[string]any
	require.NoError(t, c.QueryRow(ctx, `SELECT '{"a": [1, null], "b": "ü"}'::JSON`).Scan(&doc))
	require.Equal(t, map[string]any{"a": []any{1.0, nil}, "b": "ü"}, doc)

	var st map[string]any
	require.NoError(t, c.QueryRow(ctx, "SELECT {'n': 1, 's': NULL}").Scan(&st))
	require.Equal(t, map[string]any{"n": 1.0, "s": nil}, st)

	var big, dec pgtype.Numeric
	require.NoError(t, c.QueryRow(ctx, "SELECT 170141183460469231731687303715884105727::HUGEINT, -12.345::DECIMAL(10,3)").Scan(&big, &dec))
	bv, err := big.Value()
	require.NoError(t, err)
	require.Equal(t, "170141183460469231731687303715884105727", bv)
	dv, err := dec.Value()
	require.NoError(t, err)
	require.Equal(t, "-12.345", dv)

	var tm pgtype.Time
	var iv pgtype.Interval
	require.NoError(t, c.QueryRow(ctx, "SELECT TIME '10:11:12.5', INTERVAL '1 month 2 days 00:00:03'").Scan(&tm, &iv))
	require.Equal(t, int64((10*3600+11*60+12)*1e6+5e5), tm.Microseconds)
	require.Equal(t, pgtype.Interval{Months: 1, Days: 2, Microseconds: 3e6, Valid: true}, iv)

	var dates []time.Time
	require.NoError(t, c.QueryRow(ctx, "SELECT [DATE '2026-01-02', DATE '1999-12-31']").Scan(&dates))
	require.Equal(t, "2026-01-02 1999-12-31", dates[0].Format("2006-01-02")+" "+dates[1].Format("2006-01-02"))
}

// TestParameterTypeInference: parameters the client leaves untyped get the type DuckDB infers from their
// use, so a driver that describes the statement first (pgx's cached statements, asyncpg) sends native
// values; parameters DuckDB cannot type are text.
func TestParameterTypeInference(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeCacheStatement)

	sd, err := c.Prepare(ctx, "infer", "SELECT name FROM raw.people WHERE id = $1 AND score > $2 AND $3 IS NULL")
	require.NoError(t, err)
	require.Equal(t, []uint32{20, 701, 25}, sd.ParamOIDs)

	var name string
	require.NoError(t, c.QueryRow(ctx, "SELECT name FROM raw.people WHERE id = $1 AND score > $2", int64(3), 1.25).Scan(&name))
	require.Equal(t, "Zoë ✓ 3", name)

	var day time.Time
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT $1::DATE + 1, $2::BIGINT * 2",
		time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), int64(21)).Scan(&day, &n))
	require.Equal(t, "2026-03-01", day.Format("2006-01-02"))
	require.Equal(t, int64(42), n)

	var s string
	require.NoError(t, c.QueryRow(ctx, "SELECT $1 || '!'", "Zoë").Scan(&s))
	require.Equal(t, "Zoë!", s)
}

// TestStartupOptions: settings in the startup packet's options (PGOPTIONS) apply to the session.
func TestStartupOptions(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, f.url("dev")+"&options=-c%20TimeZone%3DAsia/Kolkata%20--application-name%3Dnb%5C%20one")
	require.NoError(t, err)
	defer func() { _ = c.Close(ctx) }()
	require.Equal(t, "Asia/Kolkata", c.PgConn().ParameterStatus("TimeZone"))
	var app string
	require.NoError(t, c.QueryRow(ctx, "SHOW application_name").Scan(&app))
	require.Equal(t, "nb one", app)
}
