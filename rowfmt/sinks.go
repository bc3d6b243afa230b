package rowfmt

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

type csvSink struct {
	w      *csv.Writer
	schema *arrow.Schema
	header bool
	rec    []string
}

func newCSVSink(w io.Writer, schema *arrow.Schema) *csvSink {
	return &csvSink{w: csv.NewWriter(w), schema: schema, rec: make([]string, schema.NumFields())}
}

func (s *csvSink) write(rec arrow.RecordBatch) error {
	if err := s.writeHeader(); err != nil {
		return err
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		for c := range s.rec {
			s.rec[c], _ = text(rec.Column(c), i)
		}
		if err := s.w.Write(s.rec); err != nil {
			return err
		}
	}
	return nil
}

func (s *csvSink) writeHeader() error {
	if s.header {
		return nil
	}
	s.header = true
	for i, f := range s.schema.Fields() {
		s.rec[i] = f.Name
	}
	return s.w.Write(s.rec)
}

func (s *csvSink) close(int64) error {
	if err := s.writeHeader(); err != nil {
		return err
	}
	s.w.Flush()
	return s.w.Error()
}

type jsonSink struct {
	w     *bufio.Writer
	keys  [][]byte
	array bool
	n     int64
	buf   []byte
}

func newJSONSink(w io.Writer, schema *arrow.Schema, array bool) *jsonSink {
	s := &jsonSink{w: bufio.NewWriterSize(w, 64<<10), array: array}
	for _, f := range schema.Fields() {
		s.keys = append(s.keys, appendString(nil, f.Name))
	}
	return s
}

func (s *jsonSink) write(rec arrow.RecordBatch) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		b := s.buf[:0]
		switch {
		case s.array && s.n == 0:
			b = append(b, '[')
		case s.array:
			b = append(b, ",\n"...)
		}
		b = append(b, '{')
		for c, k := range s.keys {
			if c > 0 {
				b = append(b, ',')
			}
			b = append(b, k...)
			b = append(b, ':')
			b = appendJSON(b, rec.Column(c), i)
		}
		b = append(b, '}')
		if !s.array {
			b = append(b, '\n')
		}
		s.buf = b
		s.n++
		if _, err := s.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (s *jsonSink) close(int64) error {
	if s.array {
		if s.n == 0 {
			_, _ = s.w.WriteString("[")
		}
		_, _ = s.w.WriteString("]\n")
	}
	return s.w.Flush()
}

type arrowSink struct{ w *ipc.Writer }

func newArrowSink(w io.Writer, schema *arrow.Schema) *arrowSink {
	return &arrowSink{w: ipc.NewWriter(w, ipc.WithSchema(schema))}
}

func (s *arrowSink) write(rec arrow.RecordBatch) error { return s.w.Write(rec) }
func (s *arrowSink) close(int64) error                 { return s.w.Close() }

type parquetSink struct{ w *pqarrow.FileWriter }

// nopCloser keeps the Parquet writer from closing the caller's writer (a file or an HTTP response).
type nopCloser struct{ io.Writer }

func newParquetSink(w io.Writer, schema *arrow.Schema) (*parquetSink, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(1<<20))
	fw, err := pqarrow.NewFileWriter(schema, nopCloser{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetSink{w: fw}, nil
}

func (s *parquetSink) write(rec arrow.RecordBatch) error { return s.w.WriteBuffered(rec) }
func (s *parquetSink) close(int64) error                 { return s.w.Close() }

// tableSink prints a psql-style aligned table: widths come from the header and the first rows.
type tableSink struct {
	w       *bufio.Writer
	schema  *arrow.Schema
	opts    Options
	numeric []bool
	widths  []int
	pending [][]string
	started bool
}

func newTableSink(w io.Writer, schema *arrow.Schema, opts Options) *tableSink {
	s := &tableSink{w: bufio.NewWriter(w), schema: schema, opts: opts}
	for _, f := range schema.Fields() {
		s.numeric = append(s.numeric, isNumeric(f.Type))
		s.widths = append(s.widths, min(utf8.RuneCountInString(f.Name), opts.MaxCellWidth))
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

func (s *tableSink) write(rec arrow.RecordBatch) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		row := make([]string, rec.NumCols())
		for c := range row {
			v, ok := text(rec.Column(c), i)
			if !ok {
				v = "NULL"
			}
			row[c] = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(v)
		}
		if !s.started {
			s.pending = append(s.pending, row)
			for c, v := range row {
				s.widths[c] = max(s.widths[c], min(utf8.RuneCountInString(v), s.opts.MaxCellWidth))
			}
			if len(s.pending) >= s.opts.MaxTableRows {
				s.flushPending()
			}
			continue
		}
		s.line(row)
	}
	return nil
}

func (s *tableSink) flushPending() {
	s.started = true
	names := make([]string, len(s.widths))
	for i, f := range s.schema.Fields() {
		names[i] = f.Name
	}
	s.line(names)
	for c, wd := range s.widths {
		if c > 0 {
			_, _ = s.w.WriteString("-+-")
		}
		_, _ = s.w.WriteString(strings.Repeat("-", wd))
	}
	_ = s.w.WriteByte('\n')
	for _, r := range s.pending {
		s.line(r)
	}
	s.pending = nil
}

func (s *tableSink) line(cells []string) {
	for c, v := range cells {
		if c > 0 {
			_, _ = s.w.WriteString(" | ")
		}
		wd := s.widths[c]
		if n := utf8.RuneCountInString(v); n > wd {
			v = string([]rune(v)[:max(wd-1, 0)]) + "…"
		}
		pad := strings.Repeat(" ", wd-utf8.RuneCountInString(v))
		if s.numeric[c] {
			_, _ = s.w.WriteString(pad + v)
		} else if c == len(cells)-1 {
			_, _ = s.w.WriteString(v)
		} else {
			_, _ = s.w.WriteString(v + pad)
		}
	}
	_ = s.w.WriteByte('\n')
}

func (s *tableSink) close(rows int64) error {
	if !s.started {
		s.flushPending()
	}
	word := "rows"
	if rows == 1 {
		word = "row"
	}
	fmt.Fprintf(s.w, "(%d %s)\n", rows, word)
	return s.w.Flush()
}
