// Package rowfmt writes a stream of Arrow record batches in the formats people and tools read: an aligned text
// table, CSV, JSON, JSON lines, Arrow IPC and Parquet. Every writer streams: memory stays bounded by one batch
// (the text table also keeps its first Options.MaxTableRows rows to size the columns).
package rowfmt

import (
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Format is an output format.
type Format string

// The formats.
const (
	Table   Format = "table"
	CSV     Format = "csv"
	JSON    Format = "json"
	JSONL   Format = "jsonl"
	Arrow   Format = "arrow"
	Parquet Format = "parquet"
)

var formats = []Format{Table, CSV, JSON, JSONL, Arrow, Parquet}

// ParseFormat parses a format name (case-insensitive; "ndjson" = jsonl, "ipc" = arrow).
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
	return "", fmt.Errorf("unknown format %q: use one of %s", s, strings.Join(names, ", "))
}

// Options tune the writers.
type Options struct {
	// MaxTableRows is how many rows the text table buffers to size its columns (default 1000). Later rows are
	// cut to those widths.
	MaxTableRows int
	// MaxCellWidth caps a text table column's width (default 60).
	MaxCellWidth int
}

// Write copies every batch of rdr to w in format f and returns the number of rows written. It does not
// release rdr. On error the output is incomplete.
func Write(w io.Writer, rdr array.RecordReader, f Format, opts Options) (int64, error) {
	if opts.MaxTableRows <= 0 {
		opts.MaxTableRows = 1000
	}
	if opts.MaxCellWidth <= 0 {
		opts.MaxCellWidth = 60
	}
	var s sink
	switch f {
	case Table:
		s = newTableSink(w, rdr.Schema(), opts)
	case CSV:
		s = newCSVSink(w, rdr.Schema())
	case JSON:
		s = newJSONSink(w, rdr.Schema(), true)
	case JSONL:
		s = newJSONSink(w, rdr.Schema(), false)
	case Arrow:
		s = newArrowSink(w, rdr.Schema())
	case Parquet:
		var err error
		if s, err = newParquetSink(w, rdr.Schema()); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("unknown format %q", f)
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
		return rows, err
	}
	return rows, s.close(rows)
}

// sink is one output format.
type sink interface {
	write(rec arrow.RecordBatch) error
	close(rows int64) error
}
