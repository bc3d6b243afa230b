package engine

import (
	"fmt"
	"github.com/strata-data/strata/errs"
	"strings"
)

// BadRow is one malformed input row that ReadFile skipped or refused.
type BadRow struct {
	File    string
	Line    int64  // 1-based line number in the file (the first line of the row)
	Column  string // the column at fault, "" when the row as a whole is (wrong column count, invalid JSON)
	Message string
}

func (b BadRow) String() string {
	s := fmt.Sprintf("%s line %d", b.File, b.Line)
	if b.Column != "" {
		s += fmt.Sprintf(", column %q", b.Column)
	}
	return s + ": " + b.Message
}

// BadInputError reports an input file with more malformed rows than ReadOptions.MaxBadRows allows. It
// matches ErrInvalid.
type BadInputError struct {
	File  string
	Rows  []BadRow // the first few bad rows, in file order
	Total int64    // bad rows found; a lower bound when AtLeast is set
	// AtLeast is set when the reader stopped counting (very many bad rows).
	AtLeast bool
	Limit   int // the MaxBadRows in force
}

// maxReportedRows is how many bad rows an error lists.
const maxReportedRows = 10

func (e *BadInputError) Error() string {
	var b strings.Builder
	total := fmt.Sprint(e.Total)
	if e.AtLeast {
		total = "at least " + total
	}
	fmt.Fprintf(&b, "%s: %s malformed rows (%d allowed)", e.File, total, e.Limit)
	for i, r := range e.Rows {
		if i == maxReportedRows {
			break
		}
		fmt.Fprintf(&b, "\n  line %d", r.Line)
		if r.Column != "" {
			fmt.Fprintf(&b, ", column %q", r.Column)
		}
		b.WriteString(": " + r.Message)
	}
	fmt.Fprintf(&b, "\nfix the file, or skip up to N malformed rows with --max-bad-rows N")
	return b.String()
}

// Unwrap makes the error match ErrInvalid and the kind errs.BadData (input data rejected).
func (e *BadInputError) Unwrap() []error { return []error{ErrInvalid, errs.BadData} }
