//go:build duckdb_arrow

package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	data := []byte(content)
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write(data)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		data = buf.Bytes()
	}
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// readAll reads a file to the end and returns its schema, rows and the reader's final error.
func readAll(t testing.TB, e *Engine, path string, opts ReadOptions) (*arrow.Schema, [][]string, *FileReader, error) {
	t.Helper()
	fr, err := e.ReadFile(context.Background(), path, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	t.Cleanup(func() { require.NoError(t, fr.Close()) })
	var rows [][]string
	for fr.Next() {
		rows = append(rows, render(fr.RecordBatch())...)
	}
	requireLakeTypes(t, fr.Schema())
	return fr.Schema(), rows, fr, fr.Err()
}

// requireLakeTypes fails unless every type (recursively) is one iceberg-go converts as the lake wants.
func requireLakeTypes(t testing.TB, s *arrow.Schema) {
	t.Helper()
	var check func(path string, dt arrow.DataType)
	check = func(path string, dt arrow.DataType) {
		switch dt := dt.(type) {
		case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type, *arrow.Float32Type,
			*arrow.Float64Type, *arrow.BooleanType, *arrow.StringType, *arrow.BinaryType, *arrow.Date32Type,
			*arrow.Decimal128Type:
		case *arrow.Time64Type:
			require.Equal(t, arrow.Microsecond, dt.Unit, path)
		case *arrow.TimestampType:
			require.Equal(t, arrow.Microsecond, dt.Unit, path)
			require.Contains(t, []string{"", "UTC"}, dt.TimeZone, path)
		case *arrow.ListType:
			check(path+"[]", dt.Elem())
		case *arrow.MapType:
			check(path+".key", dt.KeyType())
			check(path+".value", dt.ItemType())
		case *arrow.StructType:
			for _, f := range dt.Fields() {
				check(path+"."+f.Name, f.Type)
			}
		default:
			t.Fatalf("column %s has type %s, which the lake does not take", path, dt)
		}
	}
	for _, f := range s.Fields() {
		require.Empty(t, f.Metadata.Keys(), "no extension metadata on %s", f.Name)
		check(f.Name, f.Type)
	}
}

func TestReadCSV(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	const data = "id,name,amount,day,at,ok\n" +
		"1,ada,1.5,2026-01-02,2026-01-02 03:04:05,true\n" +
		"2,\"bob, jr\",,2026-01-03,2026-01-03 00:00:00,false\n"
	for _, tc := range []struct {
		name, file string
		opts       ReadOptions
	}{
		{name: "sniffed", file: writeFile(t, dir, "a.csv", data)},
		{name: "gzip", file: writeFile(t, dir, "a.csv.gz", data)},
		{name: "semicolon", file: writeFile(t, dir, "a.txt", strings.ReplaceAll(strings.ReplaceAll(data, ",", ";"), "bob; jr", "bob, jr")),
			opts: ReadOptions{Format: "csv", Delimiter: ";"}},
		{name: "tsv", file: writeFile(t, dir, "a.tsv", strings.ReplaceAll(strings.ReplaceAll(data, ",", "\t"), "bob\t jr", "bob, jr"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema, rows, fr, err := readAll(t, e, tc.file, tc.opts)
			require.NoError(t, err)
			require.Equal(t, "id int64, name utf8, amount float64, day date32, at timestamp[us], ok bool", schemaString(schema))
			require.Equal(t, [][]string{
				{"1", "ada", "1.5", "2026-01-02", "2026-01-02T03:04:05", "true"},
				{"2", "bob, jr", "NULL", "2026-01-03", "2026-01-03T00:00:00", "false"},
			}, rows)
			require.Equal(t, int64(2), fr.Rows())
			require.Empty(t, fr.BadRows())
		})
	}

	t.Run("no header, user columns", func(t *testing.T) {
		noHeader := false
		p := writeFile(t, dir, "b.csv", "7,x\n8,y\n")
		schema, rows, _, err := readAll(t, e, p, ReadOptions{Header: &noHeader,
			Columns: []ColumnDef{{Name: "n", Type: "UTINYINT"}, {Name: "s", Type: "VARCHAR"}}})
		require.NoError(t, err)
		require.Equal(t, "n int16, s utf8", schemaString(schema), "unsigned becomes the next signed type")
		require.Equal(t, [][]string{{"7", "x"}, {"8", "y"}}, rows)
	})
	t.Run("header only", func(t *testing.T) {
		schema, rows, _, err := readAll(t, e, writeFile(t, dir, "h.csv", "a,b\n"), ReadOptions{})
		require.NoError(t, err)
		require.Equal(t, "a utf8, b utf8", schemaString(schema))
		require.Empty(t, rows)
	})
}

// badCSV has four malformed rows: missing column (line 4), extra column (5), invalid UTF-8 (6), and with
// amount typed DOUBLE a value that does not parse (7).
const badCSV = "id,name,amount\n1,a,1.5\n2,b,2.5\n3,c\n4,d,4.5,extra\n5,e\xff\xfe,5.5\n6,f,notnum\n7,\"g\nh\",7.5\n8,h,8.5\n"

var badCSVColumns = []ColumnDef{{Name: "id", Type: "BIGINT"}, {Name: "name", Type: "VARCHAR"}, {Name: "amount", Type: "DOUBLE"}}

func TestReadCSVBadRows(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	p := writeFile(t, t.TempDir(), "bad.csv", badCSV)
	wantBad := []BadRow{
		{File: p, Line: 4, Column: "amount", Message: "Expected Number of Columns: 3 Found: 2"},
		{File: p, Line: 5, Column: "", Message: "Expected Number of Columns: 3 Found: 4"},
		{File: p, Line: 6, Column: "name", Message: "Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded."},
		{File: p, Line: 7, Column: "amount", Message: `Error when converting column "amount". Could not convert string "notnum" to 'DOUBLE'`},
	}
	for _, limit := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("limit %d fails", limit), func(t *testing.T) {
			fr, err := e.ReadFile(context.Background(), p, ReadOptions{Columns: badCSVColumns, MaxBadRows: limit})
			require.NoError(t, err)
			defer fr.Close()
			for fr.Next() { // the good rows may arrive; the end must not be clean
			}
			var bad *BadInputError
			require.ErrorAs(t, fr.Err(), &bad, "too many bad rows must surface from Err, not as a clean end")
			require.ErrorIs(t, fr.Err(), ErrInvalid)
			require.Equal(t, int64(4), bad.Total)
			require.Equal(t, limit, bad.Limit)
			require.Equal(t, wantBad, bad.Rows)
			msg := bad.Error()
			require.Contains(t, msg, p+": 4 malformed rows")
			require.Contains(t, msg, `line 7, column "amount": Error when converting column "amount"`)
			require.Contains(t, msg, "--max-bad-rows N")
			require.False(t, fr.Next(), "the error sticks")
		})
	}
	t.Run("limit 4 skips them", func(t *testing.T) {
		_, rows, fr, err := readAll(t, e, p, ReadOptions{Columns: badCSVColumns, MaxBadRows: 4})
		require.NoError(t, err)
		require.Equal(t, [][]string{{"1", "a", "1.5"}, {"2", "b", "2.5"}, {"7", "g\nh", "7.5"}, {"8", "h", "8.5"}}, rows)
		require.Equal(t, wantBad, fr.BadRows())
	})
	t.Run("sniffed types", func(t *testing.T) {
		// Without user columns the sniffer sees "notnum" and makes amount a string: three bad rows remain.
		schema, _, fr, err := readAll(t, e, p, ReadOptions{MaxBadRows: 3})
		require.NoError(t, err)
		require.Equal(t, "id int64, name utf8, amount utf8", schemaString(schema))
		require.Len(t, fr.BadRows(), 3)
	})
}

