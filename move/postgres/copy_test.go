package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
)

var dollarParam = regexp.MustCompile(`\$(\d+)`)

// render replaces $n in a test query (which has no $ in its literals) with the rendered literals.
func render(query string) func([]string) string {
	return func(lits []string) string {
		return dollarParam.ReplaceAllStringFunc(query, func(m string) string {
			i, _ := strconv.Atoi(m[1:])
			return lits[i-1]
		})
	}
}

// cells reads every value of a reader as text, row by row.
func cells(t *testing.T, r *Reader) []string {
	t.Helper()
	var out []string
	for _, b := range readAll(t, r) {
		for i := 0; i < int(b.NumRows()); i++ {
			var row []string
			for c := 0; c < int(b.NumCols()); c++ {
				row = append(row, b.Column(c).ValueStr(i))
			}
			out = append(out, strings.Join(row, "|"))
		}
	}
	return out
}

func readBoth(t *testing.T, opts Options) (query, copied []string, schemas [2]*arrow.Schema) {
	t.Helper()
	ctx := context.Background()
	for i, cp := range []bool{false, true} {
		o := opts
		o.Copy, o.Render = cp, render(opts.Query)
		r, err := Open(ctx, o)
		require.NoError(t, err)
		got := cells(t, r)
		schemas[i] = r.Schema()
		if cp {
			copied = got
		} else {
			query = got
		}
		require.NoError(t, r.Close())
	}
	return query, copied, schemas
}

// TestCopyPathReadsWhatTheQueryPathReads: COPY BINARY decoded into Arrow gives the same schema and the same
// values as the row stream, for every type, NULLs and extremes, across batches.
func TestCopyPathReadsWhatTheQueryPathReads(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, allTypes)
	q, c, sc := readBoth(t, Options{DSN: dsn, Query: "SELECT * FROM src WHERE id >= $1 ORDER BY id", Args: []any{int64(1)},
		WatermarkArg: -1, BatchRows: 2})
	require.Len(t, q, 3)
	require.Equal(t, q, c)
	require.True(t, sc[0].Equal(sc[1]), "%s\n%s", sc[0], sc[1])
	require.Contains(t, q[0], "Zoë ☕ 東京")
}

// TestCopyPathParamsAreLiteralsNeverSQL: values with quotes, backslashes, dollar quotes and comment marks
// arrive as one literal each, of their parameter's type: they match rows holding exactly that text, and the
// table survives. A NUL byte is refused.
func TestCopyPathParamsAreLiteralsNeverSQL(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	nasty := []string{`x'); DROP TABLE inj; --`, `\' OR 1=1 --`, `$$ OR true $$`, `it''s`, `a\nb`, `/* c */`, "tab\there", `'`}
	var values []string
	for i, v := range nasty {
		values = append(values, fmt.Sprintf("(%d, '%s', timestamptz '2026-01-01Z' + interval '%d hours')", i, strings.ReplaceAll(v, "'", "''"), i))
	}
	seed(t, dsn, `CREATE TABLE inj (id int, s text, at timestamptz)`, `INSERT INTO inj VALUES `+strings.Join(values, ", "))
	ctx := context.Background()
	for i, v := range nasty {
		q := "SELECT id, s FROM inj WHERE s = $1 AND at >= $2 AND id < $3"
		r, err := Open(ctx, Options{DSN: dsn, Query: q, Args: []any{v, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), int64(100)},
			WatermarkArg: -1, Copy: true, Render: render(q)})
		require.NoError(t, err, v)
		require.Equal(t, []string{fmt.Sprintf("%d|%s", i, v)}, cells(t, r), v)
		require.NoError(t, r.Close())
	}
	q := "SELECT id FROM inj WHERE s = $1"
	_, err := Open(ctx, Options{DSN: dsn, Query: q, Args: []any{"a\x00b"}, WatermarkArg: -1, Copy: true, Render: render(q)})
	require.ErrorContains(t, err, "NUL byte")
	seed(t, dsn, "SELECT count(*) FROM inj")

	// The watermark parameter of a first run is the lowest value of its type, rendered as a literal too.
	q = "SELECT id, at FROM inj WHERE at > $1 ORDER BY at"
	r, err := Open(ctx, Options{DSN: dsn, Query: q, Args: []any{nil}, WatermarkArg: 0, Column: "at", Copy: true, Render: render(q)})
	require.NoError(t, err)
	require.Len(t, cells(t, r), len(nasty))
	require.Equal(t, "2026-01-01T07:00:00Z", r.Watermark())
	require.NoError(t, r.Close())
}

// TestCopyPathKilledMidStream: the server connection killed mid-COPY ends the stream with an Unavailable
// error, never a clean short end.
func TestCopyPathKilledMidStream(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE big AS SELECT i, repeat('x', 100) AS pad FROM generate_series(1, 300000) i`)
	ctx := context.Background()
	q := "SELECT i, pad FROM big WHERE i > $1"
	r, err := Open(ctx, Options{DSN: dsn, Query: q, Args: []any{int64(0)}, WatermarkArg: -1, BatchRows: 1000, Copy: true, Render: render(q)})
	require.NoError(t, err)
	defer r.Close()
	require.True(t, r.Next())
	seed(t, dsn, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT i, pad%' AND pid <> pg_backend_pid()`)
	for r.Next() {
	}
	require.Error(t, r.Err())
	require.Equal(t, errs.Unavailable, errs.KindOf(r.Err()))
	require.Less(t, r.Rows(), int64(300000))
}

