//go:build duckdb_arrow

package move_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

const evil = "x'); DROP TABLE hp; --"

// TestHostileParamsAreNeverSQL: a param value holding SQL is refused for every typed param (int, float, date,
// timestamp, bool), naming the param; for a string param it is data, on the COPY path and on the row stream
// alike: it matches the row holding exactly that text and the table survives. A text watermark holding SQL
// (the largest value read) is bound the same way on the next run, and a file name holding SQL is read as a
// file name.
func TestHostileParamsAreNeverSQL(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	pgExec(t, pg, `CREATE TABLE hp (id int, n bigint, f float8, d date, ts timestamptz, ok boolean, s text)`,
		`INSERT INTO hp VALUES (1, 10, 0.5, '2026-11-24', '2026-11-24 10:00:00Z', true, 'a'),
		                       (2, 10, 0.5, '2026-11-24', '2026-11-24 10:00:00Z', true, 'x''); DROP TABLE hp; --')`)
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	body := `name: hostile
params:
  n: {type: int, default: 10}
  f: {type: float, default: 0.5}
  d: {type: date, default: "2026-11-24"}
  ts: {type: timestamp, default: "2026-11-24T10:00:00Z"}
  ok: {type: bool, default: true}
  s: {type: string, default: a}
source:
  type: postgres
  dsn: ${PG}
  query: >-
    SELECT id, s FROM hp WHERE n = {{ n }} AND f = {{ f }} AND d = {{ d }} AND ts = {{ ts }} AND ok = {{ ok }}
    AND s = {{ s }}
target: {type: lake, table: raw.hostile, mode: overwrite}
`
	spec, err := move.Parse("jobs/hostile.yaml", []byte(body))
	require.NoError(t, err)
	for _, name := range []string{"n", "f", "d", "ts", "ok"} {
		for _, v := range []string{evil, "1 OR 1=1", "10; DROP TABLE hp", "2026-11-24' OR '1'='1", "true) OR (1=1"} {
			_, err := move.ResolveParams(spec, map[string]string{name: v}, time.Now())
			require.ErrorIs(t, err, move.ErrInvalid, "%s=%s", name, v)
			require.ErrorContains(t, err, `param "`+name+`": `)
		}
	}
	for _, rowStream := range []bool{false, true} {
		d := f.deps("dev")
		d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
		d.RowStream = rowStream
		ps, err := move.ResolveParams(spec, map[string]string{"s": evil}, time.Now())
		require.NoError(t, err)
		rec, err := move.Run(ctx, d, spec, ps)
		require.NoError(t, err, "row stream %v", rowStream)
		require.Equal(t, int64(1), rec.RowsWritten)
		require.Equal(t, []string{"2|" + evil}, f.query(t, "dev", "SELECT id, s FROM raw.hostile"))
		require.Equal(t, map[string]string{"s": evil, "n": "10", "f": "0.5", "d": "2026-11-24", "ts": "2026-11-24T10:00:00Z", "ok": "true"},
			rec.Params, "the history keeps the value as text")
	}

	// A text watermark: the largest value read was the hostile text; the next run binds it.
	inc := "name: inc\nsource: {type: postgres, dsn: '${PG}', query: 'SELECT id, s FROM hp WHERE s > {{ watermark }}'}\n" +
		"incremental: {column: s}\ntarget: {type: lake, table: raw.inc}\n"
	for i, rowStream := range []bool{false, true} {
		d := f.deps("dev")
		d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
		d.RowStream = rowStream
		spec, ps := f.job(t, inc, nil)
		if i == 1 {
			pgExec(t, pg, `INSERT INTO hp VALUES (3, 0, 0, NULL, NULL, NULL, 'z''; DELETE FROM hp; --')`)
		}
		rec, err := move.Run(ctx, d, spec, ps)
		require.NoError(t, err)
		require.Equal(t, []int64{2, 1}[i], rec.RowsWritten, "row stream %v", rowStream)
		require.Equal(t, []string{evil, "z'; DELETE FROM hp; --"}[i], rec.WatermarkAfter)
	}
	require.Equal(t, []string{"1|a", "2|" + evil, "3|z'; DELETE FROM hp; --"}, f.query(t, "dev", "SELECT id, s FROM raw.inc ORDER BY id"))
	pgExec(t, pg, "SELECT count(*) FROM hp") // still there

	// A file named with SQL in it, reached through a string param.
	f.file(t, "in/"+evil+".csv", "id\n7\n")
	spec, ps := f.job(t, "name: path\nparams: {name: {type: string}}\nsource: {type: files, path: '"+f.dir+"/in/{{ name }}.csv'}\n"+
		"target: {type: lake, table: raw.path}\n", map[string]string{"name": evil})
	rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.RowsWritten)
	require.Equal(t, []string{"7"}, f.query(t, "dev", "SELECT id FROM raw.path"))
}
