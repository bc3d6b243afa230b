package engine

import "github.com/strata-data/strata/errs"

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalid: the SQL, the options or the input data are wrong; the message says what to change.
	ErrInvalid = errs.New(errs.Invalid, "invalid")
	// ErrNotFound: a named file does not exist.
	ErrNotFound = errs.New(errs.NotFound, "not found")
	// ErrClosed: the Engine has been closed.
	ErrClosed = errs.New(errs.Unavailable, "engine closed")
)
