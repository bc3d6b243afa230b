//go:build duckdb_arrow

package move_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/move"
)

type fixture struct {
	db  *meta.DB
	svc *envs.Service
	eng *engine.Engine
	dir string
}

func newFixture(t testing.TB, metaDSN string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, metaDSN)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 1, ExternalAccess: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	return &fixture{db: db, svc: svc, eng: eng, dir: t.TempDir()}
}

func (f *fixture) deps(env string) move.Deps {
	return move.Deps{DB: f.db, Envs: f.svc, Engine: f.eng, Env: env, Actor: "tester"}
}

func (f *fixture) file(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func (f *fixture) job(t *testing.T, body string, over map[string]string) (*move.Spec, move.Params) {
	t.Helper()
	s, err := move.Parse("job.yaml", []byte(body))
	require.NoError(t, err)
	ps, err := move.ResolveParams(s, over, time.Now())
	require.NoError(t, err)
	return s, ps
}

// query runs SQL over one table of env and returns the rows as text, one line per row.
func (f *fixture) query(t *testing.T, env, sqlText string) []string {
	t.Helper()
	ctx := context.Background()
	tables, err := f.svc.BindSQL(ctx, env, sqlText)
	require.NoError(t, err)
	res, err := f.eng.Query(ctx, sqlText, tables)
	require.NoError(t, err)
	defer res.Close()
	var out []string
	for res.Next() {
		rb := res.RecordBatch()
		for r := 0; r < int(rb.NumRows()); r++ {
			var cells []string
			for c := 0; c < int(rb.NumCols()); c++ {
				cells = append(cells, rb.Column(c).ValueStr(r))
			}
			out = append(out, strings.Join(cells, "|"))
		}
	}
	require.NoError(t, res.Err())
	return out
}

func (f *fixture) snapshots(t *testing.T, env, table string) int {
	t.Helper()
	id, _ := lake.ParseIdent(table)
	info, err := f.svc.Lake().Describe(context.Background(), env, id)
	if err != nil {
		require.ErrorIs(t, err, lake.ErrNotFound)
		return 0
	}
	return len(info.Snapshots)
}

// TestRunFilesToLake: a folder of CSV files lands as one snapshot, with columns renamed, cast and dropped,
// malformed rows within max_bad_rows skipped and counted, and the run recorded.
func TestRunFilesToLake(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b.DSN(t))
			f.file(t, "in/a.csv", "id,amt,note,code\n1,1.5,x,10\n2,2.5,y,20\n")
			f.file(t, "in/b.csv", "id,amt,note,code\n3,3.5,z,30\n4,oops,w,40\n")
			f.file(t, "in/readme.txt", "not data")
			spec, ps := f.job(t, `name: orders
source: {type: files, path: `+f.dir+`/in}
target: {type: lake, table: raw.orders}
on_error: {max_bad_rows: 1}
columns:
  - {name: amt, rename: amount}
  - {name: note, drop: true}
  - {name: code, cast: string}
`, nil)
			ctx := context.Background()
			rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
			require.NoError(t, err)
			require.Equal(t, move.StatusSucceeded, rec.Status)
			require.Equal(t, int64(3), rec.RowsRead)
			require.Equal(t, int64(3), rec.RowsWritten)
			require.Equal(t, int64(1), rec.RowsRejected)
			require.Contains(t, rec.BadRows[0].File, "b.csv")
			require.Positive(t, rec.Bytes)
			require.NotZero(t, rec.SnapshotID)
			require.Equal(t, 1, f.snapshots(t, "dev", "raw.orders"))
			require.Equal(t, []string{"1|1.5|10", "2|2.5|20", "3|3.5|30"},
				f.query(t, "dev", "SELECT id, amount, code FROM raw.orders ORDER BY id"))
			cols := f.query(t, "dev", "SELECT column_name || ':' || column_type FROM (DESCRIBE SELECT * FROM raw.orders)")
			require.Contains(t, cols, "code:VARCHAR")
			require.NotContains(t, strings.Join(cols, ","), "note")

			got, err := move.GetRun(ctx, f.db, rec.ID)
			require.NoError(t, err)
			require.Equal(t, rec.RowsWritten, got.RowsWritten)
			require.Equal(t, int64(1), got.RowsRejected)
			require.Equal(t, "dev", got.Env)
			require.Equal(t, move.StatusSucceeded, got.Status)
			list, err := move.Runs(ctx, f.db, "orders", 0)
			require.NoError(t, err)
			require.Len(t, list, 1)
			_, err = move.GetRun(ctx, f.db, "nope")
			require.ErrorIs(t, err, move.ErrNotFound)

			// Too many bad rows: the run fails, commits nothing, and is recorded as failed.
			f.file(t, "in/c.csv", "id,amt,note,code\n5,bad,q,1\n")
			rec, err = move.Run(ctx, f.deps("dev"), spec, ps)
			require.Error(t, err)
			require.Equal(t, errs.BadData, errs.KindOf(err))
			require.Equal(t, move.StatusFailed, rec.Status)
			require.Equal(t, 1, f.snapshots(t, "dev", "raw.orders"))
			got, err = move.GetRun(ctx, f.db, rec.ID)
			require.NoError(t, err)
			require.Equal(t, move.StatusFailed, got.Status)
			require.NotEmpty(t, got.Error)
		})
	}
}

