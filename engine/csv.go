//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
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

func csvSource(abs, file string, size int64, opts ReadOptions) source {
	params := []string{
		"store_rejects = true",
		"rejects_table = " + sqlString(rejectsTable),
		"rejects_scan = " + sqlString(rejectsScan),
		fmt.Sprintf("rejects_limit = %d", rejectsLimit(opts.MaxBadRows)),
		fmt.Sprintf("sample_size = %d", sampleRows(abs, size)),
		fmt.Sprintf("max_line_size = %d", maxCSVRow),
	}
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
	return source{
		from: "read_csv(" + sqlString(abs) + ", " + strings.Join(params, ", ") + ")",
		atEnd: func(ctx context.Context, in *instance, fr *FileReader) error {
			return checkRejects(ctx, in, fr, opts.MaxBadRows)
		},
		explain: func(err error) error { return explainCSV(file, err) },
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

// checkCSV runs the CSV pre-pass (see scanCSV) with the dialect from the options or DuckDB's sniffer.
func checkCSV(ctx context.Context, in *instance, abs, file string, opts ReadOptions) error {
	d, ok, sniffErr := sniffCSV(ctx, in, abs, file, opts)
	switch {
	case sniffErr != nil && ctx.Err() != nil:
		return sniffErr
	case sniffErr != nil:
		// The sniffer failed, often on the very row the pre-pass can name (DuckDB's line numbers are not
		// the file's): scan with the usual dialect, and report the sniffer's error if the scan finds nothing.
		d, ok = csvDialect{delim: ',', quote: '"', escape: '"'}, true
		if len(opts.Delimiter) == 1 {
			d.delim = opts.Delimiter[0]
		} else if opts.Delimiter == `\t` {
			d.delim = '\t'
		}
	case !ok:
		return nil
	}
	rd, closeFn, err := openMaybeGzip(abs)
	if err != nil {
		return err
	}
	defer closeFn()
	scan, err := scanCSV(ctx, rd, d)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: cannot read it: %v: check that the file is complete: %w", file, err, ErrBadData)
	}
	if f := scan.fault; f != nil {
		where := fmt.Sprintf("%s line %d", file, f.Line)
		switch {
		case f.Field >= 0 && f.Field < len(scan.header) && scan.header[f.Field] != "":
			where += fmt.Sprintf(", column %q", scan.header[f.Field])
		case f.Field >= 0:
			where += fmt.Sprintf(", column %d", f.Field+1)
		}
		return fmt.Errorf("%s: %s: %w", where, f.Msg, ErrBadData)
	}
	if sniffErr != nil {
		return sniffErr
	}
	if len(opts.Columns) == 0 {
		return duplicateNames(file, scan.headerLine, scan.header)
	}
	return nil
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

// sniffCSV returns the file's dialect: the options where given, DuckDB's sniffer (on a sample) for the rest.
// ok is false when the dialect is one the pre-pass does not handle (a delimiter of several bytes).
func sniffCSV(ctx context.Context, in *instance, abs, file string, opts ReadOptions) (csvDialect, bool, error) {
	params := []string{sqlString(abs), "sample_size = 20480", "ignore_errors = true", fmt.Sprintf("max_line_size = %d", maxCSVRow)}
	if d := opts.Delimiter; d != "" {
		if d == `\t` {
			d = "\t"
		}
		params = append(params, "delim = "+sqlString(d))
	}
	if opts.Header != nil {
		params = append(params, "header = "+strconv.FormatBool(*opts.Header))
	}
	rows, err := in.queryStrings(ctx, "SELECT Delimiter, Quote, Escape, Comment, SkipRows, HasHeader FROM sniff_csv("+
		strings.Join(params, ", ")+")")
	if err != nil {
		return csvDialect{}, false, explainCSV(file, err)
	}
	if len(rows) != 1 {
		return csvDialect{}, false, fmt.Errorf("%s: the CSV sniffer returned %d rows", file, len(rows))
	}
	r := rows[0]
	one := func(s string, def byte) byte {
		if s == "" || s == "(empty)" {
			return def
		}
		return s[0]
	}
	if len(r[0]) != 1 {
		return csvDialect{}, false, nil
	}
	d := csvDialect{delim: r[0][0], quote: one(r[1], '"'), comment: one(r[3], 0), header: r[5] == "true"}
	d.escape = one(r[2], d.quote)
	d.skip, _ = strconv.ParseInt(r[4], 10, 64)
	return d, true, nil
}

// checkRejects reads the rejects table once the scan has ended: over the limit it is a *BadInputError,
// otherwise the skipped rows become fr.BadRows.
func checkRejects(ctx context.Context, in *instance, fr *FileReader, maxBad int) error {
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
	if len(bad) > maxBad {
		return &BadInputError{File: fr.file, Rows: bad[:min(len(bad), maxReportedRows)], Total: int64(len(bad)),
			AtLeast: int64(len(rows)) >= rejectsLimit(maxBad), Limit: maxBad}
	}
	fr.bad = bad
	return nil
}
