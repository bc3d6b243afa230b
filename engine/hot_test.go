//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// viewsLeft counts the views of the database a query runs in that still read Parquet: a database whose tables
// were copied into memory has none (its views read the copies).
const viewsLeft = "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND sql NOT LIKE '%" + hotDatabase + "%'"

// allTypesTable is a table with a column of every Iceberg type the engine maps (TestDuckTypeOf), in 3 files of
// which one holds NULLs, and its columns renamed from the files' names (read by field id).
func allTypesTable(t *testing.T) Table {
	dir := t.TempDir()
	cols := []Column{
		{1, "b", "boolean", false}, {2, "i", "int", false}, {3, "l", "long", true}, {4, "f", "float", false},
		{5, "d", "double", false}, {6, "dec", "decimal(38, 10)", false}, {7, "dt", "date", false},
		{8, "tm", "time", false}, {9, "ts", "timestamp", false}, {10, "tstz", "timestamptz", false},
		{11, "tsns", "timestamp_ns", false}, {12, "s", "string", false}, {13, "u", "uuid", false},
		{14, "bin", "binary", false}, {15, "fx", "fixed[4]", false}, {16, "lst", "list<long>", false},
		{18, "mp", "map<string, long>", false},
		{21, "st", "struct<22: a: required int, 23: b: optional list<struct<25: c: optional string>>>", false},
	}
	ids := "{c1: 1, c2: 2, c3: 3, c4: 4, c5: 5, c6: 6, c7: 7, c8: 8, c9: 9, c10: 10, c11: 11, c12: 12, c13: 13, c14: 14, " +
		"c15: 15, c16: {__duckdb_field_id: 16, element: 17}, c18: {__duckdb_field_id: 18, key: 19, value: 20}, " +
		"c21: {__duckdb_field_id: 21, a: 22, b: {__duckdb_field_id: 23, element: {__duckdb_field_id: 24, c: 25}}}}"
	values := `SELECT i %% 2 = 0 AS c1, i::INTEGER AS c2, (i * 1000000007)::BIGINT AS c3, (i / 3)::FLOAT AS c4,
		(i / 7)::DOUBLE AS c5, (i * 1.0000000001)::DECIMAL(38, 10) AS c6, DATE '2024-01-01' + i::INTEGER AS c7,
		TIME '01:02:03.456789' + INTERVAL (i) SECOND AS c8, TIMESTAMP '2024-01-01 00:00:00.123456' + INTERVAL (i) MINUTE AS c9,
		TIMESTAMPTZ '2024-01-01 00:00:00+02' + INTERVAL (i) HOUR AS c10,
		TIMESTAMP_NS '2024-01-01 00:00:00.123456789' + INTERVAL (i) SECOND AS c11, 'str ' || i AS c12,
		uuid_extract_uuid(md5(i::VARCHAR)) AS c13, ('bin' || i)::BLOB AS c14, 'fx' || lpad((i %% 100)::VARCHAR, 2, '0') AS c15,
		[i, i + 1]::BIGINT[] AS c16, MAP {'k' || i: i::BIGINT} AS c18,
		{'a': i::INTEGER, 'b': [{'c': 'c' || i}]} AS c21 FROM range(%d, %d) t(i)`
	values = strings.ReplaceAll(values, "uuid_extract_uuid(md5(i::VARCHAR))", "md5(i::VARCHAR)::UUID")
	values = strings.ReplaceAll(values, "'fx' || lpad((i %% 100)::VARCHAR, 2, '0')", "('fx' || lpad((i %% 100)::VARCHAR, 2, '0'))::BLOB")
	var files []string
	for k, r := range [][2]int{{0, 1000}, {1000, 5000}} {
		files = append(files, writeParquet(t, dir, fmt.Sprintf("f%d.parquet", k), fmt.Sprintf(values, r[0], r[1]), ids))
	}
	nulls := make([]string, 0, len(cols))
	for i, c := range []string{"BOOLEAN", "INTEGER", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL(38,10)", "DATE", "TIME",
		"TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP_NS", "VARCHAR", "UUID", "BLOB", "BLOB", "BIGINT[]", "MAP(VARCHAR, BIGINT)",
		`STRUCT(a INTEGER, b STRUCT(c VARCHAR)[])`} {
		v := "NULL"
		if i == 2 {
			v = "-1" // l is required
		}
		nulls = append(nulls, fmt.Sprintf("%s::%s AS c%d", v, c, cols[i].FieldID))
	}
	files = append(files, writeParquet(t, dir, "nulls.parquet", "SELECT "+strings.Join(nulls, ", "), ids))
	return Table{Schema: "raw", Name: "all_types", Files: files, Columns: cols}
}

