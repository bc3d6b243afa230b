//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var reuse = QueryOptions{Reuse: true}

// queryWith runs sql with opts and returns its rows, closing the result.
func queryWith(t testing.TB, e *Engine, sql string, opts QueryOptions, tables ...Table) [][]string {
	t.Helper()
	res, err := e.QueryWith(context.Background(), sql, tables, opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, res.Close()) }()
	return drain(t, res)
}

// whichDB names the database a query ran in: each has its own private temp directory.
const whichDB = "SELECT current_setting('temp_directory')"

// idTable is a one-file table raw.<name> holding ids from..to-1.
func idTable(t *testing.T, name string, from, to int) Table {
	f := writeParquet(t, t.TempDir(), name+".parquet",
		fmt.Sprintf("SELECT i::BIGINT AS id FROM range(%d, %d) t(i)", from, to), "{id: 1}")
	return Table{Schema: "raw", Name: name, Files: []string{f}, Columns: []Column{{FieldID: 1, Name: "id", Type: "long"}}}
}

func TestPoolReusesSealedDatabaseForSameSnapshot(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 3)
	first := queryWith(t, e, whichDB, reuse, a)
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, first, queryWith(t, e, whichDB, reuse, a), "same tables: the pooled database runs it")
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, [][]string{{"3"}}, queryWith(t, e, "SELECT count(*) FROM raw.a", reuse, a))

	// Without Reuse a fresh database runs it and nothing is pooled.
	require.NotEqual(t, first, queryWith(t, e, whichDB, QueryOptions{}, a))
	require.Equal(t, 1, e.Pooled())

	// The sandbox still holds in a reused database.
	_, err := e.QueryWith(context.Background(), "SET lock_configuration = false", []Table{a}, reuse)
	require.Error(t, err)
}

func TestPoolKeysBySnapshot(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a1 := idTable(t, "a", 0, 3)
	b := idTable(t, "b", 10, 12)
	require.Equal(t, [][]string{{"3"}}, queryWith(t, e, "SELECT count(*) FROM raw.a", reuse, a1))
	require.Equal(t, [][]string{{"10"}, {"11"}}, queryWith(t, e, "SELECT id FROM raw.b ORDER BY id", reuse, b))
	require.Equal(t, 2, e.Pooled())

	// A new snapshot of raw.a (another file) never sees the pooled database of the old one.
	a2 := idTable(t, "a", 100, 105)
	require.Equal(t, [][]string{{"5", "100"}}, queryWith(t, e, "SELECT count(*), min(id) FROM raw.a", reuse, a2))
	require.Equal(t, [][]string{{"3", "0"}}, queryWith(t, e, "SELECT count(*), min(id) FROM raw.a", reuse, a1))
	_, err := e.QueryWith(context.Background(), "SELECT * FROM raw.b", []Table{a1}, reuse)
	require.Error(t, err, "a pooled database sealed for raw.b must not serve a query given only raw.a")
}

func TestPoolNeverKeepsChangedOrInterruptedDatabases(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 3)
	ctx := context.Background()

	// Statements that change the database: not pooled, and the next query does not see their objects.
	queryWith(t, e, "CREATE TABLE scratch AS SELECT 1 AS x; SELECT * FROM scratch", reuse, a)
	queryWith(t, e, "CREATE MACRO m() AS 42; SELECT m()", reuse, a)
	require.Equal(t, 0, e.Pooled())

	// A failed query, one closed before its end and a cancelled one: not pooled.
	_, err := e.QueryWith(ctx, "SELECT nope FROM raw.a", []Table{a}, reuse)
	require.Error(t, err)
	res, err := e.QueryWith(ctx, "SELECT * FROM range(10000000)", []Table{a}, reuse)
	require.NoError(t, err)
	require.True(t, res.Next())
	require.NoError(t, res.Close())
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = e.QueryWith(cctx, "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3", []Table{a}, reuse)
	cancel()
	require.Error(t, err)
	require.Equal(t, 0, e.Pooled())

	// A query read to the end whose context is cancelled before Close: the watcher may have interrupted it.
	cctx, cancel = context.WithCancel(ctx)
	res, err = e.QueryWith(cctx, "SELECT 1", []Table{a}, reuse)
	require.NoError(t, err)
	for res.Next() {
	}
	require.NoError(t, res.Err())
	cancel()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, res.Close())
	require.Equal(t, 0, e.Pooled())

	// A clean read is pooled, and the next query in it runs normally.
	queryWith(t, e, "SELECT 1", reuse, a)
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, [][]string{{"3"}}, queryWith(t, e, "SELECT count(*) FROM raw.a", reuse, a))
}

func TestPoolPreparedStatementsReplaceEachOther(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 5)
	for _, id := range []string{"1", "4", "2"} {
		got := queryWith(t, e, "PREPARE strata_stmt AS SELECT id FROM raw.a WHERE id = $1;\nEXECUTE strata_stmt("+id+")", reuse, a)
		require.Equal(t, [][]string{{id}}, got)
		require.Equal(t, 1, e.Pooled())
	}
}

