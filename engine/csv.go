//go:build duckdb_arrow

package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// CSV is read by DuckDB's read_csv with its rejects machinery: malformed rows are skipped and recorded in a
// temporary table (line, column, error), which is checked against MaxBadRows when the scan ends and before
// the reader reports the end.

const (
	rejectsTable = "strata_reject_errors"
	rejectsScan  = "strata_reject_scans"
)

// rejectsLimit bounds the rows DuckDB records (memory); past it the count is a lower bound.
func rejectsLimit(maxBad int) int64 { return max(int64(maxBad)+1, 10_000) }

func csvSource(ctx context.Context, abs, file string, size int64, opts ReadOptions, plan *csvPlan) source {
	params := []string{
		"store_rejects = true",
		"rejects_table = " + sqlString(rejectsTable),
		"rejects_scan = " + sqlString(rejectsScan),
		fmt.Sprintf("rejects_limit = %d", rejectsLimit(opts.MaxBadRows)),
		fmt.Sprintf("max_line_size = %d", maxCSVRow),
	}
	switch {
	case plan != nil && plan.pinned != nil:
		params = append(params, plan.pinned...)
		cols := plan.cols
		if len(opts.Columns) > 0 {
			cols = opts.Columns
		}
		params = append(params, "columns = "+columnsParam(cols))
	default:
		params = append(params, fmt.Sprintf("sample_size = %d", sampleRows(abs, size)))
		if d := opts.Delimiter; d != "" {
			if d == `\t` {
				d = "\t"
			}
			params = append(params, "delim = "+sqlString(d))
		}
		if opts.Header != nil {
			params = append(params, "header = "+strconv.FormatBool(*opts.Header))
		}
		if len(opts.Columns) > 0 {
			params = append(params, "columns = "+columnsParam(opts.Columns))
		}
	}
	read := abs
	var pre []BadRow
	if plan != nil && plan.clean != "" {
		read, pre = plan.clean, plan.bad
	}
	return source{
		from: "read_csv(" + sqlString(read) + ", " + strings.Join(params, ", ") + ")",
		atEnd: func(ctx context.Context, in *instance, fr *FileReader) error {
			err := checkRejects(ctx, in, fr, opts.MaxBadRows, pre)
			if len(fr.bad) > 0 || err != nil {
				// DuckDB skipped rows: the pre-pass (if it has not run) says whether the file is one to refuse
				// whole, at the line a user can look at (an unterminated quote).
				if ferr := plan.locate(ctx, abs, file); ferr != nil {
					fr.bad = nil
					return ferr
				}
			}
			return err
		},
		explain: func(err error) error {
			if ctx.Err() == nil {
				if ferr := plan.locate(ctx, abs, file); ferr != nil {
					return ferr
				}
			}
			return explainCSV(file, err)
		},
	}
}

var csvLineRe = regexp.MustCompile(`CSV Error on Line: (\d+)`)

// explainCSV turns an error DuckDB's CSV reader reports (not a skipped row: a failure of the whole read) into
// one in the user's terms.
func explainCSV(file string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *Error
	if !errors.As(err, &de) {
		return err
	}
	where := file
	if m := csvLineRe.FindStringSubmatch(de.Msg); m != nil {
		where += " line " + m[1]
	}
	reason := duckReason(de.Msg)
	if strings.Contains(de.Msg, "not possible to automatically detect the CSV parsing dialect") {
		reason = "cannot tell how the file is laid out (delimiter, quoting, header)"
	}
	return fmt.Errorf("%s: cannot read it as CSV: %s: check that it is a CSV file; if the layout was guessed wrong, "+
		"give the delimiter, the header option or the columns: %w", where, reason, ErrBadData)
}

// csvPlan is how a CSV file is read, decided once before DuckDB reads it. Without user columns, DuckDB's sniffer
// runs once, on the same sample read_csv would use, and its dialect and column types are pinned (auto_detect =
// false) in every statement that reads the file, so neither the stream's statement nor the COPY that replaces it
// sniffs again. The Go pre-pass (scanCSV) runs over the whole file only when it is needed: when a cheap sweep
// finds a NUL byte or a quote that the sniffer did not take as quoting, and when DuckDB fails or skips rows
// (locate), to refuse the file at the line where its quoting breaks as before; a good file is one DuckDB pass.
type csvPlan struct {
	pinned  []string    // read_csv options of the sniffed dialect; nil: DuckDB sniffs (user columns, multi-byte delimiter)
	cols    []ColumnDef // the sniffed columns, when pinned
	d       csvDialect
	ok      bool // d is one the pre-pass handles
	scanned bool // the pre-pass ran over the whole file
	// clean is a scratch copy of the file with the rows of bad (quoting faults the pre-pass skipped, within
	// MaxBadRows) left blank, which DuckDB reads instead of the file ("": none).
	clean string
	bad   []BadRow
}

