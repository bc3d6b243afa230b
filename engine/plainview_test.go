//go:build duckdb_arrow

package engine

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"
)

// explain returns the physical plan DuckDB makes for sql over tables, as one text.
func explain(t *testing.T, e *Engine, sql string, tables ...Table) string {
	t.Helper()
	var b strings.Builder
	for _, row := range query(t, e, "EXPLAIN "+sql, tables...) {
		b.WriteString(strings.Join(row, "\n"))
	}
	return b.String()
}

// groupTable is one file of 100k rows: g in 0..99, v = i, name 'name ' || (i % 1000).
func groupTable(t *testing.T) Table {
	f := writeParquet(t, t.TempDir(), "g.parquet",
		"SELECT i::BIGINT AS v, (i % 100)::INTEGER AS g, 'name ' || (i % 1000)::VARCHAR AS name FROM range(100000) t(i)",
		"{v: 1, g: 2, name: 3}")
	return Table{Schema: "clean", Name: "grouped", Files: []string{f}, Columns: []Column{
		{FieldID: 1, Name: "v", Type: "long"}, {FieldID: 2, Name: "g", Type: "int"}, {FieldID: 3, Name: "name", Type: "string"},
	}}
}

// TestViewGivesThePlannerStatistics: a GROUP BY over a small integer range of a lake table is planned as DuckDB's
// perfect hash aggregate, which needs the column's minimum and maximum from the Parquet statistics; the
// field-id form of the view (FieldIDViews) hands none, so DuckDB falls back to its general hash aggregate.
func TestViewGivesThePlannerStatistics(t *testing.T) {
	t.Parallel()
	tbl := groupTable(t)
	const agg = "SELECT g, count(*), sum(v), max(name) FROM clean.grouped GROUP BY g ORDER BY g"
	plain := explain(t, newEngine(t, Options{}), agg, tbl)
	require.Contains(t, plain, "PERFECT_HASH_GROUP_BY")
	byID := explain(t, newEngine(t, Options{FieldIDViews: true}), agg, tbl)
	require.NotContains(t, byID, "PERFECT_HASH_GROUP_BY")
	require.Contains(t, byID, "HASH_GROUP_BY")

	// A filter the statistics prove empty is no scan at all.
	require.NotContains(t, explain(t, newEngine(t, Options{}), "SELECT * FROM clean.grouped WHERE g > 500", tbl), "READ_PARQUET")
	require.Contains(t, explain(t, newEngine(t, Options{FieldIDViews: true}), "SELECT * FROM clean.grouped WHERE g > 500", tbl), "READ_PARQUET")

	// Same answers both ways, pooled, and from the in-memory copy.
	want := query(t, newEngine(t, Options{FieldIDViews: true}), agg, tbl)
	require.Len(t, want, 100)
	require.Equal(t, []string{"0", "1000", "49950000", "name 900"}, want[0])
	require.Equal(t, want, query(t, newEngine(t, Options{}), agg, tbl))
	e := newEngine(t, Options{})
	useTwice(t, e, tbl)
	waitHot(t, e, 1)
	require.Equal(t, want, queryWith(t, e, agg, reuse, tbl))
}

// corruptRowGroup overwrites the first page (dictionary or data) of column col in row group rg of a Parquet file,
// so that any read of that column chunk fails.
func corruptRowGroup(t *testing.T, path string, rg, col int) {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	require.NoError(t, err)
	cc, err := r.MetaData().RowGroup(rg).ColumnChunk(col)
	require.NoError(t, err)
	off := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
		off = min(off, cc.DictionaryPageOffset())
	}
	require.NoError(t, r.Close())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(strings.Repeat("\xff", 32)), off)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestViewFilterSkipsRowGroups: a time filter on a table whose row groups are ordered by time reads only the row