func TestReadJSONLines(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	const data = `{"id": 1, "name": "ada", "tags": ["x", "y"], "addr": {"city": "Oslo", "zip": 150}, "big": 18446744073709551615, "at": "2026-01-02T03:04:05Z"}` + "\n" +
		"\n" +
		`{"id": 2, "name": null, "tags": [], "addr": {"city": "Rome", "zip": 100}, "big": 1, "at": "2026-01-03T00:00:00Z"}` + "\r\n"
	const want = "id int64, name utf8, tags list<l: utf8, nullable>, addr struct<city: utf8 nullable, zip: int64 nullable>, big decimal(38, 0), at timestamp[us]"
	for _, name := range []string{"a.jsonl", "a.ndjson.gz", "a.json"} {
		t.Run(name, func(t *testing.T) {
			schema, rows, fr, err := readAll(t, e, writeFile(t, dir, name, data), ReadOptions{})
			require.NoError(t, err)
			require.Equal(t, want, schemaString(schema))
			require.Len(t, rows, 2)
			require.Equal(t, []string{"1", "ada", `["x","y"]`, `{"city":"Oslo","zip":150}`, "18446744073709551615", "2026-01-02T03:04:05"}, rows[0])
			require.Equal(t, int64(2), fr.Rows())
		})
	}
	t.Run("array file", func(t *testing.T) {
		p := writeFile(t, dir, "arr.json", "\xef\xbb\xbf [\n {\"a\": 1},\n {\"a\": 2}\n]\n")
		schema, rows, _, err := readAll(t, e, p, ReadOptions{})
		require.NoError(t, err)
		require.Equal(t, "a int64", schemaString(schema))
		require.Equal(t, [][]string{{"1"}, {"2"}}, rows)
	})
}