// TestRunLakeToLakeAndProdRule: a lake table is a source (latest, or a snapshot); overwrite replaces the
// target's rows; prod writes need force and are staged.
func TestRunLakeToLakeAndProdRule(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	src := f.file(t, "a.jsonl", `{"id": 1, "name": "Zoë"}`+"\n"+`{"id": 2, "name": "☕"}`+"\n")
	load, ps := f.job(t, "name: load\nsource: {type: files, path: "+src+"}\ntarget: {type: lake, table: raw.people}\n", nil)
	first, err := move.Run(ctx, f.deps("dev"), load, ps)
	require.NoError(t, err)
	_, err = move.Run(ctx, f.deps("dev"), load, ps)
	require.NoError(t, err)
	require.Equal(t, []string{"4"}, f.query(t, "dev", "SELECT count(*) FROM raw.people"))

	copyJob := fmt.Sprintf("name: copy\nsource: {type: lake, table: raw.people, snapshot: %d}\ntarget: {type: lake, table: clean.people, mode: overwrite}\n", first.SnapshotID)
	spec, ps := f.job(t, copyJob, nil)
	for i := 0; i < 2; i++ {
		rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
		require.NoError(t, err)
		require.Equal(t, int64(2), rec.RowsWritten)
	}
	require.Equal(t, []string{"1|Zoë", "2|☕"}, f.query(t, "dev", "SELECT id, name FROM clean.people ORDER BY id"))
	require.Equal(t, 2, f.snapshots(t, "dev", "clean.people"))

	// prod: refused without force, before the source is read; staged with it.
	fromDev := strings.Replace(copyJob, "table: raw.people,", "table: raw.people, env: dev,", 1)
	spec, ps = f.job(t, fromDev, nil)
	_, err = move.Run(ctx, f.deps("prod"), spec, ps)
	require.ErrorIs(t, err, envs.ErrForbidden)
	require.Equal(t, 0, f.snapshots(t, "prod", "clean.people"))
	d := f.deps("prod")
	d.Force = true
	rec, err := move.Run(ctx, d, spec, ps)
	require.NoError(t, err)
	require.True(t, rec.Staged)
	require.Equal(t, 1, f.snapshots(t, "prod", "clean.people"))
}

// TestRunColumnsErrors: a columns rule naming a missing column, and a cast that does not fit, fail the run
// without a snapshot.
func TestRunColumnsErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	src := f.file(t, "a.csv", "id,v\n1,abc\n")
	spec, ps := f.job(t, "name: j\nsource: {type: files, path: "+src+"}\ntarget: {type: lake, table: raw.x}\ncolumns:\n  - {name: w, drop: true}\n", nil)
	_, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.ErrorContains(t, err, `the source has no column "w" (it has id, v)`)
	spec, ps = f.job(t, "name: j\nsource: {type: files, path: "+src+"}\ntarget: {type: lake, table: raw.x}\ncolumns:\n  - {name: v, cast: long}\n", nil)
	_, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.ErrorContains(t, err, `cast "v" to int64`)
	require.ErrorContains(t, err, `(cast: long): a source value does not fit: strconv.ParseInt: parsing "abc"`)
	require.Equal(t, errs.BadData, errs.KindOf(err), "the data, not the job, is wrong")
	require.Equal(t, 0, f.snapshots(t, "dev", "raw.x"))
}

func pgExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

const incrementalJob = `name: events
params:
  who: {type: string, default: "x'; DROP TABLE ev; --"}
source:
  type: postgres
  dsn: ${SRC_DSN}
  query: SELECT id, at, who, amount FROM ev WHERE at > {{ watermark }} AND who <> {{ who }} ORDER BY at
incremental: {column: at}
target: {type: lake, table: raw.events}
`

// TestRunPostgresIncremental: params and the watermark are bound, never pasted (the injection attempt is just a
// value that matches nothing); each run reads only rows past the watermark; a source killed mid-run leaves no
// snapshot and the watermark unmoved, and the next run continues with no duplicates and no gaps.
func TestRunPostgresIncremental(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	pgExec(t, pg, `CREATE TABLE ev (id int, at timestamptz, who text, amount numeric(10,2))`,
		`INSERT INTO ev SELECT i, timestamptz '2026-01-01 00:00:00Z' + i * interval '1 second', 'u' || (i % 3), i / 100.0
		 FROM generate_series(1, 250) i`,
		`INSERT INTO ev VALUES (999, '2025-01-01Z', 'x''; DROP TABLE ev; --', 1)`)
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	spec, ps := f.job(t, incrementalJob, nil)
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return map[string]string{"SRC_DSN": pg}[k], k == "SRC_DSN" }
	d.BatchRows = 1000

	rec, err := move.Run(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(250), rec.RowsWritten, "the injection row is data: who <> it excludes exactly that row")
	require.Equal(t, "", rec.WatermarkBefore)
	require.Equal(t, "2026-01-01T00:04:10Z", rec.WatermarkAfter)
	require.NotContains(t, fmt.Sprint(rec.Params), pg)
	wm, ok, err := move.Watermark(ctx, f.db, "events", "dev")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, rec.WatermarkAfter, wm)

	// Nothing new: an empty run, watermark unchanged.
	rec, err = move.Run(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(0), rec.RowsWritten)
	require.Equal(t, wm, rec.WatermarkAfter)

	// 100,000 new rows (more than socket buffers hold); the source connection is killed after the first batch.
	pgExec(t, pg, `INSERT INTO ev SELECT i, timestamptz '2026-01-01 00:00:00Z' + i * interval '1 second', 'n', i % 1000
		FROM generate_series(251, 100250) i`)
	snaps := f.snapshots(t, "dev", "raw.events")
	var once sync.Once
	killer := d
	killer.Hook = func(point string) {
		if point == "source:batch" {
			once.Do(func() {
				pgExec(t, pg, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%SELECT id, at, who%'`)
			})
		}
	}
	rec, err = move.Run(ctx, killer, spec, ps)
	require.Error(t, err)
	require.Equal(t, errs.Unavailable, errs.KindOf(err), "the source's error: %v", err)
	require.Equal(t, move.StatusFailed, rec.Status)
	require.Equal(t, snaps, f.snapshots(t, "dev", "raw.events"), "a failed run commits no snapshot")
	after, _, err := move.Watermark(ctx, f.db, "events", "dev")
	require.NoError(t, err)
	require.Equal(t, wm, after, "a failed run does not move the watermark")

	rec, err = move.Run(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(100000), rec.RowsWritten)
	ids := f.query(t, "dev", "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM raw.events")
	require.Equal(t, []string{"100250|100250|1|100250"}, ids, "no duplicates, no gaps")
	require.Equal(t, []string{"250"}, f.query(t, "dev", "SELECT (amount * 100)::BIGINT FROM raw.events WHERE id = 250"))
	require.Contains(t, f.query(t, "dev", "SELECT column_name || ':' || column_type FROM (DESCRIBE SELECT * FROM raw.events)"),
		"amount:DECIMAL(10,2)")

	pgExec(t, pg, "SELECT count(*) FROM ev") // the table is still there

	p, err := move.Plan(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, []move.PlanColumn{{Name: "id", Type: "int"}, {Name: "at", Type: "timestamptz"},
		{Name: "who", Type: "string"}, {Name: "amount", Type: "decimal(10, 2)"}}, p.SourceColumns)
	require.True(t, p.TargetExists)
	require.Empty(t, p.AddedColumns)
	require.Empty(t, p.TypeChanges)
	require.Equal(t, "2026-01-02T03:50:50Z", p.Watermark)
	runs, err := move.Runs(ctx, f.db, "events", 0)
	require.NoError(t, err)
	var statuses []string
	for _, r := range runs {
		statuses = append(statuses, r.Status)
	}
	sort.Strings(statuses)
	require.Equal(t, []string{"failed", "succeeded", "succeeded", "succeeded"}, statuses)
}

