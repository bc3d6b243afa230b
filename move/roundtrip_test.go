//go:build duckdb_arrow

package move_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// roundTripTable holds every type the postgres source reads, with NULLs, extremes and unicode.
const roundTripTable = `CREATE TABLE src (id int PRIMARY KEY, s int2, b bigint, r real, f float8, ok boolean, t text,
	v varchar(10), n numeric(12,3), fn numeric, ts timestamptz, tl timestamp, d date, tm time, iv interval, j json, jb jsonb,
	u uuid, by bytea, ia int4[], ta text[], fa float8[]);
	INSERT INTO src VALUES
	(1, 7, 9007199254740993, 1.5, -1e300, true, 'Zoë ☕ 東京 "q" ,;', 'ascii', 123456789.125, 3.14159265358979323846264338,
	 '2026-11-24 10:00:00.123456+02', '2026-11-24 10:00:00.654321', '2026-11-24', '23:59:59.999999',
	 '1 year 2 mons 3 days 04:05:06.789', '{"b": 1,  "a": [true, null]}', '{"k": "☕"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	 '\x00ff10', '{1,NULL,3}', '{"x,y",NULL,"q\"uote",""}', '{0.5,-Infinity}'),
	(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(3, -32768, -9223372036854775808, 'NaN', 'Infinity', false, '', '', -0.001, 1e-20, '0001-01-01 00:00:00Z', '1970-01-01',
	 '0001-01-01', '00:00', '-1 days -00:00:00.000001', '[]', 'null', '00000000-0000-0000-0000-000000000000', '', '{}', '{}', '{}'),
	(4, 32767, 9223372036854775807, -3.4e38, 5e-324, true, E'line\nbreak\ttab', 'x', 999999999.999, -1e-30,
	 '9999-12-31 23:59:59.999999Z', '2000-02-29 12:00:00', '9999-12-31', '12:00:00.000001', '0', '"str"', '[1, "2", {"3": []}]',
	 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\xdeadbeef', '{-2147483648,2147483647}', '{"Zoë"}', '{NULL}')`

// TestRoundTrip: postgres → lake → Parquet files → postgres keeps every value of every type: the table read
// back equals the source row for row (compared as PostgreSQL's text of each row).
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	pgExec(t, pg, roundTripTable, `CREATE TABLE back (LIKE src INCLUDING ALL)`)
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
	out := f.dir + "/export"
	for _, job := range []string{
		"name: in\nsource: {type: postgres, dsn: '${PG}', query: 'SELECT * FROM src'}\ntarget: {type: lake, table: raw.all}\n",
		"name: out\nsource: {type: lake, table: raw.all}\ntarget: {type: files, path: '" + out + "', format: parquet}\n",
		"name: back\nsource: {type: files, path: '" + out + "'}\ntarget: {type: postgres, dsn: '${PG}', table: back, mode: merge, key: [id]}\n",
	} {
		spec, ps := f.job(t, job, nil)
		rec, err := move.Run(ctx, d, spec, ps)
		require.NoError(t, err, job)
		require.Equal(t, int64(4), rec.RowsWritten, job)
	}
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`(SELECT 'src: ' || x::text FROM src x EXCEPT ALL SELECT 'src: ' || y::text FROM back y)
		UNION ALL (SELECT 'back: ' || y::text FROM back y EXCEPT ALL SELECT 'back: ' || x::text FROM src x)`)
	require.NoError(t, err)
	defer rows.Close()
	var diff []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		diff = append(diff, s)
	}
	require.NoError(t, rows.Err())
	require.Empty(t, diff)
}
