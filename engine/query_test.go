//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ordersV1 and ordersV2 are two files of one table: v2 renamed f_count (id 2) to f_cnt and added f_new (id 3).
func ordersTable(t *testing.T) Table {
	dir := t.TempDir()
	f1 := writeParquet(t, dir, "1.parquet",
		"SELECT i::BIGINT AS id, (i*10)::INTEGER AS f_count FROM range(3) t(i)", "{id: 1, f_count: 2}")
	f2 := writeParquet(t, dir, "2.parquet",
		"SELECT (i+3)::BIGINT AS id, (i*10)::INTEGER AS f_cnt, 'n'||i AS f_new FROM range(2) t(i)",
		"{id: 1, f_cnt: 2, f_new: 3}")
	return Table{Schema: "raw", Name: "orders", Files: []string{f1, "file://" + f2}, Columns: []Column{
		{FieldID: 1, Name: "id", Type: "long", Required: true},
		{FieldID: 2, Name: "f_cnt", Type: "int"},
		{FieldID: 3, Name: "f_new", Type: "string"},
	}}
}

func TestQueryProjectsByFieldID(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	tbl := ordersTable(t)
	got := query(t, e, `SELECT id, f_cnt, f_new FROM raw.orders ORDER BY id`, tbl)
	require.Equal(t, [][]string{
		{"0", "0", "NULL"}, {"1", "10", "NULL"}, {"2", "20", "NULL"}, {"3", "0", "n0"}, {"4", "10", "n1"},
	}, got)

	// The same files under an older schema: the column is still called f_count and f_new does not exist.
	old := tbl
	old.Name = "orders_v1"
	old.Columns = []Column{{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 2, Name: "f_count", Type: "long"}}
	res, err := e.Query(context.Background(), `SELECT * FROM "raw"."orders_v1" ORDER BY 1`, []Table{old})
	require.NoError(t, err)
	defer res.Close()
	require.Equal(t, "id int64, f_count int64", schemaString(res.Schema()))
	require.Equal(t, [][]string{{"0", "0"}, {"1", "10"}, {"2", "20"}, {"3", "0"}, {"4", "10"}}, drain(t, res))
}

func TestQueryEmptyTable(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	tbl := Table{Schema: "clean", Name: "empty", Columns: []Column{
		{FieldID: 1, Name: "id", Type: "long"},
		{FieldID: 2, Name: "amount", Type: "decimal(10, 2)"},
		{FieldID: 3, Name: "tags", Type: "list<string>"},
		{FieldID: 4, Name: "attrs", Type: "struct<5: k: required string, 6: v: optional double>"},
		{FieldID: 7, Name: "props", Type: "map<string, long>"},
		{FieldID: 8, Name: "ts", Type: "timestamptz"},
	}}
	res, err := e.Query(context.Background(), "SELECT * FROM clean.empty", []Table{tbl})
	require.NoError(t, err)
	defer res.Close()
	require.Equal(t, "id int64, amount decimal(10, 2), tags list<l: utf8, nullable>, "+
		"attrs struct<k: utf8 nullable, v: float64 nullable>, props map<utf8, int64, items_nullable>, ts timestamp[us, tz=UTC]",
		schemaString(res.Schema()))
	require.Empty(t, drain(t, res))
	require.Equal(t, [][]string{{"0"}}, query(t, e, "SELECT count(*) FROM clean.empty", tbl))
}

func TestQueryNestedTypes(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	f := writeParquet(t, dir, "n.parquet",
		`SELECT 1::BIGINT AS id, {'k': 'a', 'v': 1.5} AS attrs, ['x', 'y'] AS tags, MAP {'m': 7::BIGINT} AS props`,
		"{id: 1, attrs: {__duckdb_field_id: 2, k: 3, v: 4}, tags: {__duckdb_field_id: 5, element: 6}, props: {__duckdb_field_id: 7, key: 8, value: 9}}")
	tbl := Table{Schema: "raw", Name: "nested", Files: []string{f}, Columns: []Column{
		{FieldID: 1, Name: "id", Type: "long"},
		{FieldID: 2, Name: "attrs", Type: "struct<3: k: required string (the key, see (docs)), 4: v: optional double>"},
		{FieldID: 5, Name: "labels", Type: "list<string>"},
		{FieldID: 7, Name: "props", Type: "map<string, long>"},
	}}
	got := query(t, e, "SELECT id, attrs.k, attrs.v, labels[2], props['m'] FROM raw.nested", tbl)
	require.Equal(t, [][]string{{"1", "a", "1.5", "y", "7"}}, got)
}

