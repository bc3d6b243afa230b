package postgres

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
)

// allTypes is a table with every type the source reads, NULLs and unicode.
const allTypes = `CREATE TABLE src (id int PRIMARY KEY, s int2, b bigint, r real, f float8, ok boolean, t text, v varchar(10),
	n numeric(12,3), fn numeric, ts timestamptz, tl timestamp, d date, tm time, iv interval, j json, jb jsonb, u uuid,
	by bytea, ia int4[], ta text[]);
	INSERT INTO src VALUES
	(1, 7, 9007199254740993, 1.5, -1e300, true, 'Zoë ☕ 東京', 'ascii', 123456789.125, 3.14159265358979323846264338,
	 '2026-11-24 10:00:00.123456+02', '2026-11-24 10:00:00.654321', '2026-11-24', '23:59:59.999999',
	 '1 year 2 mons 3 days 04:05:06.789', '{"b": 1,  "a": [true, null]}', '{"k": "☕"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	 '\x00ff10', '{1,NULL,3}', '{"x,y",NULL,"q\"uote"}'),
	(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(3, -32768, -9223372036854775808, 'NaN', 'Infinity', false, '', '', -0.001, 1e-20, '0001-01-01 00:00:00Z', '1970-01-01',
	 '0001-01-01', '00:00', '-1 days -00:00:00.000001', '[]', 'null', '00000000-0000-0000-0000-000000000000', '', '{}', '{""}')`

func pgDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// differ counts the rows of a whose text form is not in b, and of b not in a.
func differ(t *testing.T, db *sql.DB, a, b string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM ((SELECT x::text FROM `+a+` x EXCEPT ALL SELECT y::text FROM `+b+` y)
		UNION ALL (SELECT y::text FROM `+b+` y EXCEPT ALL SELECT x::text FROM `+a+` x)) d`).Scan(&n))
	return n
}

// TestWriteTargetRoundTrip: every type read from PostgreSQL is written back value for value, into a table of
// the same types (text of uuid/interval/json cast back) and into a table the target creates.
func TestWriteTargetRoundTrip(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	db := pgDB(t, dsn)
	seed(t, dsn, allTypes, `CREATE TABLE same (LIKE src INCLUDING ALL)`)
	ctx := context.Background()
	read := func() *Reader {
		r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT * FROM src ORDER BY id", WatermarkArg: -1, BatchRows: 2})
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	n, err := WriteTarget(ctx, read(), TargetOptions{DSN: dsn, Table: "public.same"})
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	require.Equal(t, 0, differ(t, db, "src", "same"))

	_, err = WriteTarget(ctx, read(), TargetOptions{DSN: dsn, Table: "created", Mode: "merge", Key: []string{"id"}})
	require.NoError(t, err)
	var types string
	require.NoError(t, db.QueryRow(`SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = 'created'::regclass AND attnum > 0`).Scan(&types))
	require.Equal(t, "integer,integer,bigint,real,double precision,boolean,text,text,numeric(12,3),text,timestamp with time zone,"+
		"timestamp without time zone,date,time without time zone,text,text,text,text,bytea,integer[],text[]", types)
	var same bool
	require.NoError(t, db.QueryRow(`SELECT bool_and(s.iv IS NOT DISTINCT FROM c.iv::interval AND s.j::text IS NOT DISTINCT FROM c.j
		AND s.u IS NOT DISTINCT FROM c.u::uuid AND s.fn IS NOT DISTINCT FROM c.fn::numeric AND s.ts IS NOT DISTINCT FROM c.ts
		AND s.n IS NOT DISTINCT FROM c.n AND s.ta IS NOT DISTINCT FROM c.ta AND s.by IS NOT DISTINCT FROM c.by)
		FROM src s JOIN created c USING (id)`).Scan(&same))
	require.True(t, same)
}

// TestWriteTargetModes: merge upserts (twice leaves the same rows), overwrite replaces, a key twice in the new
// rows or a merge without a unique key fails and writes nothing.
func TestWriteTargetModes(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	db := pgDB(t, dsn)
	seed(t, dsn, `CREATE TABLE kv (k int PRIMARY KEY, v text)`, `INSERT INTO kv VALUES (1, 'a'), (2, 'b')`,
		`CREATE TABLE nokey (k int, v text)`, `CREATE TABLE upd (k int, v text)`)
	ctx := context.Background()
	write := func(q string, opts TargetOptions) error {
		seed(t, dsn, `TRUNCATE upd`, `INSERT INTO upd `+q)
		r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT k, v FROM upd", WatermarkArg: -1})
		require.NoError(t, err)
		defer r.Close()
		opts.DSN = dsn
		_, err = WriteTarget(ctx, r, opts)
		return err
	}
	contents := func(table string) string {
		var s string
		require.NoError(t, db.QueryRow(`SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM `+table).Scan(&s))
		return s
	}
	for i := 0; i < 2; i++ {
		require.NoError(t, write(`VALUES (2, 'B'), (3, 'c')`, TargetOptions{Table: "kv", Mode: "merge", Key: []string{"k"}}))
		require.Equal(t, "1=a,2=B,3=c", contents("kv"))
	}
	err := write(`VALUES (4, 'x'), (4, 'y')`, TargetOptions{Table: "kv", Mode: "merge", Key: []string{"k"}})
	require.Equal(t, errs.BadData, errs.KindOf(err))
	require.ErrorContains(t, err, "hold a key (k) twice")
	err = write(`VALUES (4, 'x')`, TargetOptions{Table: "nokey", Mode: "merge", Key: []string{"k"}})
	require.ErrorContains(t, err, "needs a primary key or unique index")
	require.Equal(t, "1=a,2=B,3=c", contents("kv"))
	require.NoError(t, write(`VALUES (9, 'z')`, TargetOptions{Table: "kv", Mode: "overwrite"}))
	require.Equal(t, "9=z", contents("kv"))
	err = write(`VALUES (9, 'z')`, TargetOptions{Table: "kv", Mode: "overwrite", Key: nil, DSN: ""})
	require.NoError(t, err)
	seed(t, dsn, `CREATE TABLE narrow (k int)`)
	err = write(`VALUES (1, 'a')`, TargetOptions{Table: "narrow"})
	require.ErrorContains(t, err, "postgres target narrow has no column v")
}

// TestWriteTargetCopiesStraightIn: rows whose types are the target's go straight into it (append, overwrite):
// a numeric fills a narrower numeric column rounded as a cast would, columns the rows lack take their default,
// the run's mark commits with the rows, and a value the column refuses fails the write leaving nothing.
func TestWriteTargetCopiesStraightIn(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	db := pgDB(t, dsn)
	seed(t, dsn, `CREATE TABLE tin (k int, v text, n numeric(12,3))`, `CREATE TABLE tout (k int, v text, n numeric(6,1), extra int DEFAULT 7)`)
	ctx := context.Background()
	write := func(rows string, mode, run string) error {
		seed(t, dsn, `TRUNCATE tin`, `INSERT INTO tin VALUES `+rows)
		r, err := Open(ctx, Options{DSN: dsn, Query: "SELECT k, v, n FROM tin ORDER BY k", WatermarkArg: -1})
		require.NoError(t, err)
		defer r.Close()
		_, err = WriteTarget(ctx, r, TargetOptions{DSN: dsn, Table: "tout", Mode: mode, Mark: &Mark{Job: "j", Env: "dev", Run: run}})
		return err
	}
	contents := func() string {
		var s string
		require.NoError(t, db.QueryRow(`SELECT string_agg(k || '=' || v || ':' || n || ':' || extra, ',' ORDER BY k) FROM tout`).Scan(&s))
		return s
	}
	require.NoError(t, write(`(1, 'a', 1.25), (2, 'b', 2.04)`, "append", "r1"))
	require.NoError(t, write(`(3, 'c', 3.96)`, "", "r2"))
	require.Equal(t, "1=a:1.3:7,2=b:2.0:7,3=c:4.0:7", contents())
	m, ok, err := ReadMark(ctx, dsn, "tout", "j", "dev")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, RunMark{Run: "r2", Rows: 1}, m)

	err = write(`(4, 'd', 1), (5, 'e', 123456789)`, "append", "r3")
	require.Equal(t, errs.BadData, errs.KindOf(err), err)
	require.Equal(t, "1=a:1.3:7,2=b:2.0:7,3=c:4.0:7", contents())
	m, _, err = ReadMark(ctx, dsn, "tout", "j", "dev")
	require.NoError(t, err)
	require.Equal(t, "r2", m.Run)

	require.NoError(t, write(`(9, 'z', 0.05)`, "overwrite", "r4"))
	require.Equal(t, "9=z:0.1:7", contents())
}
