package sqlwire

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/errs"
)

// Sentinel errors of the endpoint; match them with errors.Is.
var (
	// ErrReadOnly: the statement would write, or reach files or the network; this endpoint only reads.
	ErrReadOnly = errs.New(errs.Forbidden, "read-only endpoint")
	// ErrUnsupported: a protocol feature this endpoint does not implement yet (binary results, COPY, ...).
	ErrUnsupported = errs.New(errs.Unsupported, "not supported")
	// ErrInvalid: a malformed request (a bad parameter, an unknown prepared statement or portal).
	ErrInvalid = errs.New(errs.Invalid, "invalid")
)

// errUndefinedObject marks an unknown name given to SHOW/SET (42704), errUndefinedStatement an unknown
// prepared statement or portal (26000 / 34000).
var (
	errUndefinedObject    = &stateError{state: "42704"}
	errUndefinedStatement = &stateError{state: "26000"}
	errUndefinedCursor    = &stateError{state: "34000"}
)

// stateError carries an exact SQLSTATE for the rare cases the kinds do not say.
type stateError struct{ state string }

func (e *stateError) Error() string { return "sqlstate " + e.state }

// Unwrap gives the SQLSTATE-specific errors the kind Invalid.
func (e *stateError) Unwrap() error { return ErrInvalid }

// sqlState is THE mapping of errors to SQLSTATEs (the one place the wire protocol maps errs kinds). DuckDB's
// own error classes refine Invalid into the codes clients test for.
func sqlState(err error) string {
	var se *stateError
	if errors.As(err, &se) {
		return se.state
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "57014" // query_canceled
	}
	var de *engine.Error
	if errors.As(err, &de) {
		if s := duckState(de); s != "" {
			return s
		}
	}
	switch errs.KindOf(err) {
	case errs.NotFound:
		return "42P01" // undefined_table
	case errs.Exists:
		return "42P07" // duplicate_table
	case errs.Conflict:
		return "40001" // serialization_failure: retry
	case errs.Invalid:
		return "42601" // syntax_error
	case errs.BadData:
		return "22000" // data_exception
	case errs.Forbidden:
		return "42501" // insufficient_privilege
	case errs.Unavailable:
		return "57014" // query_canceled: the engine stopped (closing, cancelled)
	case errs.Unsupported:
		return "0A000" // feature_not_supported
	}
	return "XX000" // internal_error
}

// duckState maps DuckDB's error classes; "" leaves the decision to the kind.
func duckState(e *engine.Error) string {
	switch e.Kind {
	case "Parser", "Syntax":
		return "42601"
	case "Catalog":
		if strings.Contains(e.Msg, "does not exist") {
			return "42P01"
		}
		return "42704"
	case "Binder":
		if strings.Contains(e.Msg, "Referenced column") || strings.Contains(e.Msg, "not found in FROM clause") {
			return "42703" // undefined_column
		}
		return "42601"
	case "Permission":
		return "42501"
	case "Conversion", "Invalid Input":
		return "22P02" // invalid_text_representation
	case "Out of Range":
		return "22003"
	case "Divide by Zero":
		return "22012"
	case "Parameter Not Resolved", "Parameter Not Allowed", "Invalid Configuration":
		return "22023" // invalid_parameter_value
	case "Out of Memory":
		return "53200"
	case "Interrupt":
		return "57014"
	}
	return ""
}

// errorResponse builds the ErrorResponse of err. Internal errors do not show their text (it is logged);
// DuckDB's messages are the user's own SQL's and are shown in full.
func errorResponse(err error, severity string) *pgproto3.ErrorResponse {
	state := sqlState(err)
	msg := err.Error()
	var de *engine.Error
	if state == "XX000" && !errors.As(err, &de) {
		msg = "internal error; the server log has the details"
	}
	return &pgproto3.ErrorResponse{Severity: severity, SeverityUnlocalized: severity, Code: state, Message: msg}
}
