//go:build duckdb_arrow

package engine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON lines are checked by a Go pre-pass before DuckDB sees them, because DuckDB's JSON reader stops at the
// first malformed line and counts lines its own way. The pass finds every line that is not UTF-8, not
// JSON, or not an object; too many fail ReadFile at once, and a few are blanked out in a scratch copy that
// DuckDB then reads (blank lines are skipped, so line numbers stay put).

const maxJSONLine = 64 << 20 // longest accepted line, also DuckDB's maximum_object_size

// maxSkippedLines bounds the memory that maps DuckDB's record numbers back to file lines.
const maxSkippedLines = 1 << 20

// jsonScan is what the pre-pass learned about a file.
type jsonScan struct {
	array    bool  // the file is one JSON array, not JSON lines: DuckDB validates it as a whole
	records  int64 // good lines
	bad      []BadRow
	badTotal int64
	skipped  []int64 // blank and bad line numbers, in order: DuckDB does not count them
	capped   bool    // skipped is incomplete
	clean    string  // the scratch copy without the bad lines, once written
}

func jsonSource(ctx context.Context, in *instance, fr *FileReader, abs string, size int64, opts ReadOptions) (source, error) {
	if fr.scan == nil {
		scan, err := scanJSONLines(ctx, abs, fr.file, opts.MaxBadRows, newJSONFit(opts))
		if err != nil {
			return source{}, err
		}
		fr.scan = scan
	}
	scan := fr.scan
	switch {
	case scan.records == 0 && scan.badTotal == 0 && !scan.array:
		return source{}, fmt.Errorf("%s has no JSON records: there is nothing to import: %w", fr.file, ErrBadData)
	case scan.records == 0 && !scan.array:
		return source{}, fmt.Errorf("%s has no valid JSON records (%d malformed lines, the first: %s): fix the file: %w",
			fr.file, scan.badTotal, scan.bad[0], ErrBadData)
	case scan.badTotal > int64(opts.MaxBadRows):
		return source{}, &BadInputError{File: fr.file, Rows: scan.bad[:min(len(scan.bad), maxReportedRows)],
			Total: scan.badTotal, Limit: opts.MaxBadRows}
	}
	read := abs
	if scan.badTotal > 0 {
		if scan.clean == "" {
			clean, err := blankLines(abs, in.tmpDir, "clean.jsonl", scan.bad)
			if err != nil {
				return source{}, err
			}
			scan.clean = clean
		}
		read = scan.clean
		fr.bad = scan.bad
	}
	format := "newline_delimited"
	if scan.array {
		format = "array"
	}
	params := []string{
		"format = " + sqlString(format),
		"records = 'true'",
		fmt.Sprintf("sample_size = %d", sampleRows(abs, size)),
		fmt.Sprintf("maximum_object_size = %d", maxJSONLine+1024),
	}
	if len(opts.Columns) > 0 {
		params = append(params, "columns = "+columnsParam(opts.Columns))
	}
	declared := declaredColumns(opts)
	return source{
		from:    "read_json(" + sqlString(read) + ", " + strings.Join(params, ", ") + ")",
		explain: func(err error) error { return explainJSON(fr.file, scan, err) },
		check: func(ctx context.Context, paths []jsonPath) error {
			var inferred []jsonPath
			for _, p := range paths {
				if !declared[strings.ToLower(p[0])] {
					inferred = append(inferred, p)
				}
			}
			if len(inferred) == 0 {
				return nil
			}
			return mixedTypes(ctx, abs, fr.file, scan, inferred)
		},
	}, nil
}

var jsonLineRe = regexp.MustCompile(`in line (\d+)`)

