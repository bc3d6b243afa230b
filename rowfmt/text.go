package rowfmt

import (
	"bufio"
	"encoding/csv"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// csvSink writes RFC 4180 CSV with a header line (Go's encoding/csv: fields are quoted when they hold a
// comma, a quote, a line break or leading space; lines end in \n). NULL is an empty field.
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
	s.writeHeader()
	cols := rec.Columns()
	for i := 0; i < int(rec.NumRows()); i++ {
		for c, col := range cols {
			s.rec[c], _ = text(col, i)
		}
		if err := s.w.Write(s.rec); err != nil {
			return err
		}
	}
	return s.w.Error()
}

func (s *csvSink) writeHeader() {
	if s.header {
		return
	}
	s.header = true
	for i, f := range s.schema.Fields() {
		s.rec[i] = f.Name
	}
	_ = s.w.Write(s.rec)
}

func (s *csvSink) close(int64) error {
	s.writeHeader()
	s.w.Flush()
	return s.w.Error()
}

func (s *csvSink) abort() error {
	s.w.Flush()
	return s.w.Error()
}

// jsonSink writes one JSON array of objects (array) or one object per line. Keys are the column names in
// schema order.
type jsonSink struct {
	w     *bufio.Writer
	keys  [][]byte // `"name":`
	array bool
	n     int64
	buf   []byte
}

func newJSONSink(w io.Writer, schema *arrow.Schema, array bool) *jsonSink {
	s := &jsonSink{w: bufio.NewWriterSize(w, 64<<10), array: array}
	for _, f := range schema.Fields() {
		s.keys = append(s.keys, append(appendJSONString(nil, f.Name), ':'))
	}
	return s
}

func (s *jsonSink) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
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
			b = appendJSON(b, cols[c], i)
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
			_ = s.w.WriteByte('[')
		}
		_, _ = s.w.WriteString("]\n")
	}
	return s.w.Flush()
}

func (s *jsonSink) abort() error { return s.w.Flush() }
