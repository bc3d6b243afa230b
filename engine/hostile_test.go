//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

// readErr reads a file to its end and returns the rows and the error, from ReadFile or the reader.
func readErr(t *testing.T, e *Engine, path string, opts ReadOptions) ([][]string, error) {
	t.Helper()
	fr, err := e.ReadFile(context.Background(), path, opts)
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	var rows [][]string
	for fr.Next() {
		rows = append(rows, render(fr.RecordBatch())...)
	}
	return rows, fr.Err()
}

// internalText is what a message about a user's file must not contain: DuckDB's statement, caret and options.
var internalText = []string{"SELECT", "read_csv", "read_json", "read_parquet", "LINE 1", "max_line_size", "^", "sniff"}

// TestReadFileHostileInput feeds ReadFile malformed and unusual files. For each it checks the error kind (the
// CLI's exit code comes from it), the line the message names, and that the message is in the user's terms.
func TestReadFileHostileInput(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	goodParquet := filepath.Join(dir, "good.parquet")
	duck(t, fmt.Sprintf("COPY (SELECT i AS id, 'x' || i AS s FROM range(5000) t(i)) TO %s (FORMAT parquet)", sqlString(goodParquet)))
	whole, err := os.ReadFile(goodParquet)
	require.NoError(t, err)
	tenMB := strings.Repeat("x", 10<<20)
	gz := func(s string) []byte {
		data, err := os.ReadFile(writeFile(t, dir, "tmp.gz", s))
		require.NoError(t, err)
		return data
	}
	csvGz := gz("a,b\n" + strings.Repeat("1,2\n", 50000))
	jsonGz := gz(strings.Repeat("{\"a\": 1}\n", 50000))
	varchar := []ColumnDef{{Name: "v", Type: "VARCHAR"}}

	for _, tc := range []struct {
		name, file, content string
		raw                 []byte // content as bytes, when set
		opts                ReadOptions
		kind                errs.Kind // errs.Internal: the read succeeds
		line                int64     // the line the message names; 0: none
		msg                 string    // part of the message
		rows                [][]string
	}{
		{name: "empty csv", file: "empty.csv", kind: errs.BadData, msg: "is empty"},
		{name: "empty jsonl", file: "empty.jsonl", kind: errs.BadData, msg: "is empty"},
		{name: "blank jsonl", file: "blank.jsonl", content: "\n\n", kind: errs.BadData, msg: "has no JSON records"},
		{name: "header only", file: "h.csv", content: "a,b\n"},
		{name: "truncated parquet", file: "trunc.parquet", raw: whole[:len(whole)/2], kind: errs.BadData, msg: "not a Parquet file, or it is truncated"},
		{name: "parquet without its head", file: "tail.parquet", raw: whole[4:], kind: errs.BadData, msg: "cannot read it as Parquet"},
		{name: "random bytes named parquet", file: "rand.parquet", raw: []byte("\x00\x01\x02garbage\xff\xfe not parquet"), kind: errs.BadData, msg: "not a Parquet file"},
		{name: "over-long line", file: "long.csv", content: "a,b\n1,x\n2," + strings.Repeat("y", 3<<20) + "\n3,z\n", kind: errs.BadData, line: 3, msg: "longer than 2000000 bytes"},
		{name: "10 MB single line csv", file: "one.csv", content: tenMB, kind: errs.BadData, line: 1, msg: "longer than 2000000 bytes"},
		{name: "10 MB single line json", file: "one.jsonl", content: `{"v": "` + tenMB + `"}`, rows: [][]string{{tenMB}}},
		{name: "NUL byte", file: "nul.csv", content: "a,b\n1,x\n2,x\x00y\n", kind: errs.BadData, line: 3, msg: `column "b": contains a NUL byte`},
		{name: "UTF-16 file", file: "u16.csv", raw: []byte("\xff\xfea\x00,\x00b\x00\n\x001\x00,\x002\x00\n\x00"), kind: errs.BadData, line: 1, msg: "NUL byte"},
		{name: "BOM", file: "bom.csv", content: "\xef\xbb\xbfa,b\n1,2\n", rows: [][]string{{"1", "2"}}},
		{name: "BOM and duplicate header", file: "bomdup.csv", content: "\xef\xbb\xbfa,a\n1,2\n", kind: errs.BadData, line: 1, msg: `"a" (columns 1 and 2)`},
		{name: "CRLF", file: "crlf.csv", content: "a,b\r\n1,\"x\"\r\n2,y\r\n", rows: [][]string{{"1", "x"}, {"2", "y"}}},
		{name: "invalid UTF-8 csv", file: "latin1.csv", content: "a,b\n1,ok\n2,caf\xe9\n", kind: errs.BadData, line: 3, msg: `column "b": Invalid unicode`},
		{name: "invalid UTF-8 json", file: "latin1.jsonl", content: "{\"v\": \"ok\"}\n{\"v\": \"caf\xe9\"}\n", kind: errs.BadData, line: 2, msg: "invalid UTF-8"},
		{name: "duplicate header", file: "dup.csv", content: "id,name,id\n1,a,2\n", kind: errs.BadData, line: 1, msg: `the header names a column more than once: "id" (columns 1 and 3)`},
		{name: "duplicate header, other case", file: "dupcase.csv", content: "id,name,ID\n1,a,2\n", kind: errs.BadData, line: 1, msg: `"ID" (columns 1 and 3)`},
		{name: "duplicate header, quoted", file: "dupq.csv", content: "\"a,b\",x,\"a,b\"\n1,2,3\n", kind: errs.BadData, line: 1, msg: `"a,b" (columns 1 and 3)`},
		{name: "header after a comment line", file: "dupcomment.csv", content: "# exported\nk,v,k\n1,2,3\n", kind: errs.BadData, line: 2, msg: `"k" (columns 1 and 3)`},
		{name: "empty header names are not duplicates", file: "emptyname.csv", content: "a,,\n1,2,3\n", rows: [][]string{{"1", "2", "3"}}},
		{name: "duplicate header, semicolons", file: "dupsemi.csv", content: "k;v;k\n1;2;3\n", kind: errs.BadData, line: 1, msg: `"k" (columns 1 and 3)`},
		{name: "duplicate header renamed by the user's columns", file: "dupcols.csv", content: "id,name,id\n1,a,2\n",
			opts: ReadOptions{Columns: []ColumnDef{{"a", "BIGINT"}, {"b", "VARCHAR"}, {"c", "BIGINT"}}}, rows: [][]string{{"1", "a", "2"}}},
		{name: "unterminated quote", file: "q1.csv", content: "a,b,c\n1,a,1.5\n2,\"b,2.5\n3,c,3.5\n", kind: errs.BadData, line: 3, msg: `column "b": the quoted value that starts here is never closed`},
		{name: "unterminated quote after quoted rows", file: "q2.csv", content: "a,b,c\n1,\"a\",1.5\n2,b,2.5\n3,\"c\",3.5\n4,\"d,4.5\n5,e,5.5\n", kind: errs.BadData, line: 5, msg: "never closed"},
		{name: "unterminated quote after a multi-line value", file: "q3.csv", content: "a,b,c\n1,\"two\nlines\",1.5\n2,b,2.5\n3,\"c,3.5\n", kind: errs.BadData, line: 5, msg: "never closed"},
		{name: "unterminated quote then quoted rows", file: "q4.csv", content: "a,b,c\n1,a,1.5\n2,\"b,2.5\n3,\"c\",3.5\n4,d,4.5\n", kind: errs.BadData, line: 3, msg: `followed by 'c' on line 4`},
		{name: "unterminated quote in the header", file: "q5.csv", content: "a,\"b,c\n1,a,1.5\n", kind: errs.BadData, line: 1, msg: "column 2: the quoted value that starts here is never closed"},
		{name: "unterminated quote in the first column", file: "q6.csv", content: "a,b\n1,x\n\"2,y\n", kind: errs.BadData, line: 3, msg: `column "a"`},
		{name: "text after a closing quote", file: "q7.csv", content: "a,b\n1,\"x\"y\n", kind: errs.BadData, line: 2, msg: `followed by 'y'`},
		{name: "quote inside an unquoted value", file: "q8.csv", content: "a,b\n1,3\" pipe\n2,x\n", rows: [][]string{{"1", `3" pipe`}, {"2", "x"}}},
		{name: "doubled quotes", file: "q9.csv", content: "a,b\n1,\"say \"\"hi\"\"\"\n", rows: [][]string{{"1", `say "hi"`}}},
		{name: "more columns than header", file: "more.csv", content: "a,b\n1,2,3\n4,5\n", kind: errs.BadData, line: 2, msg: "Expected Number of Columns: 2 Found: 3"},
		{name: "mixed JSON types", file: "mixed.jsonl", content: "{\"v\":1}\n{\"v\":\"two\"}\n", kind: errs.BadData, line: 2, msg: `key "v" has a string value here and a number value on line 1`},
		{name: "mixed JSON types, nested", file: "nested.jsonl", content: "{\"v\":{\"x\":1}}\n\n{\"v\":{\"x\":true}}\n", kind: errs.BadData, line: 3, msg: `key "v.x" has a boolean value`},
		{name: "mixed JSON types in an array file", file: "arr.json", content: "[{\"v\":[1]},\n{\"v\":{\"a\":1}}]", kind: errs.BadData, msg: "record 2: key \"v\" has a object value"},
		{name: "mixed JSON types, declared string", file: "mixedv.jsonl", content: "{\"v\":1}\n{\"v\":\"two\"}\n{\"v\":[3]}\n", opts: ReadOptions{Columns: varchar},
			rows: [][]string{{"1"}, {"two"}, {"[3]"}}},
		{name: "mixed JSON types, string in the table", file: "mixedt.jsonl", content: "{\"v\":1, \"w\": 2}\n{\"v\":\"two\", \"w\": 3}\n",
			opts: ReadOptions{TableTypes: map[string]string{"v": "VARCHAR"}}, rows: [][]string{{"1", "2"}, {"two", "3"}}},
		{name: "empty JSON objects are not mixed", file: "emptyobj.jsonl", content: "{\"v\":{}}\n{\"v\":{}}\n", rows: [][]string{{"[]"}, {"[]"}}},
		{name: "JSON number and fraction", file: "num.jsonl", content: "{\"v\":1}\n{\"v\":1.5}\n", rows: [][]string{{"1"}, {"1.5"}}},
		{name: "not gzip", file: "plain.csv.gz", content: "a,b\n1,2\n", kind: errs.BadData, msg: "not a gzip file"},
		{name: "truncated gzip csv", file: "cut.csv.gz", raw: csvGz[:len(csvGz)/2], kind: errs.BadData, msg: "check that the file is complete"},
		{name: "truncated gzip json", file: "cut.jsonl.gz", raw: jsonGz[:len(jsonGz)/2], kind: errs.BadData, msg: "check that the file is complete"},
		{name: "not CSV at all", file: "bin.csv", raw: []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d}, kind: errs.BadData, line: 3, msg: "NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				data = []byte(tc.content)
			}
			p := filepath.Join(dir, tc.file)
			require.NoError(t, os.WriteFile(p, data, 0o644))
			rows, err := readErr(t, e, p, tc.opts)
			if tc.kind == errs.Internal {
				require.NoError(t, err)
				require.Equal(t, tc.rows, rows)
				return
			}
			require.Error(t, err)
			require.Equal(t, tc.kind, errs.KindOf(err), "%v", err)
			require.ErrorIs(t, err, ErrInvalid, "rejected input still matches ErrInvalid")
			msg := err.Error()
			require.Contains(t, msg, tc.msg)
			require.Contains(t, msg, p, "the message names the file")
			var bad *BadInputError
			switch {
			case errors.As(err, &bad):
				require.Equal(t, tc.line, bad.Rows[0].Line)
			case tc.line > 0:
				require.Contains(t, msg, fmt.Sprintf("%s line %d", p, tc.line))
			default:
				require.NotContains(t, msg, " line ")
			}
			for _, s := range internalText {
				require.NotContains(t, msg, s, "internal text in %q", msg)
			}
			require.Less(t, len(msg), 1000, "the message is short enough to read: %q", msg)
		})
	}
}