// explainJSON names the file line of a DuckDB JSON error (a value that does not fit its column's type).
func explainJSON(file string, scan *jsonScan, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *Error
	if !errors.As(err, &de) {
		return fmt.Errorf("%s: %w", file, err)
	}
	msg := de.Msg
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	m := jsonLineRe.FindStringSubmatch(msg)
	if m == nil || scan.array {
		return fmt.Errorf("%s: cannot read it as JSON: %s: %w", file, duckReason(de.Msg), ErrBadData)
	}
	record, _ := strconv.ParseInt(m[1], 10, 64)
	where := fmt.Sprintf("line %d", physicalLine(record, scan.skipped))
	if scan.capped {
		where = fmt.Sprintf("record %d", record)
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return fmt.Errorf("%s %s: %s: fix the value, or declare a column type that holds it: %w",
		file, where, msg, ErrBadData)
}

// physicalLine maps DuckDB's 1-based record number to the file line, stepping over skipped lines.
func physicalLine(record int64, skipped []int64) int64 {
	line := record
	for _, s := range skipped {
		if s > line {
			break
		}
		line++
	}
	return line
}

// scanJSONLines validates every line of a JSON-lines file (gzip allowed), and the declared columns' values with
// fit (nil: none). It keeps the first max(maxBad, maxReportedRows) bad rows and counts them all.
func scanJSONLines(ctx context.Context, path, display string, maxBad int, fit jsonFit) (*jsonScan, error) {
	rd, closeFn, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	br := bufio.NewReaderSize(rd, 1<<20)
	scan := &jsonScan{}
	if first, err := firstByte(br); err == nil && first == '[' {
		scan.array = true
		return scan, nil
	}
	keep := max(maxBad, maxReportedRows)
	for line := int64(1); ; line++ {
		if line%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		text, tooLong, err := readLine(br)
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
		}
		if len(text) > 0 || tooLong || err == nil {
			msg, column := checkJSONLine(text, tooLong), ""
			if msg == "" && len(text) > 0 && fit != nil {
				column, msg = fit.check(text)
			}
			switch {
			case msg == "" && len(text) > 0:
				scan.records++
			default:
				if msg != "" {
					scan.badTotal++
					if len(scan.bad) < keep {
						scan.bad = append(scan.bad, BadRow{File: display, Line: line, Column: column, Message: msg})
					}
				}
				if len(scan.skipped) < maxSkippedLines {
					scan.skipped = append(scan.skipped, line)
				} else {
					scan.capped = true
				}
			}
		}
		if err == io.EOF {
			return scan, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read it: %v: check that the file is complete: %w", display, err, ErrBadData)
		}
	}
}

// checkJSONLine returns why a line is malformed, or "" if it is a JSON object or blank (len(text) == 0).
func checkJSONLine(text []byte, tooLong bool) string {
	switch {
	case tooLong:
		return fmt.Sprintf("line is longer than %d MiB", maxJSONLine>>20)
	case len(text) == 0:
		return ""
	case !utf8.Valid(text):
		return "invalid UTF-8 (the file must be UTF-8 encoded)"
	case text[0] != '{':
		return "not a JSON object: a JSON lines file has one object per line"
	case !json.Valid(text):
		var v any
		if err := json.Unmarshal(text, &v); err != nil {
			return "invalid JSON: " + err.Error()
		}
		return "invalid JSON"
	}
	return ""
}

// readLine returns the next line without its line ending and surrounding spaces; the slice is valid until
// the next read. A line longer than maxJSONLine is consumed and reported as tooLong. err is io.EOF after the
// last line.
func readLine(br *bufio.Reader) (text []byte, tooLong bool, err error) {
	var buf []byte
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		switch {
		case n > maxJSONLine:
			tooLong, buf = true, nil
		case err == bufio.ErrBufferFull || buf != nil:
			buf = append(buf, chunk...)
		default:
			buf = chunk
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSpace(buf), tooLong, err
	}
}

// firstByte peeks at the first byte that is not whitespace or a UTF-8 byte order mark.
func firstByte(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		c := b[i-1]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || (i <= 3 && bytes.HasPrefix([]byte("\xef\xbb\xbf"), b)) {
			continue
		}
		return c, nil
	}
}

func openMaybeGzip(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasSuffix(strings.ToLower(path), ".gz") {
		return f, func() { _ = f.Close() }, nil
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: not a gzip file (%v): %w", path, err, ErrBadData)
	}
	return zr, func() { _ = zr.Close(); _ = f.Close() }, nil
}

// blankLines copies the file (uncompressed) into dir with the bad lines left empty, for DuckDB to read.
func blankLines(path, dir, name string, bad []BadRow) (string, error) {
	drop := make(map[int64]bool, len(bad))
	for _, b := range bad {
		drop[b.Line] = true
	}
	rd, closeFn, err := openMaybeGzip(path)
	if err != nil {
		return "", err
	}
	defer closeFn()
	out := filepath.Join(dir, name)
	f, err := os.Create(out)
	if err != nil {
		return "", fmt.Errorf("scratch copy: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	br := bufio.NewReaderSize(rd, 1<<20)
	for line := int64(1); ; line++ {
		skip := drop[line]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if !skip {
				_, _ = bw.Write(chunk)
			} else if err != bufio.ErrBufferFull && len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
				_ = bw.WriteByte('\n')
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = f.Close()
			return "", err
		}
	}
	if err := bw.Flush(); err != nil {
		_ = f.Close()
		return "", err
	}
	return out, f.Close()
}
