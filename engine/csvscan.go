package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// The CSV pre-pass: DuckDB's reader repairs what it should refuse. A value whose quote never closes makes
// its sniffer give up quoting for the whole file (`2,"b,2.5` is imported as `"b`), and its error then blames
// a line near where the parse went wrong rather than where the quote opened; duplicate header names are
// renamed (`id`, `id_1`); NUL bytes are kept; and a row over its line limit fails the read with a message
// about an option Strata does not have. scanCSV reads the file once, in Go, before DuckDB reads it, and
// reports the first of these with the line a user can look at.

// maxCSVRow is the longest CSV row in bytes (DuckDB's max_line_size, passed to it explicitly so both agree).
const maxCSVRow = 2_000_000

// csvChunk is how much the pre-pass reads at a time; less than maxCSVRow (see runUnquoted).
const csvChunk = 1 << 20

// csvDialect is the layout the pre-pass needs: from the options, else from DuckDB's sniffer.
type csvDialect struct {
	delim   byte
	quote   byte // '"' when the sniffer found no quoting: an opening quote must close all the same
	escape  byte // == quote: a quote inside a quoted value is doubled
	comment byte // 0: none
	skip    int64
	header  bool // the first row after skip names the columns
}

// csvFault is the first problem the pre-pass found. Line is 1-based; Field is the 0-based field index of the
// problem in its row, -1 when the row as a whole is at fault.
type csvFault struct {
	Line  int64
	Field int
	Msg   string
}

// csvScan is the result of the pre-pass.
type csvScan struct {
	header     []string // the header row's fields, when the dialect has a header
	headerLine int64
	fault      *csvFault
}

// scanner states.
const (
	csvFieldStart = iota // at the start of a field
	csvUnquoted          // inside an unquoted field
	csvQuoted            // inside a quoted field
	csvEscaped           // after an escape character inside a quoted field (escape != quote)
	csvQuoteSeen         // after a quote inside a quoted field: an escaped quote or the closing one
	csvClosed            // after a closing quote and a carriage return
	csvSkipLine          // in a comment line or a skipped row
)

type csvScanner struct {
	d          csvDialect
	special    [256]bool // the bytes that end an unquoted run: delimiter, line feed, NUL
	state      int
	line       int64 // current physical line
	rowLine    int64 // line where the current row starts
	rowLen     int
	field      int
	quoteLine  int64 // where the open quote is
	quoteField int
	collect    bool // collecting the header
	headerOnly bool // stop once the header is collected
	cur        []byte
	scan       csvScan
}

// scanCSV checks r, a whole CSV file, for the problems DuckDB would not report faithfully.
func scanCSV(ctx context.Context, r io.Reader, d csvDialect) (*csvScan, error) {
	return scanCSVRows(ctx, r, d, false)
}

// scanCSVHeader is scanCSV of the rows up to the header only (for its names).
func scanCSVHeader(ctx context.Context, r io.Reader, d csvDialect) (*csvScan, error) {
	return scanCSVRows(ctx, r, d, true)
}

func scanCSVRows(ctx context.Context, r io.Reader, d csvDialect, headerOnly bool) (*csvScan, error) {
	return scanCSVAt(ctx, r, d, 1, headerOnly)
}

// scanCSVAt is scanCSV of r, the file from the start of line onwards (past its header when line > 1).
func scanCSVAt(ctx context.Context, r io.Reader, d csvDialect, line int64, headerOnly bool) (*csvScan, error) {
	s := &csvScanner{d: d, line: line, rowLine: line, collect: d.header && line == 1, headerOnly: headerOnly}
	if line > 1 {
		d.skip = 0
		s.d = d
	}
	s.special[d.delim], s.special['\n'], s.special[0] = true, true, true
	if d.skip > 0 {
		s.state = csvSkipLine
	}
	buf := make([]byte, csvChunk)
	for chunk := 0; ; chunk++ {
		if chunk%64 == 63 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		n, err := readChunk(r, buf)
		b := buf[:n]
		if chunk == 0 && line == 1 {
			b = trimBOM(b)
		}
		if s.feed(b) {
			return &s.scan, nil
		}
		if err == io.EOF {
			s.end()
			return &s.scan, nil
		}
		if err != nil {
			return nil, err // a truncated gzip stream is io.ErrUnexpectedEOF: not the end of the file
		}
	}
}

