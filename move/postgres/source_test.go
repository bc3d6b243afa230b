package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

func seed(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

func readAll(t *testing.T, r *Reader) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	for r.Next() {
		rb := r.RecordBatch()
		rb.Retain()
		out = append(out, rb)
	}
	require.NoError(t, r.Err())
	return out
}

// TestTypes: numeric, timestamptz, date, text with unicode, NULLs and the integer and float types arrive as the
// Arrow types the lake stores, value for value.
func TestTypes(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE o (id bigint, small int2, amount numeric(12,2), free numeric, ts timestamptz, d date,
		name text, ok boolean, f float8, raw bytea)`,
		`INSERT INTO o VALUES (1, 7, 1234567890.12, 3.14159265358979323846, '2026-11-24 10:00:00.123456+02', '2026-11-24',
		'Zoë ☕ 東京', true, 0.5, '\x00ff'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, -1, -0.05, 1e30, '1999-12-31 23:59:59Z', '1970-01-01', '', false, -1e300, '')`)
	ctx := context.Background()
	r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT * FROM o WHERE id >= $1 ORDER BY id", Args: []any{int64(1)}, WatermarkArg: -1, BatchRows: 2})
	require.NoError(t, err)
	defer r.Close()
	sc := r.Schema()
	want := []string{"int64", "int32", "decimal(12, 2)", "utf8", "timestamp[us, tz=UTC]", "date32", "utf8", "bool", "float64", "binary"}
	for i, w := range want {
		require.Equal(t, w, sc.Field(i).Type.String(), sc.Field(i).Name)
	}
	batches := readAll(t, r)
	require.Len(t, batches, 2) // 2 rows + 1 row
	require.Equal(t, int64(3), r.Rows())
	b0 := batches[0]
	require.Equal(t, "1234567890.12", b0.Column(2).(*array.Decimal128).ValueStr(0))
	require.Equal(t, "3.14159265358979323846", b0.Column(3).(*array.String).Value(0))
	ts := b0.Column(4).(*array.Timestamp).Value(0)
	require.Equal(t, time.Date(2026, 11, 24, 8, 0, 0, 123456000, time.UTC), ts.ToTime(arrow.Microsecond))
	require.Equal(t, "2026-11-24", b0.Column(5).(*array.Date32).Value(0).FormattedString())
	require.Equal(t, "Zoë ☕ 東京", b0.Column(6).(*array.String).Value(0))
	require.Equal(t, []byte{0, 0xff}, b0.Column(9).(*array.Binary).Value(0))
	for c := 1; c < 10; c++ {
		require.True(t, b0.Column(c).IsNull(1), "column %d of the NULL row", c)
	}
	b1 := batches[1]
	require.Equal(t, "-0.05", b1.Column(2).(*array.Decimal128).ValueStr(0))
	require.Equal(t, "1000000000000000000000000000000", b1.Column(3).(*array.String).Value(0))
	require.Equal(t, "", b1.Column(6).(*array.String).Value(0))
	require.False(t, b1.Column(6).IsNull(0), "an empty string is not NULL")
}

// TestWatermark: the first run binds the lowest value of the parameter's type; later runs bind the stored text.
func TestWatermark(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE e (id int, at timestamptz, d date, n bigint)`,
		`INSERT INTO e VALUES (1, '2026-01-01 00:00:00Z', '2026-01-01', 10), (2, '2026-01-02 00:00:00.5Z', '2026-01-02', 20)`)
	ctx := context.Background()
	for _, col := range []string{"at", "d", "n"} {
		r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT * FROM e WHERE " + col + " > $1", Args: []any{nil}, WatermarkArg: 0, Column: col})
		require.NoError(t, err, col)
		readAll(t, r)
		require.Equal(t, int64(2), r.Rows(), col)
		wm := r.Watermark()
		require.NoError(t, r.Close())

		r, err = Open(ctx, Options{DSN: dsn, Query: "SELECT * FROM e WHERE " + col + " > $1", Args: []any{wm}, WatermarkArg: 0, Column: col})
		require.NoError(t, err, col)
		readAll(t, r)
		require.Equal(t, int64(0), r.Rows(), "%s > %s", col, wm)
		require.Equal(t, "", r.Watermark())
		require.NoError(t, r.Close())
	}
}

func TestUnsupportedTypeSaysCast(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	_, err := Open(context.Background(), Options{DSN: dsn, Query: "SELECT '(1,2)'::point AS span", WatermarkArg: -1})
	require.ErrorContains(t, err, `column "span"`)
	require.ErrorContains(t, err, "span::text")
}