func TestQuerySandbox(t *testing.T) {
	t.Parallel()
	tbl := ordersTable(t)
	other := writeParquet(t, t.TempDir(), "other.parquet", "SELECT 1 AS x", "{x: 1}")
	e := newEngine(t, Options{})
	for _, sql := range []string{
		fmt.Sprintf("SELECT * FROM read_parquet(%s)", sqlString(other)),
		fmt.Sprintf("COPY (SELECT 1) TO %s", sqlString(filepath.Join(t.TempDir(), "x.csv"))),
		"SET enable_external_access = true",
		"SET memory_limit = '100GB'",
		"INSTALL httpfs",
	} {
		res, err := e.Query(context.Background(), sql, []Table{tbl})
		if err == nil {
			drain(t, res) // must not get here; drain fails the test on a clean end
			res.Close()
		}
		require.Error(t, err, sql)
		require.ErrorIs(t, err, ErrInvalid, sql)
	}
	// With ExternalAccess the command-line user may read any file.
	open := newEngine(t, Options{ExternalAccess: true})
	require.Equal(t, [][]string{{"1"}}, query(t, open, fmt.Sprintf("SELECT * FROM read_parquet(%s)", sqlString(other))))
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	for _, tc := range []struct {
		sql, kind string
	}{
		{"SELEC 1", "Parser"},
		{"SELECT nope FROM raw.orders", "Binder"},
		{"SELECT * FROM raw.missing", "Catalog"},
		{"", ""},
	} {
		_, err := e.Query(context.Background(), tc.sql, []Table{ordersTable(t)})
		require.ErrorIs(t, err, ErrInvalid, tc.sql)
		if tc.kind != "" {
			var de *Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, tc.kind, de.Kind)
		}
	}
	_, err := e.Query(context.Background(), "SELECT 1", []Table{{Schema: "raw", Name: "t", Columns: []Column{{FieldID: 1, Name: "a", Type: "variant"}}}})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, `column "a"`)
}

func TestQueryErrorMidStream(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	res, err := e.Query(context.Background(),
		"SELECT CASE WHEN i < 300000 THEN i ELSE error('boom at ' || i) END AS v FROM range(1000000) t(i)", nil)
	require.NoError(t, err)
	defer res.Close()
	n := 0
	for res.Next() {
		n += int(res.RecordBatch().NumRows())
	}
	require.Greater(t, n, 0, "some batches arrive before the failure")
	require.Less(t, n, 1000000)
	require.ErrorContains(t, res.Err(), "boom at")
}

func TestQueryMultipleStatements(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	got := query(t, e, "CREATE TEMP TABLE x AS SELECT 41 AS a; SELECT a + 1 FROM x")
	require.Equal(t, [][]string{{"42"}}, got)
}

func TestQueryCancelAndEarlyClose(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})

	// Cancelled while Query computes the aggregate (Query returns once the first rows are ready).
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.Query(ctx, slowSQL, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 10*time.Second)

	// Cancelled while Next waits for rows.
	ctx, cancel = context.WithCancel(context.Background())
	res, err := e.Query(ctx, slowStreamSQL, nil)
	require.NoError(t, err)
	require.True(t, res.Next())
	time.AfterFunc(200*time.Millisecond, cancel)
	for res.Next() {
	}
	require.ErrorIs(t, res.Err(), context.Canceled)
	require.NoError(t, res.Close())
	require.NoError(t, res.Close(), "Close is idempotent")

	// Stop reading a long result after one batch.
	res, err = e.Query(context.Background(), "SELECT * FROM range(100000000)", nil)
	require.NoError(t, err)
	require.True(t, res.Next())
	require.NoError(t, res.Close())
	require.False(t, res.Next())

	// Close from another goroutine while Next waits.
	res, err = e.Query(context.Background(), slowStreamSQL, nil)
	require.NoError(t, err)
	done := make(chan bool)
	go func() {
		for res.Next() {
		}
		done <- false
	}()
	time.Sleep(200 * time.Millisecond)
	start = time.Now()
	require.NoError(t, res.Close())
	require.False(t, <-done)
	require.Less(t, time.Since(start), 10*time.Second)
}