// groups whose statistics overlap it. Shown without timing: the first row group's ts pages are made unreadable,
// a query that needs them fails, and one whose filter excludes that row group by its statistics succeeds (its
// rows are never decoded), through the plain view and through the field-id one.
func TestViewFilterSkipsRowGroups(t *testing.T) {
	t.Parallel()
	f := writeParquet(t, t.TempDir(), "ts.parquet",
		"SELECT i::BIGINT AS id, TIMESTAMP '2026-01-01' + i * INTERVAL 1 MINUTE AS ts FROM range(40000) t(i) ORDER BY i",
		"{id: 1, ts: 2}, ROW_GROUP_SIZE 10000")
	r, err := file.OpenParquetFile(f, false)
	require.NoError(t, err)
	require.Equal(t, 4, r.NumRowGroups())
	require.NoError(t, r.Close())
	corruptRowGroup(t, f, 0, 1)
	tbl := Table{Schema: "raw", Name: "events", Files: []string{f}, Columns: []Column{
		{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 2, Name: "ts", Type: "timestamp"},
	}}
	for _, opts := range []Options{{}, {FieldIDViews: true}} {
		e := newEngine(t, opts)
		// minutes 20000..20999: row group 2 only
		got := query(t, e, "SELECT count(*), min(id), max(id) FROM raw.events "+
			"WHERE ts BETWEEN TIMESTAMP '2026-01-01' + INTERVAL 20000 MINUTE AND TIMESTAMP '2026-01-01' + INTERVAL 20999 MINUTE", tbl)
		require.Equal(t, [][]string{{"1000", "20000", "20999"}}, got, "FieldIDViews=%v", opts.FieldIDViews)
		_, err := e.Query(t.Context(), "SELECT count(*) FROM raw.events WHERE ts < TIMESTAMP '2026-01-02'", []Table{tbl})
		require.Error(t, err, "the first row group's ts column is unreadable")
	}
}

// TestViewRenamedAndAddedColumns: files written before a rename and before a column was added read through the
// plain view, by field id: the old physical name under the new one, the added column as NULL, and the same rows
// as the field-id view.
func TestViewRenamedAndAddedColumns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Both files were written when the columns were id, f_count (id 2) and small (id 3, a SMALLINT).
	f1 := writeParquet(t, dir, "1.parquet",
		"SELECT i::BIGINT AS id, (i*10)::INTEGER AS f_count, i::SMALLINT AS small FROM range(3) t(i)", "{id: 1, f_count: 2, small: 3}")
	f2 := writeParquet(t, dir, "2.parquet",
		"SELECT (i+3)::BIGINT AS id, (i*10)::INTEGER AS f_count, i::SMALLINT AS small FROM range(2) t(i)", "{id: 1, f_count: 2, small: 3}")
	// Since then: f_count renamed to f_cnt, small promoted to int (Iceberg's smallest integer), f_new added.
	tbl := Table{Schema: "raw", Name: "orders", Files: []string{f1, f2}, Columns: []Column{
		{FieldID: 2, Name: "f_cnt", Type: "int"},
		{FieldID: 1, Name: "id", Type: "long", Required: true},
		{FieldID: 4, Name: "f_new", Type: "string"},
		{FieldID: 3, Name: "small", Type: "long"},
	}}
	e := newEngine(t, Options{})
	view, _, err := e.viewSelect(tbl)
	require.NoError(t, err)
	require.NotContains(t, view, "schema = MAP", "the files line up with the schema: plain read_parquet")
	require.Contains(t, view, `"f_count" AS "f_cnt"`)
	require.Contains(t, view, `CAST(NULL AS VARCHAR) AS "f_new"`)
	require.Contains(t, view, `CAST("small" AS BIGINT) AS "small"`)
	want := [][]string{{"0", "0", "NULL", "0"}, {"10", "1", "NULL", "1"}, {"20", "2", "NULL", "2"}, {"0", "3", "NULL", "0"}, {"10", "4", "NULL", "1"}}
	const q = "SELECT * FROM raw.orders ORDER BY id"
	require.Equal(t, want, query(t, e, q, tbl))
	require.Equal(t, want, query(t, newEngine(t, Options{FieldIDViews: true}), q, tbl))
	res, err := e.Query(t.Context(), q, []Table{tbl})
	require.NoError(t, err)
	require.Equal(t, "f_cnt int32, id int64, f_new utf8, small int64", schemaString(res.Schema()))
	require.NoError(t, res.Close())

	// A file written after f_new was added (under the new names) has columns the old ones lack: read by name
	// across the files, the old ones' f_new is NULL.
	f3 := writeParquet(t, dir, "3.parquet",
		"SELECT 5::BIGINT AS id, 50::INTEGER AS f_count, 5::SMALLINT AS small, 'x' AS f_new", "{id: 1, f_count: 2, small: 3, f_new: 4}")
	tbl.Files = append(tbl.Files, f3)
	view, _, err = e.viewSelect(tbl)
	require.NoError(t, err)
	require.Contains(t, view, "union_by_name = true")
	want = append(want, []string{"50", "5", "x", "5"})
	require.Equal(t, want, query(t, e, q, tbl))
	require.Equal(t, want, query(t, newEngine(t, Options{FieldIDViews: true}), q, tbl))
}