// TestRunSecretsNeverRecorded: a secret from ${VAR} appears neither in the error nor in the run history.
func TestRunSecretsNeverRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	pg := testenv.PostgresDSN(t)
	// The secret is the database name, so that the server's refusal quotes it and the scrubbing shows.
	secret := "s3cret_db_name_zz"
	dsn := pg[:strings.LastIndex(pg, "/")+1] + "${DB_NAME}"
	spec, ps := f.job(t, "name: leak\nsource: {type: postgres, dsn: '"+dsn+"', query: SELECT 1 AS x}\ntarget: {type: lake, table: raw.x}\n", nil)
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return secret, k == "DB_NAME" }
	rec, err := move.Run(context.Background(), d, spec, ps)
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret)
	require.Contains(t, err.Error(), "***")
	got, err := move.GetRun(context.Background(), f.db, rec.ID)
	require.NoError(t, err)
	require.NotContains(t, got.Error, secret)
	d.Lookup = func(string) (string, bool) { return "", false }
	_, err = move.Run(context.Background(), d, spec, ps)
	require.ErrorContains(t, err, "environment variable DB_NAME is not set")
}

// TestPlan: a plan shows the resolved params, the source's columns after columns: rules and the difference
// with the target, and writes nothing.
func TestPlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	a := f.file(t, "a_2026-11-24.csv", "id,amt\n1,1.5\n")
	f.file(t, "b_2026-11-24.csv", "id,amt,extra\n1,1.5,x\n")
	job := "name: j\nparams: {day: {type: date, default: '2026-11-24'}}\nsource: {type: files, path: '" + f.dir +
		"/PFX_{{ day }}.csv'}\ntarget: {type: lake, table: raw.x}\ncolumns:\n  - {name: amt, rename: amount}\n"
	spec, ps := f.job(t, strings.Replace(job, "PFX", "a", 1), nil)
	p, err := move.Plan(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.False(t, p.TargetExists)
	require.Equal(t, map[string]string{"day": "2026-11-24"}, p.Params)
	require.Equal(t, []move.PlanColumn{{Name: "id", Type: "long"}, {Name: "amount", Type: "double"}}, p.SourceColumns)
	require.Equal(t, 0, f.snapshots(t, "dev", "raw.x"))
	_, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.FileExists(t, a)

	spec, ps = f.job(t, strings.Replace(job, "PFX", "b", 1), nil)
	p, err = move.Plan(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.True(t, p.TargetExists)
	require.Equal(t, []move.PlanColumn{{Name: "extra", Type: "string"}}, p.AddedColumns)
	require.True(t, p.WouldFailSchema)
	_, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.ErrorIs(t, err, envs.ErrSchemaMismatch)
}

// TestLakeSourceInProdSeesReleasesOnly: a lake source in prod reads the current release's pin, not a staged
// snapshot (not even one named by id), and a table no release pins is not found.
func TestLakeSourceInProdSeesReleasesOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	d := f.deps("prod")
	d.Force = true
	load, ps := f.job(t, "name: load\nsource: {type: files, path: "+f.file(t, "a.csv", "id\n1\n2\n")+"}\ntarget: {type: lake, table: raw.src}\n", nil)
	_, err := move.Run(ctx, d, load, ps)
	require.NoError(t, err)

	cp, cps := f.job(t, "name: cp\nsource: {type: lake, table: raw.src}\ntarget: {type: lake, table: clean.dst}\n", nil)
	_, err = move.Run(ctx, d, cp, cps)
	require.ErrorIs(t, err, lake.ErrNotFound, "an unreleased table is invisible to prod readers")
	require.Equal(t, 0, f.snapshots(t, "prod", "clean.dst"))

	_, err = f.svc.Publish(ctx, "prod", []lake.Ident{{Zone: "raw", Name: "src"}}, envs.PublishOptions{Actor: "tester"})
	require.NoError(t, err)
	load2, ps2 := f.job(t, "name: load\nsource: {type: files, path: "+f.file(t, "b.csv", "id\n3\n")+"}\ntarget: {type: lake, table: raw.src}\n", nil)
	_, err = move.Run(ctx, d, load2, ps2) // staged, not released
	require.NoError(t, err)
	// Naming the staged snapshot by id does not reach it either: prod's time travel stops at released snapshots.
	desc, err := f.svc.Lake().Describe(ctx, "prod", lake.Ident{Zone: "raw", Name: "src"})
	require.NoError(t, err)
	staged := desc.Snapshots[len(desc.Snapshots)-1].ID
	byID, byIDps := f.job(t, fmt.Sprintf("name: byid\nsource: {type: lake, table: raw.src, snapshot: %d}\ntarget: {type: lake, table: clean.byid}\n", staged), nil)
	_, err = move.Run(ctx, d, byID, byIDps)
	require.ErrorIs(t, err, lake.ErrNotFound, "a staged snapshot named by id")
	require.Contains(t, err.Error(), "no release of prod pins it")
	require.Equal(t, 0, f.snapshots(t, "prod", "clean.byid"))
	rec, err := move.Run(ctx, d, cp, cps)
	require.NoError(t, err)
	require.Equal(t, int64(2), rec.RowsWritten, "the released snapshot's rows, not the staged third row")
	require.Equal(t, []string{"2"}, f.query(t, "prod", "SELECT count(*) FROM raw.src"), "prod's SQL readers see the release too")
	_, err = f.svc.Publish(ctx, "prod", []lake.Ident{{Zone: "raw", Name: "src"}}, envs.PublishOptions{Actor: "tester"})
	require.NoError(t, err)
	require.Equal(t, []string{"3"}, f.query(t, "prod", "SELECT count(*) FROM raw.src"), "the staged run, once published")
}