// TestCopyPathCancelAndQueryErrors: the context given to Open ends a COPY mid-stream with an Unavailable error
// naming the cancellation, and Close then returns at once; a query that fails while running (before any row)
// is Invalid with PostgreSQL's message, and one failing after rows is Unavailable.
func TestCopyPathCancelAndQueryErrors(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE slow AS SELECT i, repeat('y', 100) AS pad FROM generate_series(1, 300000) i`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := "SELECT i, pad FROM slow WHERE i > $1"
	r, err := Open(ctx, Options{DSN: dsn, Query: q, Args: []any{int64(0)}, WatermarkArg: -1, BatchRows: 1000, Copy: true, Render: render(q)})
	require.NoError(t, err)
	require.True(t, r.Next())
	cancel()
	for r.Next() {
	}
	require.Equal(t, errs.Unavailable, errs.KindOf(r.Err()), "%v", r.Err())
	require.ErrorContains(t, r.Err(), "context canceled")
	require.Less(t, r.Rows(), int64(300000))
	start := time.Now()
	require.NoError(t, r.Close())
	require.Less(t, time.Since(start), 5*time.Second)

	for _, tc := range []struct {
		query string
		kind  errs.Kind
	}{
		{"SELECT 1 / (i - $1) AS x FROM slow WHERE i <= 3", errs.Invalid},
		{"SELECT 1 / (i - $1) AS x FROM slow", errs.Unavailable},
	} {
		arg := int64(1)
		if tc.kind == errs.Unavailable {
			arg = 200000
		}
		r, err := Open(context.Background(), Options{DSN: dsn, Query: tc.query, Args: []any{arg}, WatermarkArg: -1, BatchRows: 1000,
			Copy: true, Render: render(tc.query)})
		if err == nil {
			for r.Next() {
			}
			err = r.Err()
			require.NoError(t, r.Close())
		}
		require.Equal(t, tc.kind, errs.KindOf(err), "%s: %v", tc.query, err)
		require.ErrorContains(t, err, "division by zero")
	}
}

// TestCopyPathMoreTypesAndNumerics: uuid, interval, time, json, arrays, and numerics with and without a declared
// precision (decoded from COPY's digits without pgx) read the same through COPY as through the row stream.
func TestCopyPathMoreTypesAndNumerics(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE mt (id int, t time, iv interval, j json, u uuid, ia int4[], na numeric[], n numeric, d numeric(30,6), z numeric(5,0))`,
		`INSERT INTO mt VALUES (1, '23:59:59.999999', '1 year 2 mons 3 days 04:05:06.789', '{"b": 1}',
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{1.50,NULL}', 12345678901234567890.123456789, 123456789012345678901234.567891, -99999),
		(2, NULL, '-1 days -00:00:00.000001', NULL, '00000000-0000-0000-0000-000000000000', '{}', NULL, -0.000100, -0.000001, 0),
		(3, '00:00', '0', '[]', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', NULL, NULL, 'NaN', 0, 1),
		(4, NULL, NULL, NULL, NULL, NULL, NULL, 1e20, 10, NULL), (5, NULL, NULL, NULL, NULL, NULL, NULL, 0.00, 0.5, NULL)`)
	q, c, sc := readBoth(t, Options{DSN: dsn, Query: "SELECT * FROM mt WHERE id >= $1 ORDER BY id", Args: []any{int64(1)},
		WatermarkArg: -1, BatchRows: 2})
	require.Len(t, q, 5)
	require.Equal(t, q, c)
	require.True(t, sc[0].Equal(sc[1]), "%s\n%s", sc[0], sc[1])
	require.Contains(t, q[0], "12345678901234567890.123456789")
	require.Contains(t, q[2], "ffffffff-ffff-ffff-ffff-ffffffffffff")
}

// TestCopyPathWatermark: the COPY path reports the same watermark as the row stream for every watermark type,
// whatever the order of the rows.
func TestCopyPathWatermark(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE w AS SELECT i, timestamptz '2026-01-01Z' + ((i * 7919) % 1000) * interval '1.5 second' AS at,
		date '2026-01-01' + (i * 31) % 400 AS d, ((i * 7919) % 1000)::bigint AS n, ((i * 13) % 997)::int2 AS sm,
		'k' || ((i * 17) % 991) AS s, ((i * 7) % 1000) / 7.0 AS num FROM generate_series(1, 3000) i`)
	for _, col := range []string{"at", "d", "n", "i", "sm", "s", "num"} {
		var marks [2]string
		for k, cp := range []bool{false, true} {
			q := "SELECT * FROM w WHERE " + col + " > $1"
			r, err := Open(context.Background(), Options{DSN: dsn, Query: q, Args: []any{nil}, WatermarkArg: 0, Column: col,
				BatchRows: 500, Copy: cp, Render: render(q)})
			require.NoError(t, err, col)
			readAll(t, r)
			require.Equal(t, int64(3000), r.Rows(), "%s copy=%v %v", col, cp, r.Err())
			marks[k] = r.Watermark()
			require.NoError(t, r.Close())
		}
		require.NotEmpty(t, marks[0], col)
		require.Equal(t, marks[0], marks[1], col)
	}
}