func TestReadJSONBadRows(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	data := `{"a": 1}` + "\n" + // 1
		`{"a": 2` + "\n" + // 2: truncated
		"\n" + // 3: blank
		`[1, 2]` + "\n" + // 4: not an object
		"{\"a\": \"\xff\"}\n" + // 5: invalid UTF-8
		`{"a": 3}` + "\n" + // 6
		`{"a": 4} {"a": 5}` + "\n" + // 7: two values
		`{"a": 6}` // 8, no newline at the end
	for _, name := range []string{"bad.jsonl", "bad.jsonl.gz"} {
		p := writeFile(t, dir, name, data)
		wantBad := []BadRow{
			{File: p, Line: 2, Message: "invalid JSON: unexpected end of JSON input"},
			{File: p, Line: 4, Message: "not a JSON object: a JSON lines file has one object per line"},
			{File: p, Line: 5, Message: "invalid UTF-8 (the file must be UTF-8 encoded)"},
			{File: p, Line: 7, Message: "invalid JSON: invalid character '{' after top-level value"},
		}
		t.Run(name+" over the limit", func(t *testing.T) {
			_, err := e.ReadFile(context.Background(), p, ReadOptions{MaxBadRows: 3})
			var bad *BadInputError
			require.ErrorAs(t, err, &bad, "JSON is checked before the first row is delivered")
			require.Equal(t, int64(4), bad.Total)
			require.Equal(t, wantBad, bad.Rows)
			require.Contains(t, err.Error(), "line 4: not a JSON object")
		})
		t.Run(name+" within the limit", func(t *testing.T) {
			_, rows, fr, err := readAll(t, e, p, ReadOptions{MaxBadRows: 4})
			require.NoError(t, err)
			require.Equal(t, [][]string{{"1"}, {"3"}, {"6"}}, rows)
			require.Equal(t, wantBad, fr.BadRows())
		})
	}
	t.Run("value that does not fit the column type", func(t *testing.T) {
		p := writeFile(t, dir, "types.jsonl", "{\"a\": 1}\n\n{\"a\": 2}\nnot json\n{\"a\": \"zz\"}\n")
		_, _, _, err := readAll(t, e, p, ReadOptions{MaxBadRows: 1, Columns: []ColumnDef{{Name: "a", Type: "BIGINT"}}})
		require.ErrorIs(t, err, ErrInvalid)
		// Since issue 11's third slice such a value is a malformed row (counted against MaxBadRows), not a
		// failure of the whole read.
		require.ErrorContains(t, err, "2 malformed rows (1 allowed)")
		require.ErrorContains(t, err, `line 5, column "a": `)
		require.ErrorContains(t, err, `"zz"`)
	})
}

