package engine

import (
	"regexp"
	"strings"

	"github.com/strata-data/strata/errs"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalid: the SQL, the options or the input data are wrong; the message says what to change.
	ErrInvalid = errs.New(errs.Invalid, "invalid")
	// ErrNotFound: a named file does not exist.
	ErrNotFound = errs.New(errs.NotFound, "not found")
	// ErrClosed: the Engine has been closed.
	ErrClosed = errs.New(errs.Unavailable, "engine closed")
	// ErrBadData: an input file's data were rejected (malformed rows, a damaged or empty file, a row too long);
	// the message names the file and, where there is one, the line and column. It also matches ErrInvalid, and
	// its kind is errs.BadData.
	ErrBadData error = badData{}
)

type badData struct{}

func (badData) Error() string { return "input data rejected" }

// Unwrap makes ErrBadData match ErrInvalid (and so errs.Invalid) and errs.BadData; errs.KindOf gives BadData.
func (badData) Unwrap() []error { return []error{ErrInvalid, errs.BadData} }

var (
	// duckTail matches what DuckDB appends to an error for a developer: the statement with a caret under the
	// offending token, the reader's option dump, the line it failed on and its suggestions (options a user of
	// Strata cannot set).
	duckTail = regexp.MustCompile(`(?s)\n\s*(LINE \d+:|file = |Possible fixes|\* ).*$`)
	// duckNoise matches the lines of a DuckDB CSV error that restate the statement or the raw line.
	duckNoise = regexp.MustCompile(`(?m)^(CSV Error on Line: \d+|Original Line:.*|Possible Solution:.*)$`)
)

// duckReason returns the part of a DuckDB error message a user can act on: no SQL text, caret, option dump,
// raw line or suggestion naming a DuckDB option.
func duckReason(msg string) string {
	msg = duckNoise.ReplaceAllString(msg, "")
	msg = duckTail.ReplaceAllString(msg, "")
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}
