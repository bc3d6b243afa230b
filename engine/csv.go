//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
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

func csvSource(abs string, size int64, opts ReadOptions) source {
	params := []string{
		"store_rejects = true",
		"rejects_table = " + sqlString(rejectsTable),
		"rejects_scan = " + sqlString(rejectsScan),
		fmt.Sprintf("rejects_limit = %d", rejectsLimit(opts.MaxBadRows)),
		fmt.Sprintf("sample_size = %d", sampleRows(abs, size)),
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
		explain: func(err error) error {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return fmt.Errorf("%s: cannot read it as CSV (if the dialect was guessed wrong, give the delimiter, "+
				"the header option or the columns): %w", abs, err)
		},
	}
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