func TestReadParquet(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	p := filepath.Join(dir, "types.parquet")
	duck(t, fmt.Sprintf(`COPY (SELECT 1::UTINYINT AS u8, 2::USMALLINT AS u16, 3::UINTEGER AS u32, 4::UBIGINT AS u64,
		TIMESTAMP_NS '2026-01-02 03:04:05.123456789' AS ns, TIMESTAMP_MS '2026-01-02 03:04:05.123' AS ms,
		TIMESTAMPTZ '2026-01-02 03:04:05+02' AS tz, 'a'::ENUM('a', 'b') AS en, [1, 2]::INTEGER[2] AS arr,
		{'x': 5::UTINYINT, 'y': [6::UINTEGER]} AS st, MAP {'k': 7::USMALLINT} AS mp, uuid() IS NOT NULL AS b,
		'3.14'::DECIMAL(30, 10) AS dec, '12:34:56'::TIME AS tm, '\xAA'::BLOB AS bl) TO %s (FORMAT parquet)`, sqlString(p)))
	schema, rows, _, err := readAll(t, e, p, ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, "u8 int16, u16 int32, u32 int64, u64 decimal(38, 0), ns timestamp[us], ms timestamp[us], "+
		"tz timestamp[us, tz=UTC], en utf8, arr list<l: int32, nullable>, "+
		"st struct<x: int16 nullable, y: list<l: int64, nullable> nullable>, mp map<utf8, int32, items_nullable>, b bool, "+
		"dec decimal(30, 10), tm time64[us], bl binary", schemaString(schema))
	require.Equal(t, [][]string{{"1", "2", "3", "4", "2026-01-02T03:04:05.123456", "2026-01-02T03:04:05.123",
		"2026-01-02T01:04:05Z", "a", "[1,2]", `{"x":5,"y":[6]}`, `[{"key":"k","value":7}]`, "true", "3.14", "12:34:56.000000", "qg=="}}, rows)

	t.Run("user columns select and cast", func(t *testing.T) {
		schema, rows, _, err := readAll(t, e, p, ReadOptions{Columns: []ColumnDef{{Name: "u64", Type: "BIGINT"}, {Name: "en", Type: "VARCHAR"}}})
		require.NoError(t, err)
		require.Equal(t, "u64 int64, en utf8", schemaString(schema))
		require.Equal(t, [][]string{{"4", "a"}}, rows)
	})
	t.Run("type without a lake form", func(t *testing.T) {
		q := filepath.Join(dir, "interval.parquet")
		duck(t, fmt.Sprintf("COPY (SELECT 1 AS id, INTERVAL 3 DAY AS wait) TO %s (FORMAT parquet)", sqlString(q)))
		_, err := e.ReadFile(context.Background(), q, ReadOptions{})
		require.ErrorIs(t, err, ErrInvalid)
		require.ErrorContains(t, err, `column "wait": type month_day_nano_interval has no lake type: give the column a supported type`)
		_, rows, _, err := readAll(t, e, q, ReadOptions{Columns: []ColumnDef{{Name: "id", Type: "INTEGER"}, {Name: "wait", Type: "VARCHAR"}}})
		require.NoError(t, err)
		require.Equal(t, [][]string{{"1", "3 days"}}, rows)
	})
}

func TestReadFileErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	good := writeFile(t, dir, "ok.csv", "a\n1\n")
	for _, tc := range []struct {
		name, path string
		opts       ReadOptions
		is         error
		msg        string
	}{
		{"missing", filepath.Join(dir, "nope.csv"), ReadOptions{}, ErrNotFound, "nope.csv does not exist: check the path"},
		{"directory", dir, ReadOptions{}, ErrInvalid, "is a directory"},
		{"empty csv", writeFile(t, dir, "empty.csv", ""), ReadOptions{}, ErrInvalid, "empty.csv is empty: there is nothing to import"},
		{"empty parquet", writeFile(t, dir, "empty.parquet", ""), ReadOptions{}, ErrInvalid, "is empty"},
		{"blank jsonl", writeFile(t, dir, "blank.jsonl", "\n  \n"), ReadOptions{}, ErrInvalid, "has no JSON records: there is nothing to import"},
		{"empty gz", writeFile(t, dir, "e.jsonl.gz", ""), ReadOptions{}, ErrInvalid, "has no JSON records"},
		{"unknown extension", writeFile(t, dir, "data.xlsx", "x"), ReadOptions{}, ErrInvalid, "cannot tell the format of " + dir + "/data.xlsx from its extension: pass the format"},
		{"unknown format", good, ReadOptions{Format: "xml"}, ErrInvalid, `unknown format "xml": use csv, json, jsonl or parquet`},
		{"gzipped parquet", writeFile(t, dir, "x.parquet.gz", "x"), ReadOptions{}, ErrInvalid, "cannot be gzipped"},
		{"bad type", good, ReadOptions{Columns: []ColumnDef{{Name: "a", Type: "FOOBAR"}}}, ErrInvalid, `column "a": "FOOBAR" is not a DuckDB type: use one such as BIGINT`},
		{"injected type", good, ReadOptions{Columns: []ColumnDef{{Name: "a", Type: "INT); SELECT 1; --"}}}, ErrInvalid, "is not a DuckDB type"},
		{"negative limit", good, ReadOptions{MaxBadRows: -1}, ErrInvalid, "max bad rows must be >= 0"},
		{"not parquet", writeFile(t, dir, "fake.parquet", "not parquet at all"), ReadOptions{}, ErrInvalid, "cannot read it as Parquet"},
		{"missing parquet column", writeFile(t, dir, "fake2.csv", "a\n1\n"), ReadOptions{Format: "parquet"}, ErrInvalid, "cannot read it as Parquet"},
		{"header on json", writeFile(t, dir, "h.jsonl", "{}\n"), ReadOptions{Delimiter: ","}, ErrInvalid, "apply to CSV only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr, err := e.ReadFile(context.Background(), tc.path, tc.opts)
			if err == nil {
				for fr.Next() {
				}
				err = fr.Err()
				fr.Close()
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, tc.is), "%v is not %v", err, tc.is)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestLakeTypeMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   arrow.DataType
		want string
		cast bool
	}{
		{arrow.PrimitiveTypes.Uint64, "HUGEINT", true},
		{arrow.PrimitiveTypes.Int16, "SMALLINT", false},
		{&arrow.TimestampType{Unit: arrow.Nanosecond}, "TIMESTAMP", true},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "TIMESTAMPTZ", false},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Oslo"}, "TIMESTAMPTZ", true},
		{arrow.ListOf(arrow.BinaryTypes.String), "VARCHAR[]", false},
		{arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32), "INTEGER[]", true},
		{arrow.StructOf(arrow.Field{Name: "a b", Type: arrow.PrimitiveTypes.Uint8}), `STRUCT("a b" SMALLINT)`, true},
		{arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64), "MAP(VARCHAR, DOUBLE)", false},
	} {
		got, cast, err := lakeType(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Equal(t, tc.cast, cast, tc.in)
	}
	_, _, err := lakeType(arrow.FixedWidthTypes.MonthDayNanoInterval)
	require.Error(t, err)
}

func TestSampleRows(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(-1), sampleRows("a.csv", 64<<20))
	require.Equal(t, int64(1_000_000), sampleRows("a.csv", 64<<20+1))
	require.Equal(t, int64(1_000_000), sampleRows("a.csv.gz", 16<<20+1))
}

func TestReadCSVVeryManyBadRows(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := range 30000 {
		fmt.Fprintf(&b, "%d,x\n%d\n", i, i) // every other row lacks a column
	}
	p := writeFile(t, t.TempDir(), "many.csv", b.String())
	_, rows, _, err := readAll(t, e, p, ReadOptions{MaxBadRows: 5})
	var bad *BadInputError
	require.ErrorAs(t, err, &bad)
	require.True(t, bad.AtLeast)
	require.GreaterOrEqual(t, bad.Total, int64(10_000))
	require.Len(t, bad.Rows, maxReportedRows)
	require.Equal(t, int64(3), bad.Rows[0].Line)
	require.Contains(t, err.Error(), "at least")
	require.Len(t, rows, 30000, "the good rows were all delivered before the error")
}