// TestParamsBindEveryType: each param type binds against the PostgreSQL column types it is compared with.
func TestParamsBindEveryType(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	pgExec(t, pg, `CREATE TABLE p (id int, amount numeric(10,2), n bigint, d date, ts timestamptz, ok boolean, s text)`,
		`INSERT INTO p VALUES (1, 5.00, 10, '2026-11-24', '2026-11-24 10:00:00Z', true, 'a'),
		                      (2, 0.50, 20, '2026-11-23', '2026-11-23 10:00:00Z', false, 'b')`)
	f := newFixture(t, testenv.SQLiteDSN(t))
	spec, ps := f.job(t, `name: typed
params:
  min_amount: {type: float, default: 1}
  n: {type: int, default: 10}
  day: {type: date, default: "2026-11-24"}
  since: {type: timestamp, default: "2026-11-24T00:00:00Z"}
  ok: {type: bool, default: true}
  s: {type: string, default: a}
source:
  type: postgres
  dsn: ${PG}
  query: >-
    SELECT id FROM p WHERE amount >= {{ min_amount }} AND n = {{ n }} AND d = {{ day }} AND ts >= {{ since }}
    AND ok = {{ ok }} AND s = {{ s }}
target: {type: lake, table: raw.typed}
`, nil)
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
	rec, err := move.Run(context.Background(), d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.RowsWritten)
	require.Equal(t, []string{"1"}, f.query(t, "dev", "SELECT id FROM raw.typed"))
}