// locate runs the pre-pass (once) and returns its fault as the file's error, or nil.
func (p *csvPlan) locate(ctx context.Context, abs, file string) error {
	if p == nil || p.scanned || !p.ok {
		return nil
	}
	p.scanned = true
	_, err := preScanCSV(ctx, abs, file, p.d)
	return err
}

// checkCSV sniffs the file and runs the checks DuckDB does not make (see csvPlan).
func checkCSV(ctx context.Context, in *instance, abs, file string, size int64, opts ReadOptions) (*csvPlan, error) {
	plan, sniffErr := sniffCSV(ctx, in, abs, file, size, opts)
	switch {
	case sniffErr != nil && ctx.Err() != nil:
		return nil, sniffErr
	case sniffErr != nil:
		// The sniffer failed, often on the very row the pre-pass can name (DuckDB's line numbers are not
		// the file's): scan with the usual dialect, and report the sniffer's error if the scan finds nothing.
		d := csvDialect{delim: ',', quote: '"', escape: '"'}
		if len(opts.Delimiter) == 1 {
			d.delim = opts.Delimiter[0]
		} else if opts.Delimiter == `\t` {
			d.delim = '\t'
		}
		if _, err := preScanCSV(ctx, abs, file, d); err != nil {
			return nil, err
		}
		return nil, sniffErr
	case !plan.ok:
		return plan, nil
	}
	nul, quotes, err := sweepCSV(abs, plan.d.quote)
	var scan *csvScan
	if err != nil || nul || (quotes && (opts.MaxBadRows > 0 || plan.pinned != nil && plan.noQuoting())) {
		// A NUL byte (DuckDB would keep it), a quote the sniffer gave up on (DuckDB would take `"b` as a value),
		// or a file the sweep could not read (a cut gzip stream): the whole pre-pass names the problem. With
		// MaxBadRows, a file with quotes is pre-scanned too, so that a broken quote is a skipped row (found once
		// DuckDB has read rows, it could only fail the whole file).
		plan.scanned = true
		var bad []BadRow
		if scan, bad, err = preScanCSVRows(ctx, abs, file, plan.d, opts.MaxBadRows); err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			if plan, err = cleanPlan(ctx, in, abs, file, opts, bad); err != nil {
				return nil, err
			}
		}
	} else if plan.d.header && len(opts.Columns) == 0 {
		if scan, err = scanHeader(ctx, abs, file, plan.d); err != nil {
			return nil, err
		}
	}
	if scan != nil && len(opts.Columns) == 0 {
		return plan, duplicateNames(file, scan.headerLine, scan.header)
	}
	return plan, nil
}

// noQuoting says whether the sniffer found no quoting (the pinned quote option is empty).
func (p *csvPlan) noQuoting() bool {
	for _, o := range p.pinned {
		if o == "quote = ''" {
			return true
		}
	}
	return false
}

// preScanCSV runs the pre-pass over the whole file and returns its fault as the file's error.
func preScanCSV(ctx context.Context, abs, file string, d csvDialect) (*csvScan, error) {
	rd, closeFn, err := openMaybeGzip(abs)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	scan, err := scanCSV(ctx, rd, d)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: cannot read it: %v: check that the file is complete: %w", file, err, ErrBadData)
	}
	if f := scan.fault; f != nil {
		return nil, csvFaultError(file, scan.header, f)
	}
	return scan, nil
}

// preScanCSVRows is preScanCSV that skips up to maxBad rows whose quoting is broken (a quote that never
// closes, or closes before text that is not a delimiter): each is the physical line where its quoted value
// opens, and the pre-pass goes on from the next line. Other faults (a NUL byte, an over-long row, a fault in
// the header), or more than maxBad, are the file's error as in preScanCSV.
func preScanCSVRows(ctx context.Context, abs, file string, d csvDialect, maxBad int) (*csvScan, []BadRow, error) {
	var bad []BadRow
	var first *csvScan
	line := int64(1)
	for {
		rd, closeFn, err := openMaybeGzip(abs)
		if err != nil {
			return nil, nil, err
		}
		scan, err := scanFromLine(ctx, rd, d, line)
		closeFn()
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("%s: cannot read it: %v: check that the file is complete: %w", file, err, ErrBadData)
		}
		if first == nil {
			first = scan
		}
		f := scan.fault
		if f == nil {
			return first, bad, nil
		}
		quoting := strings.Contains(f.Msg, "the quoted value that starts here")
		if !quoting || len(bad) == 0 && maxBad == 0 || (first.header != nil && f.Line <= first.headerLine) {
			return nil, nil, csvFaultError(file, first.header, f)
		}
		column := ""
		if f.Field >= 0 && f.Field < len(first.header) {
			column = first.header[f.Field]
		}
		bad = append(bad, BadRow{File: file, Line: f.Line, Column: column, Message: f.Msg})
		if len(bad) > maxBad {
			return nil, nil, &BadInputError{File: file, Rows: bad[:min(len(bad), maxReportedRows)], Total: int64(len(bad)),
				AtLeast: true, Limit: maxBad}
		}
		line = f.Line + 1
	}
}

