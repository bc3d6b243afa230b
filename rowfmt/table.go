package rowfmt

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/rivo/uniseg"
)

// tableSink prints a table the way psql does:
//
//	 id | name  | score
//	----+-------+-------
//	  1 | ada   |   1.5
//	(1 row)
//
// Column widths (in terminal cells) come from the header and the first MaxTableRows rows, capped at
// MaxCellWidth; later rows are cut to them. Numbers are right-aligned, other values left-aligned, NULL
// is empty, and line breaks and tabs inside a value are shown as \n, \r and a space.
type tableSink struct {
	w       *bufio.Writer
	names   []string
	opts    Options
	numeric []bool
	widths  []int
	pending [][]string
	started bool
	line    []byte
}

func newTableSink(w io.Writer, schema *arrow.Schema, opts Options) *tableSink {
	s := &tableSink{w: bufio.NewWriterSize(w, 64<<10), opts: opts}
	for _, f := range schema.Fields() {
		s.names = append(s.names, cellText(f.Name))
		s.numeric = append(s.numeric, isNumeric(f.Type))
		s.widths = append(s.widths, min(width(cellText(f.Name)), opts.MaxCellWidth))
	}
	return s
}

func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

var cellEscaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ")

func cellText(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		return cellEscaper.Replace(s)
	}
	return s
}

func (s *tableSink) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for i := 0; i < int(rec.NumRows()); i++ {
		row := make([]string, len(cols))
		for c, col := range cols {
			v, _ := text(col, i)
			row[c] = cellText(v)
		}
		if s.started {
			s.printRow(row)
			continue
		}
		for c, v := range row {
			// Arrow strings alias the batch's buffers, which the reader may free on its next batch
			// (DuckDB's do): keep copies of the rows held back to size the columns.
			row[c] = strings.Clone(v)
		}
		s.pending = append(s.pending, row)
		for c, v := range row {
			s.widths[c] = max(s.widths[c], min(width(v), s.opts.MaxCellWidth))
		}
		if len(s.pending) >= s.opts.MaxTableRows {
			s.start()
		}
	}
	return nil
}

// start prints the header and the buffered rows; from then on rows are printed as they come.
func (s *tableSink) start() {
	s.started = true
	s.line = s.line[:0]
	for c, name := range s.names {
		if c > 0 {
			s.line = append(s.line, '|')
		}
		name = truncate(name, s.widths[c])
		pad := s.widths[c] - width(name)
		s.line = append(s.line, ' ')
		s.line = appendSpaces(s.line, pad/2)
		s.line = append(s.line, name...)
		s.line = appendSpaces(s.line, pad-pad/2+1)
	}
	s.line = append(trimRight(s.line), '\n')
	for c, wd := range s.widths {
		if c > 0 {
			s.line = append(s.line, '+')
		}
		s.line = append(s.line, strings.Repeat("-", wd+2)...)
	}
	s.line = append(s.line, '\n')
	_, _ = s.w.Write(s.line)
	for _, r := range s.pending {
		s.printRow(r)
	}
	s.pending = nil
}

func (s *tableSink) printRow(cells []string) {
	s.line = s.line[:0]
	for c, v := range cells {
		if c > 0 {
			s.line = append(s.line, '|')
		}
		w := width(v)
		if w > s.widths[c] {
			v = truncate(v, s.widths[c])
			w = width(v)
		}
		pad := s.widths[c] - w
		s.line = append(s.line, ' ')
		if s.numeric[c] {
			s.line = appendSpaces(s.line, pad)
			s.line = append(s.line, v...)
			s.line = append(s.line, ' ')
		} else {
			s.line = append(s.line, v...)
			s.line = appendSpaces(s.line, pad+1)
		}
	}
	s.line = append(trimRight(s.line), '\n')
	_, _ = s.w.Write(s.line)
}

// width is the number of terminal cells s takes.
func width(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return uniseg.StringWidth(s)
		}
	}
	return len(s)
}

// truncate cuts s to width terminal cells, ending in "…" when cut.
func truncate(s string, cells int) string {
	if width(s) <= cells {
		return s
	}
	var b strings.Builder
	used := 0
	state := -1
	rest := s
	for len(rest) > 0 {
		var cluster string
		var w int
		cluster, rest, w, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if used+w > cells-1 {
			break
		}
		b.WriteString(cluster)
		used += w
	}
	return b.String() + "…"
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

// trimRight drops trailing spaces, as psql does for the last column.
func trimRight(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

func (s *tableSink) close(rows int64) error {
	if !s.started {
		s.start()
	}
	word := "rows"
	if rows == 1 {
		word = "row"
	}
	fmt.Fprintf(s.w, "(%d %s)\n", rows, word)
	return s.w.Flush()
}

func (s *tableSink) abort() error {
	if !s.started {
		s.start()
	}
	return s.w.Flush()
}
