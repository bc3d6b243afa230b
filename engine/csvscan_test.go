package engine

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var rfc4180 = csvDialect{delim: ',', quote: '"', escape: '"'}

func TestScanCSV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		d        csvDialect
		header   []string
		fault    *csvFault
	}{
		{name: "plain", in: "a,b\n1,2\n", d: rfc4180, header: nil},
		{name: "header", in: "a, b ,\"c,d\"\n1,2,3\n", d: withHeader(rfc4180), header: []string{"a", "b", "c,d"}},
		{name: "header without a line end", in: "a,b", d: withHeader(rfc4180), header: []string{"a", "b"}},
		{name: "skipped rows and comments", in: "junk \"\nmore\n#x,\"y\na,b\n1,2\n", d: csvDialect{delim: ',', quote: '"', escape: '"', comment: '#', skip: 2, header: true},
			header: []string{"a", "b"}},
		{name: "multi-line value", in: "a,b\n1,\"x\ny\"\n2,\"z\n", d: rfc4180,
			fault: &csvFault{Line: 4, Field: 1, Msg: "the quoted value that starts here is never closed: close the quote, or double each quote that is part of the value (\"\")"}},
		{name: "backslash escape", in: "a,b\n1,\"x \\\" y\"\n", d: csvDialect{delim: ',', quote: '"', escape: '\\'}},
		{name: "backslash escape at the end", in: "a,b\n1,\"x \\", d: csvDialect{delim: ',', quote: '"', escape: '\\'},
			fault: &csvFault{Line: 2, Field: 1, Msg: "the quoted value that starts here is never closed: close the quote, or double each quote that is part of the value (\"\")"}},
		{name: "tab", in: "a\tb\n1\t\"x\ty\"\n", d: csvDialect{delim: '\t', quote: '"', escape: '"'}},
		{name: "closing quote then CR LF", in: "a,b\r\n1,\"x\"\r\n", d: rfc4180},
		{name: "closing quote then CR and text", in: "a,b\r\n1,\"x\"\ry\n", d: rfc4180,
			fault: &csvFault{Line: 2, Field: 1, Msg: "the quoted value that starts here ends at a quote followed by 'y', not by a delimiter or the end of the line: close the quote, or double each quote that is part of the value (\"\")"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scan, err := scanCSV(context.Background(), strings.NewReader(tc.in), tc.d)
			require.NoError(t, err)
			require.Equal(t, tc.fault, scan.fault)
			if tc.fault == nil {
				require.Equal(t, tc.header, scan.header)
			}
		})
	}
}

func withHeader(d csvDialect) csvDialect { d.header = true; return d }

// FuzzScanCSV checks the pre-pass against encoding/csv (strict RFC 4180): a file that encoding/csv reads has no
// quoting fault, and a quoting fault is one encoding/csv reports too, at or after the line the fault names.
func FuzzScanCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b,c\n1,a,1.5\n2,\"b,2.5\n3,c,3.5\n", "a,b\n1,\"x\ny\"\n2,\"z\n", "a,b\n1,\"x\"y\n",
		"a,b\n1,\"say \"\"hi\"\"\"\n", "\"a\nb\",c\n\"d\"\"\",\"\"\n", "a,\"b,c\n1,a,1.5\n", "a,b\n1,x\n\"2,y\n",
		"a,b,c\n1,\"two\nlines\",1.5\n2,b,2.5\n3,\"c,3.5\n", ",,\n\"\",\"\"\n", "\"\n", "a\n\n\nb\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		scan, err := scanCSV(context.Background(), strings.NewReader(in), rfc4180)
		require.NoError(t, err)
		if f := scan.fault; f != nil {
			require.GreaterOrEqual(t, f.Line, int64(1))
			require.LessOrEqual(t, f.Line, int64(strings.Count(in, "\n")+1))
		}
		if strings.ContainsAny(in, "\r\x00") || len(in) > maxCSVRow || strings.HasPrefix(in, "\xef\xbb\xbf") {
			return // encoding/csv treats these differently, by design
		}
		r := csv.NewReader(strings.NewReader(in))
		r.FieldsPerRecord = -1
		var csvErr error
		for csvErr == nil {
			_, csvErr = r.Read()
		}
		var pe *csv.ParseError
		switch {
		case errors.Is(csvErr, csv.ErrBareQuote):
			// encoding/csv refuses a quote inside an unquoted value, which DuckDB and the pre-pass take as text.
		case errors.Is(csvErr, io.EOF):
			require.Nil(t, scan.fault, "encoding/csv reads %q", in)
		case scan.fault != nil:
			require.ErrorAs(t, csvErr, &pe)
			require.GreaterOrEqual(t, int64(pe.Line), scan.fault.Line, "%q: %v vs %+v", in, csvErr, scan.fault)
		}
	})
}

func BenchmarkScanCSV(b *testing.B) {
	var buf bytes.Buffer
	for i := range 200_000 {
		buf.WriteString("12345,name12345,1.5,2020-01-01,2020-01-01 00:00:00,true\n")
		if i%10 == 0 {
			buf.WriteString("1,\"quoted, with comma\",2,3,4,5\n")
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		scan, err := scanCSV(context.Background(), bytes.NewReader(data), rfc4180)
		require.NoError(b, err)
		require.Nil(b, scan.fault)
	}
}