func TestPoolBoundAndIdleEviction(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Pool: 2, PoolIdle: time.Second})
	for i := range 4 {
		queryWith(t, e, "SELECT 1", reuse, idTable(t, fmt.Sprintf("t%d", i), 0, 1))
		require.LessOrEqual(t, e.Pooled(), 2)
	}
	require.Equal(t, 2, e.Pooled())
	require.Eventually(t, func() bool { return e.Pooled() == 0 }, 10*time.Second, 20*time.Millisecond)

	off := newEngine(t, Options{Pool: -1})
	queryWith(t, off, "SELECT 1", reuse, idTable(t, "a", 0, 1))
	require.Equal(t, 0, off.Pooled())
}

func TestPoolConcurrentQueries(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Threads: 1, Pool: 3})
	tables := []Table{idTable(t, "a", 0, 3), idTable(t, "b", 10, 15)}
	want := [][][]string{{{"3", "0"}}, {{"5", "10"}}}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				k := (g + i) % 2
				sql := fmt.Sprintf("SELECT count(*), min(id) FROM raw.%s", tables[k].Name)
				res, err := e.QueryWith(context.Background(), sql, tables[k:k+1], reuse)
				if err != nil {
					errc <- err
					return
				}
				var rows [][]string
				for res.Next() {
					rows = append(rows, render(res.RecordBatch())...)
				}
				if err := res.Err(); err != nil {
					errc <- err
				}
				_ = res.Close()
				if fmt.Sprint(rows) != fmt.Sprint(want[k]) {
					errc <- fmt.Errorf("table %s: got %v, want %v", tables[k].Name, rows, want[k])
				}
				require.LessOrEqual(t, e.Pooled(), 3)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	require.Positive(t, e.Pooled())
}

func TestHotLoadingCountsCopiesUnderWay(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 3_000_000)
	require.Zero(t, e.HotLoading())
	useTwice(t, e, a)
	// The copy of 3M rows runs in the background after the second use; either it is still under way or done.
	require.True(t, e.HotLoading() == 1 || e.HotLoads() == 1, "loading %d, loaded %d", e.HotLoading(), e.HotLoads())
	require.Eventually(t, func() bool { return e.HotLoading() == 0 && e.HotLoads() == 1 }, 60*time.Second, 5*time.Millisecond)
	queryWith(t, e, "SELECT 1", reuse, a)
	require.Zero(t, e.HotLoading(), "a database whose copy ended is not loading when it comes back")
}

func TestHotDatabaseOutlivesPoolIdle(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{PoolIdle: 100 * time.Millisecond})
	hot, cold := idTable(t, "hot", 0, 5000), idTable(t, "cold", 0, 5)
	useTwice(t, e, hot)
	waitHot(t, e, 1)
	queryWith(t, e, "SELECT 1", reuse, cold)
	// The database that copied its tables into memory stays pooled past PoolIdle; the other one does not.
	require.Eventually(t, func() bool { return e.Pooled() == 1 }, 20*time.Second, 5*time.Millisecond)
	require.Positive(t, e.HotBytes())
	require.Equal(t, [][]string{{"5000"}}, queryWith(t, e, "SELECT count(*) FROM raw.hot", reuse, hot))
	require.Equal(t, int64(1), e.HotLoads(), "the same in-memory copy served it")
	// It is closed too once idle for hotIdleFactor × PoolIdle, and its memory given back.
	require.Eventually(t, func() bool { return e.Pooled() == 0 && e.HotBytes() == 0 }, 20*time.Second, 10*time.Millisecond)
}

// TestSetupDatabaseOutlivesPoolIdle: a setup's database (QueryInSetup, the PostgreSQL catalog) stays pooled past
// PoolIdle, as a hot one does, while a plain query's database is closed; it is closed too after hotIdleFactor ×
// PoolIdle.
func TestSetupDatabaseOutlivesPoolIdle(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{PoolIdle: 100 * time.Millisecond})
	built := 0
	s := countingSetup("v1", "CREATE TABLE facts AS SELECT 1 AS n;", &built)
	require.Equal(t, [][]string{{"1"}}, inSetup(t, e, s, "SELECT n FROM facts"))
	queryWith(t, e, "SELECT 1", reuse, idTable(t, "plain", 0, 5))
	require.Equal(t, 2, e.Pooled())
	require.Eventually(t, func() bool { return e.Pooled() == 1 }, 20*time.Second, 5*time.Millisecond)
	require.Equal(t, [][]string{{"1"}}, inSetup(t, e, s, "SELECT n FROM facts"))
	require.Equal(t, 1, built, "the pooled setup database served it")
	require.Eventually(t, func() bool { return e.Pooled() == 0 }, 20*time.Second, 10*time.Millisecond)
}

// TestCopyingDatabaseIsKeptLikeAHotOne: the sweep keeps a database whose copy into memory is under way as long as a
// hot one (a copy slower than PoolIdle on a busy machine is not cancelled and paid again), and one whose copy ended
// without bytes as long as any other.
func TestCopyingDatabaseIsKeptLikeAHotOne(t *testing.T) {
	require.False(t, (&instance{}).hotOrCopying(), "never tried")
	copying := &instance{loadDone: make(chan struct{})}
	require.True(t, copying.hotOrCopying(), "copy under way")
	close(copying.loadDone)
	require.False(t, copying.hotOrCopying(), "copy ended with nothing held (too large, failed, cancelled)")
	copying.hotBytes = 1 << 20
	require.True(t, copying.hotOrCopying(), "copy ended and held")
}