// scanFromLine runs the pre-pass over r from the start of line onwards.
func scanFromLine(ctx context.Context, r io.Reader, d csvDialect, line int64) (*csvScan, error) {
	if line == 1 {
		return scanCSV(ctx, r, d)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	for n := int64(1); n < line; {
		chunk, err := br.ReadSlice('\n')
		if err == nil {
			n++
		} else if err != bufio.ErrBufferFull {
			if err == io.EOF {
				return &csvScan{}, nil
			}
			return nil, err
		}
		_ = chunk
	}
	return scanCSVAt(ctx, br, d, line, false)
}

func csvFaultError(file string, header []string, f *csvFault) error {
	where := fmt.Sprintf("%s line %d", file, f.Line)
	switch {
	case f.Field >= 0 && f.Field < len(header) && header[f.Field] != "":
		where += fmt.Sprintf(", column %q", header[f.Field])
	case f.Field >= 0:
		where += fmt.Sprintf(", column %d", f.Field+1)
	}
	return fmt.Errorf("%s: %s: %w", where, f.Msg, ErrBadData)
}

// cleanPlan writes the scratch copy without the bad rows and sniffs it (the broken quote made the sniffer give up
// quoting for the whole file).
func cleanPlan(ctx context.Context, in *instance, abs, file string, opts ReadOptions, bad []BadRow) (*csvPlan, error) {
	clean, err := blankLines(abs, in.tmpDir, "clean.csv", bad)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(clean)
	if err != nil {
		return nil, err
	}
	plan, err := sniffCSV(ctx, in, clean, file, st.Size(), opts)
	if err != nil {
		return nil, err
	}
	plan.clean, plan.bad, plan.scanned = clean, bad, true
	return plan, nil
}

// scanHeader runs the pre-pass over the rows up to the header.
func scanHeader(ctx context.Context, abs, file string, d csvDialect) (*csvScan, error) {
	rd, closeFn, err := openMaybeGzip(abs)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	scan, err := scanCSVHeader(ctx, rd, d)
	if err != nil && ctx.Err() == nil {
		return preScanCSV(ctx, abs, file, d) // a cut or odd file: the whole pre-pass says what is wrong
	}
	if err == nil && scan.fault != nil {
		return preScanCSV(ctx, abs, file, d)
	}
	return scan, err
}

// sweepCSV reports whether the file holds a NUL byte and whether it holds the quote character: a vectorised
// search, much cheaper than parsing.
func sweepCSV(abs string, quote byte) (nul, quotes bool, err error) {
	rd, closeFn, err := openMaybeGzip(abs)
	if err != nil {
		return false, false, err
	}
	defer closeFn()
	buf := make([]byte, csvChunk)
	for {
		n, err := readChunk(rd, buf)
		b := buf[:n]
		if bytes.IndexByte(b, 0) >= 0 {
			return true, quotes, nil
		}
		quotes = quotes || bytes.IndexByte(b, quote) >= 0
		if err == io.EOF {
			return false, quotes, nil
		}
		if err != nil {
			return false, quotes, err
		}
	}
}

// duplicateNames refuses a header that names a column twice (DuckDB would rename the second "id" to "id_1";
// names compare without case, as in SQL).
func duplicateNames(file string, line int64, header []string) error {
	first := map[string]int{}
	var dups []string
	for i, h := range header {
		if h == "" {
			continue // DuckDB names it after its position
		}
		key := strings.ToLower(h)
		if j, ok := first[key]; ok {
			dups = append(dups, fmt.Sprintf("%q (columns %d and %d)", h, j+1, i+1))
			continue
		}
		first[key] = i
	}
	if len(dups) == 0 {
		return nil
	}
	return fmt.Errorf("%s line %d: the header names a column more than once: %s: rename the columns so that each "+
		"name is used once (names are compared without case), or give the columns: %w", file, line, strings.Join(dups, ", "), ErrBadData)
}

// sniffCSV runs DuckDB's sniffer once: with the options where given, and, without user columns, on the sample
// read_csv would take (the whole file when small, see sampleRows), pinning the dialect and types it finds. ok is
// false when the dialect is one the pre-pass does not handle (a delimiter of several bytes).
func sniffCSV(ctx context.Context, in *instance, abs, file string, size int64, opts ReadOptions) (*csvPlan, error) {
	sample := int64(20480)
	if len(opts.Columns) == 0 {
		sample = sampleRows(abs, size)
	}
	params := []string{sqlString(abs), fmt.Sprintf("sample_size = %d", sample), "ignore_errors = true", fmt.Sprintf("max_line_size = %d", maxCSVRow)}
	if d := opts.Delimiter; d != "" {
		if d == `\t` {
			d = "\t"
		}
		params = append(params, "delim = "+sqlString(d))
	}
	if opts.Header != nil {
		params = append(params, "header = "+strconv.FormatBool(*opts.Header))
	}
	rows, err := in.queryStrings(ctx, "SELECT Delimiter, Quote, Escape, Comment, SkipRows, HasHeader, NewLineDelimiter, "+
		"DateFormat, TimestampFormat, to_json(Columns) FROM sniff_csv("+strings.Join(params, ", ")+")")
	if err != nil {
		return nil, explainCSV(file, err)
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("%s: the CSV sniffer returned %d rows", file, len(rows))
	}
	r := rows[0]
	plan := &csvPlan{}
	if len(r[0]) != 1 {
		return plan, nil
	}
	one := func(s string, def byte) byte {
		if s == "" || s == "(empty)" {
			return def
		}
		return s[0]
	}
	d := csvDialect{delim: r[0][0], quote: one(r[1], '"'), comment: one(r[3], 0), header: r[5] == "true"}
	d.escape = one(r[2], d.quote)
	d.skip, _ = strconv.ParseInt(r[4], 10, 64)
	plan.d, plan.ok = d, true
	if len(opts.Columns) > 0 {
		return plan, nil
	}
	var cols []struct{ Name, Type string }
	if err := json.Unmarshal([]byte(r[9]), &cols); err != nil || len(cols) == 0 {
		return plan, nil // DuckDB sniffs again when it reads
	}
	for _, c := range cols {
		plan.cols = append(plan.cols, ColumnDef{Name: c.Name, Type: c.Type})
	}
	opt := func(s string) string {
		if s == "(empty)" {
			return ""
		}
		return s
	}
	plan.pinned = []string{"auto_detect = false", "delim = " + sqlString(r[0]), "quote = " + sqlString(opt(r[1])),
		"escape = " + sqlString(opt(r[2])), "comment = " + sqlString(opt(r[3])), "skip = " + strconv.FormatInt(d.skip, 10),
		"header = " + strconv.FormatBool(d.header)}
	if nl := opt(r[6]); nl != "" {
		plan.pinned = append(plan.pinned, "new_line = "+sqlString(nl))
	}
	if f := opt(r[7]); f != "" {
		plan.pinned = append(plan.pinned, "dateformat = "+sqlString(f))
	}
	if f := opt(r[8]); f != "" {
		plan.pinned = append(plan.pinned, "timestampformat = "+sqlString(f))
	}
	return plan, nil
}

// checkRejects reads the rejects table once the scan has ended: over the limit it is a *BadInputError,
// otherwise the skipped rows become fr.BadRows.
func checkRejects(ctx context.Context, in *instance, fr *FileReader, maxBad int, pre []BadRow) error {
	rows, err := in.queryStrings(ctx, "SELECT line, coalesce(column_name, ''), error_message FROM "+rejectsTable+
		" ORDER BY line, column_idx")
	if err != nil {
		return fmt.Errorf("read the CSV rejects: %w", err)
	}
	var bad []BadRow
	for _, r := range rows {
		line, _ := strconv.ParseInt(r[0], 10, 64)
		if len(bad) > 0 && bad[len(bad)-1].Line == line {
			continue // one entry per row: its first error
		}
		bad = append(bad, BadRow{File: fr.file, Line: line, Column: r[1], Message: r[2]})
	}
	if len(pre) > 0 { // the rows the pre-pass skipped, in file order with DuckDB's
		bad = append(append([]BadRow(nil), pre...), bad...)
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	}
	if len(bad) > maxBad {
		return &BadInputError{File: fr.file, Rows: bad[:min(len(bad), maxReportedRows)], Total: int64(len(bad)),
			AtLeast: int64(len(rows)) >= rejectsLimit(maxBad), Limit: maxBad}
	}
	fr.bad = bad
	return nil
}