// TestReadFileOptionErrorsKeepTheirKinds: a missing file is NotFound and bad options are Invalid, not BadData.
func TestReadFileOptionErrorsKeepTheirKinds(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	dir := t.TempDir()
	good := writeFile(t, dir, "ok.csv", "a\n1\n")
	pq := filepath.Join(dir, "ok.parquet")
	duck(t, fmt.Sprintf("COPY (SELECT 1 AS a) TO %s (FORMAT parquet)", sqlString(pq)))
	for _, tc := range []struct {
		name, path string
		opts       ReadOptions
		kind       errs.Kind
	}{
		{"missing", filepath.Join(dir, "nope.csv"), ReadOptions{}, errs.NotFound},
		{"unknown format", good, ReadOptions{Format: "xml"}, errs.Invalid},
		{"bad delimiter", good, ReadOptions{Delimiter: "::"}, errs.Invalid},
		{"bad type", good, ReadOptions{Columns: []ColumnDef{{Name: "a", Type: "FOOBAR"}}}, errs.Invalid},
		{"parquet column that is not there", pq, ReadOptions{Columns: []ColumnDef{{Name: "b", Type: "BIGINT"}}}, errs.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readErr(t, e, tc.path, tc.opts)
			require.Equal(t, tc.kind, errs.KindOf(err), "%v", err)
			for _, s := range internalText {
				require.NotContains(t, err.Error(), s)
			}
		})
	}
}