// TestOneRunPerJobAndEnv: while a run of a job is going, a second run of it in the same environment is refused
// (it would read from the same watermark); the lease of a killed run expires and is taken over.
func TestOneRunPerJobAndEnv(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	pgExec(t, pg, `CREATE TABLE ev (id int, at timestamptz)`,
		`INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 minute' FROM generate_series(1, 5) i`)
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	spec, ps := f.job(t, "name: ev\nsource: {type: postgres, dsn: '${PG}', query: 'SELECT * FROM ev WHERE at > {{ watermark }}'}\n"+
		"incremental: {column: at}\ntarget: {type: lake, table: raw.ev}\n", nil)
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
	d.BatchRows = 1
	var second error
	var once sync.Once
	outer := d
	outer.Hook = func(string) { once.Do(func() { _, second = move.Run(ctx, d, spec, ps) }) }
	rec, err := move.Run(ctx, outer, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(5), rec.RowsWritten)
	require.Error(t, second)
	require.Equal(t, errs.Conflict, errs.KindOf(second))
	require.ErrorContains(t, second, "job ev is already running in dev (run "+rec.ID+")")

	// A lease left by a killed run blocks until it expires, then is taken over and the run recorded as failed.
	_, err = f.db.SQL.Exec(`INSERT INTO strata_move_leases (job, env, run_id, expires_ms) VALUES ('ev', 'dev', 'dead', $1)`,
		time.Now().Add(time.Hour).UnixMilli())
	require.NoError(t, err)
	_, err = f.db.SQL.Exec(`INSERT INTO strata_move_runs (id, job, env, params, status, error, source_type, target,
		rows_read, rows_written, rows_rejected, bytes, snapshot_id, watermark_before, watermark_after, actor, started_ms,
		finished_ms) VALUES ('dead', 'ev', 'dev', '{}', 'running', '', 'postgres', 'raw.ev', 0, 0, 0, 0, 0, '', '', 'x', 1, 0)`)
	require.NoError(t, err)
	_, err = move.Run(ctx, d, spec, ps)
	require.ErrorContains(t, err, "(run dead)")
	_, err = f.db.SQL.Exec(`UPDATE strata_move_leases SET expires_ms = 1 WHERE run_id = 'dead'`)
	require.NoError(t, err)
	_, err = move.Run(ctx, d, spec, ps)
	require.NoError(t, err)
	dead, err := move.GetRun(ctx, f.db, "dead")
	require.NoError(t, err)
	require.Equal(t, move.StatusFailed, dead.Status)
	require.Contains(t, dead.Error, "stopped without recording its end")
}

