// Package errs holds the small set of error kinds every Strata domain package wraps, so that each protocol (CLI
// exit codes, /api/v1 JSON, MLflow error_code, SQLSTATE, Flight status) maps errors in exactly one function
// without knowing the domain packages.
//
// A domain package declares its sentinels with New, naming their kind:
//
//	var ErrNotFound = errs.New(errs.NotFound, "not found")
//
// and wraps them with context: fmt.Errorf("table %s: %w", id, ErrNotFound). Then errors.Is(err, lake.ErrNotFound)
// and errors.Is(err, errs.NotFound) both hold, and KindOf(err) == errs.NotFound. Messages say what was wrong, in
// words every client can read; protocol-specific hints ("use --force") belong to the protocol's mapper.
package errs

import (
	"context"
	"errors"
	"fmt"
)

// Kind is what went wrong, in terms every protocol can map. A Kind is itself an error, so it can be matched with
// errors.Is and wrapped with %w.
type Kind uint8

// The kinds. Internal is the zero value: an error that wraps no kind is an internal error (a bug or an
// unexpected failure of a component), whose text clients do not see.
const (
	Internal    Kind = iota // unexpected; logged, never shown to clients in detail
	NotFound                // a named thing (environment, table, snapshot, run, file) does not exist
	Exists                  // creating something that already exists
	Conflict                // refused because of the current state (a pinned table, a concurrent change)
	Invalid                 // the request is wrong: arguments, names, SQL, options
	BadData                 // input data rejected (malformed rows, unreadable file); also matches Invalid
	Forbidden               // not allowed for this caller or environment (prod without force)
	Unavailable             // a dependency is down or the request was cancelled or timed out; retry later
	Unsupported             // a valid request Strata does not implement
)

var kindNames = [...]string{
	Internal:    "internal error",
	NotFound:    "not found",
	Exists:      "already exists",
	Conflict:    "conflict",
	Invalid:     "invalid",
	BadData:     "input data rejected",
	Forbidden:   "forbidden",
	Unavailable: "unavailable",
	Unsupported: "not supported",
}

// Kinds lists every kind, Internal first (for table tests of protocol mappers).
func Kinds() []Kind {
	return []Kind{Internal, NotFound, Exists, Conflict, Invalid, BadData, Forbidden, Unavailable, Unsupported}
}

func (k Kind) Error() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// String returns the kind's name.
func (k Kind) String() string { return k.Error() }

// Is makes BadData match Invalid as well: rejected input is a kind of invalid request to protocols that do not
// tell them apart.
func (k Kind) Is(target error) bool {
	t, ok := target.(Kind)
	return ok && (t == k || (k == BadData && t == Invalid))
}

// sentinel is a package's named error of one kind.
type sentinel struct {
	kind Kind
	msg  string
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.kind }

// New returns a sentinel error with message msg that matches kind. Each call returns a distinct error, so
// errors.Is(err, pkg.ErrNotFound) still tells packages apart.
func New(kind Kind, msg string) error { return &sentinel{kind: kind, msg: msg} }

// E returns an error of kind with a formatted message (wrapping any %w arguments too): for one-off errors that
// need no named sentinel.
func E(kind Kind, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

type kindError struct {
	kind Kind
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// KindOf returns the kind err wraps; context cancellation and deadlines are Unavailable; anything else, and
// nil, is Internal. When an error wraps several kinds (errors.Join), the first in Kinds order after Internal
// wins.
func KindOf(err error) Kind {
	if err == nil {
		return Internal
	}
	var k Kind
	if errors.As(err, &k) {
		if k == Invalid && errors.Is(err, BadData) {
			return BadData
		}
		return k
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	return Internal
}
