package engine

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalid: the SQL, the options or the input data are wrong; the message says what to change.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: a named file does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the Engine has been closed.
	ErrClosed = errors.New("engine closed")
)