// TestCloseAbandonsTheQuery: closing a reader before the end does not read the rest of the result.
func TestCloseAbandonsTheQuery(t *testing.T) {
	t.Parallel()
	for _, cp := range []bool{false, true} {
		t.Run(fmt.Sprintf("copy=%v", cp), func(t *testing.T) {
			t.Parallel()
			closeAbandons(t, cp)
		})
	}
}

func closeAbandons(t *testing.T, cp bool) {
	dsn := testenv.PostgresDSN(t)
	// Rows stream out one per millisecond: reading them all would take over 1,000 s.
	seed(t, dsn, "CREATE TABLE slow AS SELECT i FROM generate_series(1, 1000000) i")
	q := "SELECT i FROM slow WHERE pg_sleep(0.001)::text = ''"
	r, err := Open(context.Background(), Options{DSN: dsn, Query: q, WatermarkArg: -1, BatchRows: 10, Copy: cp, Render: render(q)})
	require.NoError(t, err)
	require.True(t, r.Next())
	done := make(chan error, 1)
	go func() { done <- r.Close() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Close is reading the whole result instead of abandoning it")
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%FROM slow WHERE pg_sleep%' AND datname = current_database()
			AND pid <> pg_backend_pid()`).Scan(&n))
		return n == 0
	}, 30*time.Second, 100*time.Millisecond, "the server still runs the abandoned query")
}

// TestMoreTypes: time, interval, json, jsonb, uuid and one-dimensional arrays (with NULL elements) arrive as
// Arrow values that keep every value: intervals as text PostgreSQL parses back to the same interval, json as
// its exact text; a multi-dimensional array is refused with a hint.
func TestMoreTypes(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE m (id int, t time, iv interval, j json, jb jsonb, u uuid, ia int4[], ta text[], na numeric[], da date[])`,
		`INSERT INTO m VALUES (1, '23:59:59.999999', '1 year 2 mons 3 days 04:05:06.789', '{"b": 1,  "a": [true]}',
		'{"b": 1, "a": "☕"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"x,y",NULL,"Zoë"}', '{1.50,NULL}',
		'{2026-11-24}'), (2, NULL, '-1 days -00:00:00.000001', NULL, NULL, NULL, '{}', NULL, NULL, NULL)`)
	ctx := context.Background()
	r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT * FROM m ORDER BY id", WatermarkArg: -1})
	require.NoError(t, err)
	defer r.Close()
	want := []string{"int32", "time64[us]", "utf8", "utf8", "utf8", "utf8", "list<item: int32, nullable>",
		"list<item: utf8, nullable>", "list<item: utf8, nullable>", "list<item: date32, nullable>"}
	for i, w := range want {
		require.Equal(t, w, r.Schema().Field(i).Type.String(), r.Schema().Field(i).Name)
	}
	b := readAll(t, r)[0]
	require.Equal(t, "23:59:59.999999", b.Column(1).(*array.Time64).Value(0).FormattedString(arrow.Microsecond))
	require.Equal(t, "14 mons 3 days 04:05:06.789000", b.Column(2).(*array.String).Value(0))
	require.Equal(t, "0 mons -1 days -00:00:00.000001", b.Column(2).(*array.String).Value(1))
	require.Equal(t, `{"b": 1,  "a": [true]}`, b.Column(3).(*array.String).Value(0), "json keeps its exact text")
	require.Equal(t, `{"a": "☕", "b": 1}`, b.Column(4).(*array.String).Value(0))
	require.Equal(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", b.Column(5).(*array.String).Value(0))
	require.Equal(t, "[1,null,3]", b.Column(6).(*array.List).ValueStr(0))
	require.Equal(t, "[]", b.Column(6).(*array.List).ValueStr(1))
	require.Equal(t, `["x,y",null,"Zoë"]`, b.Column(7).(*array.List).ValueStr(0))
	require.Equal(t, `["1.50",null]`, b.Column(8).(*array.List).ValueStr(0))
	require.True(t, b.Column(3).IsNull(1))
	require.True(t, b.Column(7).IsNull(1))

	// The interval text reads back as the same interval.
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var same bool
	require.NoError(t, db.QueryRow(`SELECT $1::interval = '1 year 2 mons 3 days 04:05:06.789'::interval
		AND $2::interval = '-1 days -00:00:00.000001'::interval`, b.Column(2).(*array.String).Value(0),
		b.Column(2).(*array.String).Value(1)).Scan(&same))
	require.True(t, same)

	r2, err := Open(ctx, Options{DSN: dsn, Query: "SELECT '{{1,2},{3,4}}'::int[] AS a", WatermarkArg: -1})
	require.NoError(t, err)
	defer r2.Close()
	require.False(t, r2.Next())
	require.ErrorContains(t, r2.Err(), "multi-dimensional array")
}