// readChunk fills buf from r; err is io.EOF only at the clean end of r.
func readChunk(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return b[3:]
	}
	return b
}

func (s *csvScanner) fail(line int64, field int, format string, args ...any) bool {
	s.scan.fault = &csvFault{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	return true
}

func (s *csvScanner) tooLong() bool {
	return s.fail(s.rowLine, -1, "the row is longer than %d bytes, the most a CSV row may have: check its quoting, "+
		"or import such data as JSON lines or Parquet", maxCSVRow)
}

// feed scans one chunk; it returns true when it found a fault. Runs of ordinary bytes are skipped with the
// bytes package's vectorised searches; only quotes (and, in comment or header rows, every byte) go through
// the state machine.
func (s *csvScanner) feed(b []byte) bool {
	fast := s.d.comment == 0
	for i := 0; i < len(b); i++ {
		if fast && !s.collect {
			var n int
			var fault bool
			switch s.state {
			case csvFieldStart, csvUnquoted:
				n, fault = s.runUnquoted(b[i:])
			case csvQuoted:
				if s.d.escape == s.d.quote {
					n, fault = s.runQuoted(b[i:])
				}
			}
			if fault {
				return true
			}
			if i += n; i == len(b) {
				break
			}
		}
		c := b[i]
		if c == '\n' {
			s.line++
		}
		if s.state == csvSkipLine {
			if c == '\n' && s.line > s.d.skip {
				s.state, s.field, s.rowLen, s.rowLine = csvFieldStart, 0, 0, s.line
			}
			continue
		}
		if c == 0 {
			return s.nul(s.line, s.field)
		}
		if s.rowLen++; s.rowLen > maxCSVRow {
			return s.tooLong()
		}
		if s.step(c) || s.headerOnly && !s.collect {
			return true
		}
	}
	return false
}

func (s *csvScanner) nul(line int64, field int) bool {
	return s.fail(line, field, "contains a NUL byte, which text cannot hold: remove it, or save the file "+
		"as UTF-8 text (a UTF-16 file is full of NUL bytes)")
}

// runUnquoted consumes r up to its next quote, outside a quoted value, and returns how many bytes it consumed.
func (s *csvScanner) runUnquoted(r []byte) (int, bool) {
	n := bytes.IndexByte(r, s.d.quote)
	if n < 0 {
		n = len(r)
	}
	run := r[:n]
	if z := bytes.IndexByte(run, 0); z >= 0 {
		pre := run[:z]
		field := s.field + bytes.Count(pre, []byte{s.d.delim})
		if nl := bytes.LastIndexByte(pre, '\n'); nl >= 0 {
			field = bytes.Count(pre[nl+1:], []byte{s.d.delim})
		}
		return 0, s.nul(s.line+int64(bytes.Count(pre, []byte{'\n'})), field)
	}
	// A run is at most one chunk, shorter than maxCSVRow, so only the rows it continues and starts can be
	// too long: the ones before its first and after its last line feed.
	if first := bytes.IndexByte(run, '\n'); first >= 0 {
		if s.rowLen += first; s.rowLen > maxCSVRow {
			return 0, s.tooLong()
		}
		s.line += int64(bytes.Count(run[first:], []byte{'\n'}))
		s.state, s.field, s.rowLen, s.rowLine = csvFieldStart, 0, 0, s.line
		run = run[bytes.LastIndexByte(run, '\n')+1:]
	}
	if len(run) > 0 {
		if s.rowLen += len(run); s.rowLen > maxCSVRow {
			return 0, s.tooLong()
		}
		s.field += bytes.Count(run, []byte{s.d.delim})
		s.state = csvUnquoted
		if run[len(run)-1] == s.d.delim {
			s.state = csvFieldStart
		}
	}
	return n, false
}

// runQuoted consumes r up to its next quote, inside a quoted value whose quotes are escaped by doubling.
func (s *csvScanner) runQuoted(r []byte) (int, bool) {
	n := bytes.IndexByte(r, s.d.quote)
	if n < 0 {
		n = len(r)
	}
	run := r[:n]
	if z := bytes.IndexByte(run, 0); z >= 0 {
		return 0, s.nul(s.line+int64(bytes.Count(run[:z], []byte{'\n'})), s.quoteField)
	}
	s.line += int64(bytes.Count(run, []byte{'\n'}))
	if s.rowLen += n; s.rowLen > maxCSVRow {
		return 0, s.tooLong()
	}
	return n, false
}

// step moves the state machine by one byte (not a NUL, not in a skipped line).
func (s *csvScanner) step(c byte) bool {
	d := &s.d
	switch s.state {
	case csvFieldStart:
		switch {
		case c == d.quote:
			s.state, s.quoteLine, s.quoteField = csvQuoted, s.line, s.field
		case c == d.comment && s.field == 0:
			s.state = csvSkipLine
		case c == d.delim:
			s.endField()
		case c == '\n':
			s.endRow()
		case c != '\r':
			s.state = csvUnquoted
			s.keep(c)
		}
	case csvUnquoted:
		switch c {
		case d.delim:
			s.endField()
		case '\n':
			s.endRow()
		case '\r':
		default:
			s.keep(c)
		}
	case csvQuoted:
		switch {
		case c == d.escape && d.escape != d.quote:
			s.state = csvEscaped
		case c == d.quote:
			s.state = csvQuoteSeen
		default:
			s.keep(c)
		}
	case csvEscaped:
		s.state = csvQuoted
		s.keep(c)
	case csvQuoteSeen, csvClosed:
		switch {
		case c == d.quote && s.state == csvQuoteSeen:
			s.state = csvQuoted // a doubled quote: part of the value
			s.keep(c)
		case c == d.delim:
			s.endField()
		case c == '\n':
			s.endRow()
		case c == '\r':
			s.state = csvClosed
		default:
			at := ""
			if s.line != s.quoteLine {
				at = fmt.Sprintf(" on line %d", s.line)
			}
			return s.fail(s.quoteLine, s.quoteField, "the quoted value that starts here ends at a quote followed by %q%s, "+
				"not by a delimiter or the end of the line: close the quote, or double each quote that is part of the value (\"\")", c, at)
		}
	}
	return false
}

func (s *csvScanner) keep(c byte) {
	if s.collect && len(s.cur) < 1024 {
		s.cur = append(s.cur, c)
	}
}

func (s *csvScanner) endField() {
	if s.collect {
		s.scan.headerLine = s.rowLine
		s.scan.header = append(s.scan.header, strings.TrimSpace(string(s.cur)))
		s.cur = s.cur[:0]
	}
	s.field++
	s.state = csvFieldStart
}

// endRow runs on the line feed that ends a row (s.line already counts the next line).
func (s *csvScanner) endRow() {
	blank := s.field == 0 && s.state == csvFieldStart
	if s.collect && !blank {
		s.endField()
		s.collect = false
	}
	s.state, s.field, s.rowLen, s.rowLine = csvFieldStart, 0, 0, s.line
}

// end runs at the end of the file.
func (s *csvScanner) end() {
	switch s.state {
	case csvQuoted, csvEscaped:
		s.fail(s.quoteLine, s.quoteField, "the quoted value that starts here is never closed: close the quote, "+
			"or double each quote that is part of the value (\"\")")
	case csvSkipLine:
	default:
		if s.collect && (s.field > 0 || s.rowLen > 0) {
			s.endField()
			s.collect = false
		}
	}
}