// FuzzReadCSV reads arbitrary bytes as a CSV file: ReadFile either reads it or rejects it as bad data with a
// message in the user's terms; it never fails with another kind, an internal error or DuckDB's text.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "", "a,b\n", "id,name,id\n1,a,2\n", "a,b,c\n1,a,1.5\n2,\"b,2.5\n3,c,3.5\n",
		"a,b\n1,2,3\n", "\xef\xbb\xbfa;b\r\n1;2\r\n", "a,b\n1,x\x00y\n", "a,b\n1,caf\xe9\n", "a\n\"x\"\"y\"\n",
		"a,b\n1,\"x\"y\n", "\"\n", "a,b\n\n\n1,2\n", "#c\na,b\n1,2\n", "a\tb\n1\t2\n", ",\n,\n",
	} {
		f.Add([]byte(s))
	}
	e := newEngine(f, Options{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.csv")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		_, err := readErr(t, e, p, ReadOptions{})
		if err == nil {
			return
		}
		require.Equal(t, errs.BadData, errs.KindOf(err), "%v", err)
		for _, s := range internalText {
			require.NotContains(t, err.Error(), s)
		}
	})
}

// TestLakeTypeAgreesWithDuckDBToIceberg: the two halves of the engine → lake direction agree. For each DuckDB
// type, the Arrow type DuckDB produces is normalised by lakeType; DuckDBToIceberg names the same lake type
// for the original type and for the normalised one.
func TestLakeTypeAgreesWithDuckDBToIceberg(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	for duck := range duckDBToIceberg {
		res, err := e.Query(context.Background(), "SELECT CAST(NULL AS "+duck+") AS c", nil)
		require.NoError(t, err, duck)
		typ := res.Schema().Field(0).Type
		require.NoError(t, res.Close())
		lake, _, err := lakeType(typ)
		require.NoError(t, err, duck)
		want, err := DuckDBToIceberg(duck)
		require.NoError(t, err)
		got, err := DuckDBToIceberg(lake)
		require.NoError(t, err, lake)
		require.Equal(t, want, got, "%s is %s in Arrow, %s after lakeType", duck, typ, lake)
	}
}