// TestViewKeepsFieldIDsWhenNamesDisagree: where reading by name would not be reading by field id, the view keeps
// the field-id form: a file written after a rename (one physical name per file for one id), a column dropped and
// added again under its old name (one name, two ids; in a single file the old column is simply not read), a type
// the plain read would change.
func TestViewKeepsFieldIDsWhenNamesDisagree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEngine(t, Options{})
	for _, c := range []struct {
		name  string
		files [][2]string // select, field ids
		cols  []Column
		want  [][]string
		plain bool // the plain form reads it right after all
	}{
		{"rename between files", [][2]string{
			{"SELECT 1::BIGINT AS id, 10::INTEGER AS f_count", "{id: 1, f_count: 2}"},
			{"SELECT 2::BIGINT AS id, 20::INTEGER AS f_cnt", "{id: 1, f_cnt: 2}"},
		}, []Column{{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 2, Name: "f_cnt", Type: "int"}},
			[][]string{{"1", "10"}, {"2", "20"}}, false},
		{"dropped and added again", [][2]string{
			{"SELECT 1::BIGINT AS id, 'old' AS x", "{id: 1, x: 2}"},
			{"SELECT 2::BIGINT AS id, 'new' AS x", "{id: 1, x: 3}"},
		}, []Column{{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 3, Name: "x", Type: "string"}},
			[][]string{{"1", "NULL"}, {"2", "new"}}, false},
		{"dropped and added again, one file", [][2]string{
			{"SELECT 1::BIGINT AS id, 'old' AS x", "{id: 1, x: 2}"},
		}, []Column{{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 3, Name: "x", Type: "string"}},
			[][]string{{"1", "NULL"}}, true},
		{"narrowing type", [][2]string{
			{"SELECT 1::BIGINT AS id, 1.5::DOUBLE AS f", "{id: 1, f: 2}"},
		}, []Column{{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 2, Name: "f", Type: "float"}},
			[][]string{{"1", "1.5"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tbl := Table{Schema: "raw", Name: "t", Columns: c.cols}
			for i, f := range c.files {
				tbl.Files = append(tbl.Files, writeParquet(t, dir, fmt.Sprintf("%s-%d.parquet", strings.ReplaceAll(c.name, " ", "_"), i), f[0], f[1]))
			}
			view, _, err := e.viewSelect(tbl)
			require.NoError(t, err)
			require.Equal(t, !c.plain, strings.Contains(view, "schema = MAP"), view)
			require.Equal(t, c.want, query(t, e, "SELECT * FROM raw.t ORDER BY id", tbl))
		})
	}
}