// waitHot waits until e has loaded want databases' tables into memory and pooled them.
func waitHot(t testing.TB, e *Engine, want int64) {
	t.Helper()
	require.Eventually(t, func() bool { return e.HotLoads() >= want && e.Pooled() >= 1 }, 20*time.Second, 5*time.Millisecond)
}

// oneCopyBudget returns an Options.HotTotalBytes that holds tbl's copy but leaves no room to make a second one: a
// load reserves the tables' uncompressed size while it copies, and the finished copy holds its compressed size.
func oneCopyBudget(t *testing.T, tbl Table) int64 {
	t.Helper()
	e := newEngine(t, Options{})
	useTwice(t, e, tbl)
	waitHot(t, e, 1)
	est := queryWith(t, e, "SELECT sum(total_uncompressed_size) FROM parquet_metadata("+sqlStringList(tbl.Files)+")", reuse, tbl)
	n, err := strconv.ParseInt(est[0][0], 10, 64)
	require.NoError(t, err)
	require.Positive(t, e.HotBytes())
	return n + e.HotBytes() - 1
}

// useTwice runs a query twice with Reuse: the second use makes the pooled database load its tables.
func useTwice(t testing.TB, e *Engine, tables ...Table) {
	t.Helper()
	for range 2 {
		queryWith(t, e, "SELECT 1", reuse, tables...)
	}
}

func TestHotTablesSameResultsAsParquet(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	tbl := allTypesTable(t)
	queries := []string{
		"SELECT * FROM raw.all_types",
		"SELECT * FROM raw.all_types WHERE i = 4321",
		"SELECT count(*), sum(l), avg(d), min(ts), max(tstz), count(DISTINCT u), sum(dec) FROM raw.all_types",
		"SELECT b, count(*), sum(i) FROM raw.all_types GROUP BY b ORDER BY b",
		"SELECT * FROM raw.all_types WHERE s = 'str 3' OR i IS NULL ORDER BY l",
	}
	type result struct {
		schema string
		rows   [][]string
	}
	run := func(sql string, o QueryOptions) result {
		res, err := e.QueryWith(context.Background(), sql, []Table{tbl}, o)
		require.NoError(t, err)
		defer func() { require.NoError(t, res.Close()) }()
		return result{res.Schema().String() + fmt.Sprint(res.ColumnHints()), drain(t, res)}
	}
	want := map[string]result{}
	for _, q := range queries {
		want[q] = run(q, QueryOptions{})
	}
	require.Len(t, want["SELECT * FROM raw.all_types"].rows, 5001)

	useTwice(t, e, tbl)
	waitHot(t, e, 1)
	require.Equal(t, [][]string{{"0"}}, queryWith(t, e, viewsLeft, reuse, tbl), "the view reads an in-memory table")
	require.Positive(t, e.HotBytes())
	for _, q := range queries {
		require.Equal(t, want[q], run(q, reuse), q)
	}
	require.Equal(t, int64(1), e.HotLoads())
}

func TestHotTablesKeepSandbox(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a := idTable(t, "a", 0, 1000)
	other := idTable(t, "other", 0, 3)
	useTwice(t, e, a)
	waitHot(t, e, 1)
	for _, sql := range []string{
		"SET lock_configuration = false",
		"SET enable_external_access = true",
		fmt.Sprintf("SELECT * FROM read_parquet(%s)", sqlString(other.Files[0])),
		fmt.Sprintf("COPY raw.a TO %s", sqlString(other.Files[0]+".out")),
	} {
		_, err := e.QueryWith(context.Background(), sql, []Table{a}, reuse)
		require.Error(t, err, sql)
	}
	require.Equal(t, [][]string{{"1000", "499500"}}, queryWith(t, e, "SELECT count(*), sum(id) FROM raw.a", reuse, a))
}

func TestHotTablesBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	small := idTable(t, "small", 0, 100)
	big := idTable(t, "big", 0, 200000) // 1.6 MB uncompressed

	// Over HotTableBytes: the table stays on Parquet, and the database is pooled and answers as before. (A
	// compressed copy takes at least one 256 KiB block.)
	e := newEngine(t, Options{HotTableBytes: 1 << 20})
	useTwice(t, e, big)
	require.Eventually(t, func() bool { return e.Pooled() == 1 }, 20*time.Second, 5*time.Millisecond)
	require.Equal(t, [][]string{{"1"}}, queryWith(t, e, viewsLeft, reuse, big))
	require.Equal(t, [][]string{{"200000"}}, queryWith(t, e, "SELECT count(*) FROM raw.big", reuse, big))
	require.Zero(t, e.HotLoads())
	require.Zero(t, e.HotBytes())
	useTwice(t, e, small)
	waitHot(t, e, 1)
	require.Equal(t, [][]string{{"0"}}, queryWith(t, e, viewsLeft, reuse, small))

	// HotTotalBytes is for the whole pool: once one database's tables fill it, the next stays on Parquet.
	e = newEngine(t, Options{HotTotalBytes: oneCopyBudget(t, big)})
	useTwice(t, e, big)
	waitHot(t, e, 1)
	held := e.HotBytes()
	require.Positive(t, held)
	require.LessOrEqual(t, held, e.opts.HotTotalBytes)
	other := big
	other.Name = "big2"
	useTwice(t, e, other)
	require.Eventually(t, func() bool { return e.Pooled() == 2 }, 20*time.Second, 5*time.Millisecond)
	require.Equal(t, [][]string{{"1"}}, queryWith(t, e, viewsLeft, reuse, other))
	require.Equal(t, int64(1), e.HotLoads())
	require.Equal(t, held, e.HotBytes())

	// A disabled engine never copies.
	e = newEngine(t, Options{HotTableBytes: -1})
	useTwice(t, e, small)
	queryWith(t, e, "SELECT 1", reuse, small)
	require.Zero(t, e.HotLoads())
	_ = ctx
}

func TestHotTablesReleasedOnEviction(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{PoolIdle: 300 * time.Millisecond})
	a := idTable(t, "a", 0, 5000)
	useTwice(t, e, a)
	waitHot(t, e, 1)
	require.Positive(t, e.HotBytes())
	require.Eventually(t, func() bool { return e.Pooled() == 0 }, 20*time.Second, 10*time.Millisecond, "the idle sweep closes it")
	require.Eventually(t, func() bool { return e.HotBytes() == 0 }, 20*time.Second, 10*time.Millisecond)

	// Evicted because the pool is full.
	e = newEngine(t, Options{Pool: 1})
	useTwice(t, e, a)
	waitHot(t, e, 1)
	require.Positive(t, e.HotBytes())
	queryWith(t, e, "SELECT 1", reuse, idTable(t, "b", 0, 3))
	require.Eventually(t, func() bool { return e.HotBytes() == 0 }, 20*time.Second, 10*time.Millisecond)
}

func TestHotTablesNewSnapshotIsAnotherDatabase(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	a1 := idTable(t, "a", 0, 3)
	useTwice(t, e, a1)
	waitHot(t, e, 1)
	a2 := idTable(t, "a", 10, 15)
	require.Equal(t, [][]string{{"5", "10"}}, queryWith(t, e, "SELECT count(*), min(id) FROM raw.a", reuse, a2))
	require.Equal(t, [][]string{{"3", "0"}}, queryWith(t, e, "SELECT count(*), min(id) FROM raw.a", reuse, a1))
}