// TestReadTableTypes appends to a table whose columns have types: file columns of those names are read as
// those types (a value that does not fit is a bad row), the other columns are inferred.
func TestReadTableTypes(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	types := map[string]string{"id": "BIGINT", "amount": "DECIMAL(10,2)"}
	csvPath := writeFile(t, dir, "t.csv", "id,amount,note\n1,1.50,a\n2,oops,b\n3,3,c\n")
	jsonPath := writeFile(t, dir, "t.jsonl", `{"id": 1, "amount": 1.5, "note": "a"}`+"\n"+`{"id": 3, "amount": 3, "note": "c"}`+"\n")
	parquetPath := filepath.Join(dir, "t.parquet")
	duck(t, fmt.Sprintf("COPY (SELECT 1::INTEGER AS id, 1.5::DOUBLE AS amount, 'a' AS note) TO %s (FORMAT parquet)", sqlString(parquetPath)))
	for _, tc := range []struct {
		path string
		rows [][]string
		bad  int
	}{
		{csvPath, [][]string{{"1", "1.5", "a"}, {"3", "3", "c"}}, 1},
		{jsonPath, [][]string{{"1", "1.5", "a"}, {"3", "3", "c"}}, 0},
		{parquetPath, [][]string{{"1", "1.5", "a"}}, 0},
	} {
		schema, rows, fr, err := readAll(t, e, tc.path, ReadOptions{TableTypes: types, MaxBadRows: 1})
		require.NoError(t, err, tc.path)
		require.Equal(t, "id int64, amount decimal(10, 2), note utf8", schemaString(schema), tc.path)
		require.Equal(t, tc.rows, rows, tc.path)
		require.Len(t, fr.BadRows(), tc.bad, tc.path)
	}
	bad := fmt.Sprint(func() error {
		_, _, _, err := readAll(t, e, csvPath, ReadOptions{TableTypes: types})
		return err
	}())
	require.Contains(t, bad, `line 3, column "amount"`)
}

// TestReadCSVBrokenQuotesAreBadRows: under MaxBadRows a quote that never closes, or closes before text that is
// no delimiter, is one malformed row at the line where it opens (gzip too); the rows after it are read with
// their quoting, and DuckDB's own bad rows count against the same limit.
func TestReadCSVBrokenQuotesAreBadRows(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	data := "id,note\n1,\"a, b\"\n2,\"open\n3,\"x\"y\n4,\"c\"\nfive,d\n6,e\n"
	for _, name := range []string{"q.csv", "q.csv.gz"} {
		p := writeFile(t, dir, name, data)
		want := []BadRow{
			{File: p, Line: 3, Column: "note", Message: "the quoted value that starts here ends at a quote followed by 'x' on line 4, not by a delimiter or the end of the line: close the quote, or double each quote that is part of the value (\"\")"},
			{File: p, Line: 4, Column: "note", Message: "the quoted value that starts here ends at a quote followed by 'y', not by a delimiter or the end of the line: close the quote, or double each quote that is part of the value (\"\")"},
		}
		t.Run(name, func(t *testing.T) {
			_, rows, fr, err := readAll(t, e, p, ReadOptions{MaxBadRows: 3, Columns: []ColumnDef{{"id", "BIGINT"}, {"note", "VARCHAR"}}})
			require.NoError(t, err)
			require.Equal(t, [][]string{{"1", "a, b"}, {"4", "c"}, {"6", "e"}}, rows)
			got := fr.BadRows()
			require.Len(t, got, 3)
			require.Equal(t, want, got[:2])
			require.Equal(t, int64(6), got[2].Line, "DuckDB's bad row (five is no BIGINT), at its file line")

			_, _, _, err = readAll(t, e, p, ReadOptions{MaxBadRows: 2, Columns: []ColumnDef{{"id", "BIGINT"}, {"note", "VARCHAR"}}})
			var bad *BadInputError
			require.ErrorAs(t, err, &bad)
			require.Equal(t, int64(3), bad.Total)

			_, err = readErr(t, e, p, ReadOptions{MaxBadRows: 1})
			require.ErrorAs(t, err, &bad)
			require.Equal(t, want, bad.Rows)
		})
	}
}