func TestQueryConcurrent(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Threads: 1})
	tbl := ordersTable(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each query creates its own temp table of the same name: isolated databases do not collide.
			sql := fmt.Sprintf("CREATE TEMP TABLE scratch AS SELECT %d AS q; SELECT q, count(*) FROM scratch, raw.orders GROUP BY q", i)
			res, err := e.Query(context.Background(), sql, []Table{tbl})
			if err != nil {
				errs <- err
				return
			}
			defer res.Close()
			rows := drain(t, res)
			if len(rows) != 1 || rows[0][0] != fmt.Sprint(i) || rows[0][1] != "5" {
				errs <- fmt.Errorf("query %d: got %v", i, rows)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestQueryAggregateMatchesDuckDB compares a grouped aggregate over a few million rows in several files with
// the same SQL run by DuckDB directly over the files.
func TestQueryAggregateMatchesDuckDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tbl := bigTable(t, dir, 4, 750_000)
	e := newEngine(t, Options{})
	agg := "SELECT k, count(*), sum(v), min(s), max(s) FROM %s GROUP BY k ORDER BY k"
	got := query(t, e, fmt.Sprintf(agg, "raw.big"), tbl)
	want := duck(t, fmt.Sprintf(agg, fmt.Sprintf("read_parquet(%s)", sqlStringList(tbl.Files))))
	require.Len(t, got, 100)
	require.Equal(t, want, got)
	require.Equal(t, [][]string{{"3000000"}}, query(t, e, "SELECT count(*) FROM raw.big", tbl))
}

// bigTable writes n files of rows rows each: k (0..99), v, s.
func bigTable(t testing.TB, dir string, n, rows int) Table {
	t.Helper()
	tbl := Table{Schema: "raw", Name: "big", Columns: []Column{
		{FieldID: 1, Name: "k", Type: "int"}, {FieldID: 2, Name: "v", Type: "long"}, {FieldID: 3, Name: "s", Type: "string"},
	}}
	for f := range n {
		sel := fmt.Sprintf("SELECT (i %% 100)::INTEGER AS k, (i * 7 + %d)::BIGINT AS v, 's' || (i %% 1000) AS s FROM range(%d) t(i)", f, rows)
		tbl.Files = append(tbl.Files, writeParquet(t, dir, fmt.Sprintf("%d.parquet", f), sel, "{k: 1, v: 2, s: 3}"))
	}
	return tbl
}

func TestQueryClosedEngine(t *testing.T) {
	t.Parallel()
	e, err := New(Options{TempDir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, e.Close())
	_, err = e.Query(context.Background(), "SELECT 1", nil)
	require.True(t, errors.Is(err, ErrClosed))
}

func TestQueryTempDirCleanedUp(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	e := newEngine(t, Options{TempDir: tmp, MemoryLimit: "64MB", Threads: 1, Spares: -1})
	// A sort bigger than the memory limit spills to the private temp dir.
	got := query(t, e, "SELECT count(*) FROM (SELECT i, repeat('x', 100) || i AS s FROM range(3000000) t(i) ORDER BY s DESC)")
	require.Equal(t, [][]string{{"3000000"}}, got)
	require.NoError(t, e.Close(), "Close waits for databases closing in the background")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "each query removes its temp dir")
}

// slowSQL takes minutes: a cross product that DuckDB cannot shortcut.
const slowSQL = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b"

// slowStreamSQL returns its first batches at once and then no row for minutes.
const slowStreamSQL = "SELECT range AS x FROM range(1000000000000) WHERE range < 2000000 OR hash(range) = 0"

// Lake views carry no row estimates, so DuckDB would turn an ASOF join over them into a nested loop (54 CPU-s for a
// 1M x 100k point-in-time join); every database plans the real ASOF join.
func TestASOFJoinIsNeverANestedLoop(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	res, err := e.Query(context.Background(), "SELECT current_setting('asof_loop_join_threshold')", nil)
	require.NoError(t, err)
	defer res.Close()
	require.Equal(t, [][]string{{"0"}}, drain(t, res))
}

// A TIME WITH TIME ZONE column's Arrow form drops the offset, so the engine marks it; a plain time and a list of
// timetz are not marked.
func TestTimeTZColumnHint(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	res, err := e.Query(context.Background(), "SELECT TIMETZ '10:00:00+02' AS t, TIME '10:00' AS p, [TIMETZ '10:00:00+02'] AS l", nil)
	require.NoError(t, err)
	defer res.Close()
	require.Equal(t, []string{HintTimeTZ, "", HintTimeTZ + "[]"}, res.ColumnHints())
}