func TestHotTablesLoadCancelledByClose(t *testing.T) {
	t.Parallel()
	e, err := New(Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	big := idTable(t, "big", 0, 2000000)
	useTwice(t, e, big) // the load starts in the background
	require.NoError(t, e.Close())
	require.Zero(t, e.HotBytes(), "a load cut short or done holds nothing after Close")
	require.Zero(t, e.Pooled())
}

func TestHotTablesConcurrent(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Pool: 4})
	a := idTable(t, "a", 0, 20000)
	b := idTable(t, "b", 0, 300)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				id := (g*131 + i*17) % 300
				got := queryWith(t, e, fmt.Sprintf("SELECT a.id, count(*) OVER () FROM raw.a JOIN raw.b USING (id) WHERE a.id = %d", id), reuse, a, b)
				require.Equal(t, [][]string{{fmt.Sprint(id), "1"}}, got)
				require.Equal(t, [][]string{{"20000"}}, queryWith(t, e, "SELECT count(*) FROM raw.a", reuse, a))
			}
		}()
	}
	wg.Wait()
	require.Positive(t, e.HotLoads())
}

func TestHotTablesFailedLoadKeepsViews(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	// The column s holds text the table declares as int: queries that do not read it work, the copy fails.
	f := writeParquet(t, t.TempDir(), "bad.parquet", "SELECT i::BIGINT AS id, 'x' || i AS s FROM range(100) t(i)", "{id: 1, s: 2}")
	tbl := Table{Schema: "raw", Name: "bad", Files: []string{f}, Columns: []Column{{1, "id", "long", false}, {2, "s", "int", false}}}
	useTwice(t, e, tbl)
	// Pooled and done copying: while the copy runs it holds the bytes it reserved (CI once saw 1544 here).
	require.Eventually(t, func() bool { return e.Pooled() == 1 && e.HotLoading() == 0 }, 20*time.Second, 5*time.Millisecond)
	require.Zero(t, e.HotLoads())
	require.Zero(t, e.HotBytes(), "the failed copy gave back what it reserved")
	require.Equal(t, [][]string{{"1"}}, queryWith(t, e, viewsLeft, reuse, tbl), "the copy rolled back to the view")
	require.Equal(t, [][]string{{"100", "4950"}}, queryWith(t, e, "SELECT count(*), sum(id) FROM raw.bad", reuse, tbl))
	require.Equal(t, 1, e.Pooled(), "the database is still pooled")
	queryWith(t, e, "SELECT 1", reuse, tbl)
	require.Zero(t, e.HotLoads(), "a database tries once")
}

// TestHotLoadConnectionHasSessionSettings: the copy's connection reads with the session settings of the one that
// serves queries (TimeZone decides how a timestamp file column becomes a timestamptz table column).
func TestHotLoadConnectionHasSessionSettings(t *testing.T) {
	t.Parallel()
	in, err := openInstance(Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, in.close()) }()
	const settings = "SELECT current_setting('TimeZone'), current_setting('produce_arrow_string_view')"
	want, err := in.queryStrings(context.Background(), settings)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"UTC", "false"}}, want)
	got, err := in.aux.queryStrings(context.Background(), settings)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// A database refused by the pool-wide bound copies its tables once the budget frees: here when the
