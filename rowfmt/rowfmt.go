// Package rowfmt writes a stream of Arrow record batches in the formats people and tools read: an aligned
// text table like psql's, CSV, JSON, JSON lines, Arrow IPC and Parquet. Every writer streams: memory stays
// bounded by one batch (the text table also keeps its first Options.MaxTableRows rows to size the columns;
// Parquet buffers one row group, of at most 122,880 rows or about 8 MB encoded).
//
// Values are written the same way in every text format: timestamps as RFC 3339 (UTC with Z when the type
// has a time zone, without an offset when it has none), dates as YYYY-MM-DD, decimals with their exact
// digits, binary as base64, nested values (lists, structs, maps) as JSON. NaN and ±Inf are written
// NaN, Infinity and -Infinity, as JSON strings in JSON. NULL is empty in the table and CSV, null in JSON.
package rowfmt

import (
	"github.com/strata-data/strata/errs"

	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ErrInvalid reports an unknown format name.
var ErrInvalid = errs.New(errs.Invalid, "invalid")

// Format is an output format.
type Format string

// The formats.
const (
	Table   Format = "table"   // aligned text with a row-count footer, like psql
	CSV     Format = "csv"     // RFC 4180 quoting, a header line, lines end in \n
	JSON    Format = "json"    // one JSON array of objects
	JSONL   Format = "jsonl"   // one JSON object per line
	Arrow   Format = "arrow"   // Arrow IPC stream
	Parquet Format = "parquet" // Parquet, zstd
)

var formats = []Format{Table, CSV, JSON, JSONL, Arrow, Parquet}

// ParseFormat parses a format name, case-insensitively; "" is Table, "ndjson" is JSONL, "ipc" and
// "arrows" are Arrow.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case Table, CSV, JSON, JSONL, Arrow, Parquet:
		return f, nil
	case "ndjson":
		return JSONL, nil
	case "ipc", "arrows":
		return Arrow, nil
	case "":
		return Table, nil
	}
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q: use one of %s: %w", s, strings.Join(names, ", "), ErrInvalid)
}

// Binary reports whether the format is not text (a terminal should not get it).
func (f Format) Binary() bool { return f == Arrow || f == Parquet }

// Options tune the writers. Zero values mean the defaults.
type Options struct {
	// MaxTableRows is how many rows the text table buffers to size its columns (default 1000). Later rows
	// are printed with the same widths, long cells cut with "…".
	MaxTableRows int
	// MaxCellWidth caps a text table column's width in terminal cells (default 60).
	MaxCellWidth int
}

// Write copies every batch of rdr to w in format f and returns the number of rows written. It does not
// release rdr. It returns rdr's error if the stream fails; the output is then incomplete (for JSON and the
// table it lacks its end, so a reader sees it is cut short).
func Write(w io.Writer, rdr array.RecordReader, f Format, opts Options) (int64, error) {
	if opts.MaxTableRows <= 0 {
		opts.MaxTableRows = 1000
	}
	if opts.MaxCellWidth <= 0 {
		opts.MaxCellWidth = 60
	}
	s, err := newSink(w, rdr.Schema(), f, opts)
	if err != nil {
		return 0, err
	}
	var rows int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if err := s.write(rec); err != nil {
			return rows, err
		}
		rows += rec.NumRows()
	}
	if err := rdr.Err(); err != nil {
		_ = s.abort()
		return rows, err
	}
	return rows, s.close(rows)
}

func newSink(w io.Writer, schema *arrow.Schema, f Format, opts Options) (sink, error) {
	switch f {
	case Table:
		return newTableSink(w, schema, opts), nil
	case CSV:
		return newCSVSink(w, schema), nil
	case JSON:
		return newJSONSink(w, schema, true), nil
	case JSONL:
		return newJSONSink(w, schema, false), nil
	case Arrow:
		return newArrowSink(w, schema), nil
	case Parquet:
		return newParquetSink(w, schema)
	}
	_, err := ParseFormat(string(f))
	if err == nil {
		err = fmt.Errorf("unknown format %q: %w", f, ErrInvalid)
	}
	return nil, err
}

// sink is one output format.
type sink interface {
	write(rec arrow.RecordBatch) error
	// close finishes the output after the last batch.
	close(rows int64) error
	// abort flushes what was written without finishing the output, after the stream failed.
	abort() error
}