// TestPlanRowEstimate: a plan estimates the rows a run would read: PostgreSQL's planner estimate (with the
// watermark bound), Parquet footers, text files by size, a lake snapshot's row count; for files and
// postgres targets it shows no lake difference.
func TestPlanRowEstimate(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	pgExec(t, pg, `CREATE TABLE est (id int, at timestamptz)`,
		`INSERT INTO est SELECT i, timestamptz '2026-01-01Z' + i * interval '1 minute' FROM generate_series(1, 5000) i`, `ANALYZE est`)
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
	spec, ps := f.job(t, "name: e\nsource: {type: postgres, dsn: '${PG}', query: 'SELECT * FROM est WHERE at > {{ watermark }}'}\n"+
		"incremental: {column: at}\ntarget: {type: files, path: '"+f.dir+"/out', format: csv}\n", nil)
	p, err := move.Plan(ctx, d, spec, ps)
	require.NoError(t, err)
	require.InDelta(t, 5000, p.RowEstimate, 50, "the first run reads everything")
	require.Equal(t, "files", p.TargetType)
	require.False(t, p.TargetExists)

	var sb strings.Builder
	sb.WriteString("id,name\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&sb, "%d,name %d\n", i, i%10)
	}
	csv := f.file(t, "big.csv", sb.String())
	spec, ps = f.job(t, "name: c\nsource: {type: files, path: '"+csv+"'}\ntarget: {type: lake, table: raw.c}\n", nil)
	p, err = move.Plan(ctx, d, spec, ps)
	require.NoError(t, err)
	require.InDelta(t, 3000, p.RowEstimate, 300)
	_, err = move.Run(ctx, d, spec, ps)
	require.NoError(t, err)

	spec, ps = f.job(t, "name: l\nsource: {type: lake, table: raw.c}\ntarget: {type: files, path: '"+f.dir+"/pq', format: parquet}\n", nil)
	p, err = move.Plan(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(3000), p.RowEstimate)
	rec, err := move.Run(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Len(t, rec.Files, 1)

	spec, ps = f.job(t, "name: p\nsource: {type: files, path: '"+f.dir+"/pq'}\ntarget: {type: lake, table: raw.p}\n", nil)
	p, err = move.Plan(ctx, d, spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(3000), p.RowEstimate, "from the Parquet footer")
}

// TestIncrementalFilesAndLake: a files source by name or by modification time reads only the files past its
// watermark; a lake source by snapshot reads only the rows appended since the snapshot it read last, and
// refuses a table that was rewritten; a run with nothing new succeeds without writing.
func TestIncrementalFilesAndLake(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	run := func(body string) *move.RunRecord {
		t.Helper()
		spec, ps := f.job(t, body, nil)
		rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
		require.NoError(t, err)
		return rec
	}
	byName := "name: n\nsource: {type: files, path: '" + f.dir + "/in'}\nincremental: {by: name}\ntarget: {type: lake, table: raw.n}\n"
	byTime := "name: m\nsource: {type: files, path: '" + f.dir + "/in'}\nincremental: {by: modified}\ntarget: {type: lake, table: raw.m}\n"
	f.file(t, "in/2026-11-01.csv", "id\n1\n2\n")
	f.file(t, "in/2026-11-02.csv", "id\n3\n")
	require.Equal(t, int64(3), run(byName).RowsWritten)
	require.Equal(t, int64(3), run(byTime).RowsWritten)
	rec := run(byName)
	require.Equal(t, int64(0), rec.RowsWritten, "nothing new")
	require.Equal(t, f.dir+"/in/2026-11-02.csv", rec.WatermarkAfter)
	require.Equal(t, int64(0), run(byTime).RowsWritten)

	f.file(t, "in/2026-11-03.csv", "id\n4\n")
	old := f.file(t, "in/2026-10-31.csv", "id\n0\n") // late, and named before the watermark
	require.Equal(t, int64(1), run(byName).RowsWritten, "by name: only the file named after the last one")
	require.Equal(t, int64(2), run(byTime).RowsWritten, "by time: both new files")
	require.NoError(t, os.Chtimes(old, time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
	require.Equal(t, int64(1), run(byTime).RowsWritten, "a file modified again is read again")
	require.Equal(t, []string{"4|4"}, f.query(t, "dev", "SELECT count(*), count(DISTINCT id) FROM raw.n"))
	require.Equal(t, []string{"6|5"}, f.query(t, "dev", "SELECT count(*), count(DISTINCT id) FROM raw.m"))

	lakeJob := "name: l\nsource: {type: lake, table: raw.n}\nincremental: {by: snapshot}\ntarget: {type: lake, table: clean.n}\n"
	require.Equal(t, int64(4), run(lakeJob).RowsWritten)
	f.file(t, "in/2026-11-04.csv", "id\n5\n6\n")
	run(byName)
	rec = run(lakeJob)
	require.Equal(t, int64(2), rec.RowsWritten, "only the appended rows")
	require.Equal(t, int64(0), run(lakeJob).RowsWritten)
	require.Equal(t, []string{"6|6"}, f.query(t, "dev", "SELECT count(*), count(DISTINCT id) FROM clean.n"))

	spec, ps := f.job(t, "name: w\nsource: {type: files, path: '"+f.dir+"/in/2026-11-01.csv'}\ntarget: {type: lake, table: raw.n, mode: overwrite}\n", nil)
	_, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	spec, ps = f.job(t, lakeJob, nil)
	_, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.ErrorContains(t, err, "was rewritten since snapshot")
	require.Equal(t, errs.Invalid, errs.KindOf(err))
}