// database holding it is evicted (a full pool). One refused while nothing frees stays on Parquet.
func TestHotTablesRetryWhenBudgetFrees(t *testing.T) {
	t.Parallel()
	big := idTable(t, "big", 0, 200000)
	e := newEngine(t, Options{HotTotalBytes: oneCopyBudget(t, big), Pool: 2}) // one fits, two do not
	useTwice(t, e, big)
	waitHot(t, e, 1)
	held := e.HotBytes()
	other := big
	other.Name = "big2"
	useTwice(t, e, other)
	require.Eventually(t, func() bool { return e.Pooled() == 2 }, 20*time.Second, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a few backoff rounds: the budget is still full
	require.Equal(t, int64(1), e.HotLoads())
	require.Equal(t, held, e.HotBytes())
	require.Equal(t, [][]string{{"1"}}, queryWith(t, e, viewsLeft, reuse, other), "refused: still the view")

	// A third database fills the pool: the oldest (big's, holding the budget) is evicted, and big2 copies.
	queryWith(t, e, "SELECT 1", reuse, idTable(t, "small", 0, 3))
	require.Eventually(t, func() bool { return e.HotLoads() == 2 }, 20*time.Second, 5*time.Millisecond)
	require.Equal(t, [][]string{{"0"}}, queryWith(t, e, viewsLeft, reuse, other), "big2 is now in memory")
	require.Equal(t, [][]string{{"200000"}}, queryWith(t, e, "SELECT count(*) FROM raw.big2", reuse, other))
	require.Positive(t, e.HotBytes())
	require.LessOrEqual(t, e.HotBytes(), e.opts.HotTotalBytes)
}

// The wait for budget ends with the database: closing the engine while a load waits returns promptly.
func TestHotTablesBudgetWaitEndsOnClose(t *testing.T) {
	t.Parallel()
	big := idTable(t, "big", 0, 200000)
	e, err := New(Options{Threads: 1, TempDir: t.TempDir(), HotTotalBytes: oneCopyBudget(t, big)})
	require.NoError(t, err)
	useTwice(t, e, big)
	waitHot(t, e, 1)
	other := big
	other.Name = "big2"
	useTwice(t, e, other)
	time.Sleep(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a load waiting for budget")
	}
	require.Zero(t, e.HotBytes())
}

// TestHotCopiesAreCompressed: the in-memory copy is compressed once filled (strings by dictionary and FSST,
// integers bit-packed), holds a fraction of the plain copy's memory, and answers the same.
func TestHotCopiesAreCompressed(t *testing.T) {
	t.Parallel()
	f := writeParquet(t, t.TempDir(), "c.parquet", `SELECT i::BIGINT AS id, 'name ' || (i % 1000)::VARCHAR AS name,
		(i % 7)::INTEGER AS k, md5(i::VARCHAR) AS tag FROM range(300000) t(i)`, "{id: 1, name: 2, k: 3, tag: 4}")
	tbl := Table{Schema: "raw", Name: "c", Files: []string{f}, Columns: []Column{{1, "id", "long", false},
		{2, "name", "string", false}, {3, "k", "int", false}, {4, "tag", "string", false}}}
	const q = "SELECT k, count(*), sum(id), max(name), min(tag), count(DISTINCT name) FROM raw.c GROUP BY k ORDER BY k"
	held := map[bool]int64{}
	var results [][][]string
	for _, plain := range []bool{true, false} {
		e := newEngine(t, Options{HotUncompressed: plain})
		before := queryWith(t, e, q, reuse, tbl)
		useTwice(t, e, tbl)
		waitHot(t, e, 1)
		require.Equal(t, [][]string{{"0"}}, queryWith(t, e, viewsLeft, reuse, tbl))
		require.Equal(t, before, queryWith(t, e, q, reuse, tbl))
		held[plain] = e.HotBytes()
		compressed := queryWith(t, e, "SELECT count(*) FROM pragma_storage_info('"+hotDatabase+".raw.c') "+
			"WHERE segment_type = 'VARCHAR' AND compression NOT IN ('Uncompressed')", reuse, tbl)
		if plain {
			require.Equal(t, [][]string{{"0"}}, compressed, "the plain copy keeps its strings uncompressed")
		} else {
			require.NotEqual(t, [][]string{{"0"}}, compressed, "the copy's strings are compressed")
		}
		results = append(results, before)
	}
	require.Equal(t, results[0], results[1])
	require.Less(t, held[false]*2, held[true], "compressed %d bytes, plain %d", held[false], held[true])
}

// TestHotSwapUnderConcurrentReaders: queries running while the copy is made and swapped in each see the whole
// table, from Parquet or from memory, never a part of it.
func TestHotSwapUnderConcurrentReaders(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Pool: 4})
	a := idTable(t, "a", 0, 400000)
	const want = "79999800000"
	require.Equal(t, [][]string{{"400000", want}}, queryWith(t, e, "SELECT count(*), sum(id) FROM raw.a", reuse, a))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				require.Equal(t, [][]string{{"400000", want}}, queryWith(t, e, "SELECT count(*), sum(id) FROM raw.a", reuse, a))
			}
		}()
	}
	waitHot(t, e, 1)
	// a few more rounds over the copy
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.Equal(t, [][]string{{"400000", want}}, queryWith(t, e, "SELECT count(*), sum(id) FROM raw.a", reuse, a))
}