// TestViewPrimitiveTypesSameAsFieldIDs: every primitive lake type reads through the plain view with the same
// Arrow schema, hints and values as through the field-id view (the files' physical names differ from the
// columns': each one is an alias). allTypesTable's first two files have the same columns (nested ones included,
// not read here) and read plainly; its third, all NULLs, has tsns as TIMESTAMP_NS where the others have TIMESTAMP,
// and with nested columns around the view keeps the field-id form for the three.
func TestViewPrimitiveTypesSameAsFieldIDs(t *testing.T) {
	t.Parallel()
	all := allTypesTable(t)
	var cols []Column
	for _, c := range all.Columns {
		if !strings.ContainsAny(c.Type, "<") && c.Name != "tsns" {
			cols = append(cols, c)
		}
	}
	all.Columns = cols
	e, byID := newEngine(t, Options{}), newEngine(t, Options{FieldIDViews: true})
	for _, tc := range []struct {
		files []string
		plain bool
	}{{all.Files[:2], true}, {all.Files, false}} {
		tbl := all
		tbl.Files = tc.files
		view, _, err := e.viewSelect(tbl)
		require.NoError(t, err)
		require.Equal(t, tc.plain, !strings.Contains(view, "schema = MAP"), view)
		for _, q := range []string{
			"SELECT * FROM raw.all_types ORDER BY l",
			"SELECT count(*), sum(l), avg(d), min(ts), max(tstz), min(tm), count(DISTINCT u), sum(dec), max(bin), max(fx) FROM raw.all_types",
			"SELECT * FROM raw.all_types WHERE ts > TIMESTAMP '2024-01-02' AND i < 3000 ORDER BY l",
		} {
			run := func(e *Engine) (string, [][]string) {
				res, err := e.Query(t.Context(), q, []Table{tbl})
				require.NoError(t, err)
				defer func() { require.NoError(t, res.Close()) }()
				return res.Schema().String() + fmt.Sprint(res.ColumnHints()), drain(t, res)
			}
			s1, r1 := run(byID)
			s2, r2 := run(e)
			require.Equal(t, s1, s2, q)
			require.Equal(t, r1, r2, q)
			require.NotEmpty(t, r1)
		}
	}
}

// TestPositionalScanSQL: the scan reads the table's rows with their positions, plainly when the files line up with
// the schema (renamed columns under their new names) and by field id when they do not, with the same answers.
func TestPositionalScanSQL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f1 := writeParquet(t, dir, "b.parquet", "SELECT i::BIGINT AS id, (i*10)::INTEGER AS f_count FROM range(3) t(i)", "{id: 1, f_count: 2}")
	f2 := writeParquet(t, dir, "a.parquet", "SELECT (i+3)::BIGINT AS id, (i*10)::INTEGER AS f_count FROM range(2) t(i)", "{id: 1, f_count: 2}")
	tbl := Table{Schema: "raw", Name: "orders", Files: []string{f1, "file://" + f2}, Columns: []Column{
		{FieldID: 1, Name: "id", Type: "long"}, {FieldID: 2, Name: "f_cnt", Type: "int"},
	}}
	scan, err := PositionalScanSQL(tbl)
	require.NoError(t, err)
	require.NotContains(t, scan, "schema = MAP")
	// a.parquet sorts first: file_index 0
	want := [][]string{{"3", "0", "0", "0"}, {"4", "10", "0", "1"}, {"0", "0", "1", "0"}, {"1", "10", "1", "1"}, {"2", "20", "1", "2"}}
	e := newEngine(t, Options{})
	const q = "SELECT id, f_cnt, file_index, file_row_number FROM %s ORDER BY file_index, file_row_number"
	require.Equal(t, want, query(t, e, fmt.Sprintf(q, scan), tbl))

	// A third file written after the rename: the names disagree between files, so the scan reads by field id.
	f3 := writeParquet(t, dir, "c.parquet", "SELECT 9::BIGINT AS id, 90::INTEGER AS f_cnt", "{id: 1, f_cnt: 2}")
	tbl.Files = append(tbl.Files, f3)
	scan, err = PositionalScanSQL(tbl)
	require.NoError(t, err)
	require.Contains(t, scan, "schema = MAP")
	require.Equal(t, append(want, []string{"9", "90", "2", "0"}), query(t, e, fmt.Sprintf(q, scan), tbl))

	_, err = PositionalScanSQL(Table{Schema: "raw", Name: "empty", Columns: tbl.Columns})
	require.ErrorIs(t, err, ErrInvalid)
}
