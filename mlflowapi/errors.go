package mlflowapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/strata-data/strata/errs"
)

// Sentinels of the wire layer itself: a request that cannot be decoded, a bad filter, order_by or page token.
var (
	ErrInvalid = errs.New(errs.Invalid, "invalid parameter value")
	// ErrMalformed is a body that is not a JSON object. MLflow answers it with its own code, which the kind
	// Invalid does not say, so the sentinel carries the code.
	ErrMalformed = WithCode(errs.Invalid, "MALFORMED_REQUEST", "malformed request")
)

// codeError is a sentinel of a kind that names the MLflow error code to send.
type codeError struct {
	kind errs.Kind
	code string
	msg  string
}

func (e *codeError) Error() string { return e.msg }
func (e *codeError) Unwrap() error { return e.kind }

// WithCode returns a sentinel of kind that is sent as the MLflow error code instead of the kind's own code,
// for the few errors MLflow reports more precisely than a kind says. Its status is the code's status.
func WithCode(kind errs.Kind, code, msg string) error {
	return &codeError{kind: kind, code: code, msg: msg}
}

// msgError is an error with the message MLflow clients see, wrapping its sentinel.
type msgError struct {
	sentinel error
	msg      string
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.sentinel }

// Errorf returns an error whose message is the formatted text (what MLflow clients see) and which wraps
// sentinel, so errors.Is(err, sentinel) holds and the sentinel's kind chooses the wire code.
func Errorf(sentinel error, format string, args ...any) error {
	return &msgError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error { return Errorf(ErrInvalid, format, args...) }

// kindCodes is the MLflow error code of each kind (mlflow/protos/databricks.proto); BadData is an Invalid
// request to MLflow.
var kindCodes = map[errs.Kind]string{
	errs.Internal:    "INTERNAL_ERROR",
	errs.NotFound:    "RESOURCE_DOES_NOT_EXIST",
	errs.Exists:      "RESOURCE_ALREADY_EXISTS",
	errs.Conflict:    "RESOURCE_CONFLICT",
	errs.Invalid:     "INVALID_PARAMETER_VALUE",
	errs.BadData:     "INVALID_PARAMETER_VALUE",
	errs.Forbidden:   "PERMISSION_DENIED",
	errs.Unavailable: "TEMPORARILY_UNAVAILABLE",
	errs.Unsupported: "NOT_IMPLEMENTED",
}

// codeStatus is MLflow's own code → HTTP status table (mlflow/server/handlers.py); RESOURCE_ALREADY_EXISTS is
// 400 there, not 409.
var codeStatus = map[string]int{
	"INVALID_PARAMETER_VALUE": http.StatusBadRequest,
	"BAD_REQUEST":             http.StatusBadRequest,
	"MALFORMED_REQUEST":       http.StatusBadRequest,
	"RESOURCE_ALREADY_EXISTS": http.StatusBadRequest,
	"PERMISSION_DENIED":       http.StatusForbidden,
	"RESOURCE_DOES_NOT_EXIST": http.StatusNotFound,
	"ENDPOINT_NOT_FOUND":      http.StatusNotFound,
	"RESOURCE_CONFLICT":       http.StatusConflict,
	"INTERNAL_ERROR":          http.StatusInternalServerError,
	"NOT_IMPLEMENTED":         http.StatusNotImplemented,
	"TEMPORARILY_UNAVAILABLE": http.StatusServiceUnavailable,
}

// Code maps err to the MLflow error code and HTTP status clients see: an explicit code (WithCode) if err
// carries one, else its kind's (errs.KindOf: an error of no kind is INTERNAL_ERROR). This is the one place
// MLflow errors are mapped; tracking, the registry and the artifact proxy all answer through it.
func Code(err error) (code string, status int) {
	var c *codeError
	if errors.As(err, &c) {
		code = c.code
	} else {
		code = kindCodes[errs.KindOf(err)]
	}
	status, ok := codeStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return code, status
}

// WriteError writes err as MLflow's JSON error body {"error_code","message"} with the status Code gives.
// A 4xx carries the error's message. Every 5xx is logged once through the API's logger with the request id
// (chi's middleware.RequestID), and its message names that id; an internal error's own text (and a
// cancellation's) goes only to the log, never to the client.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code, status := Code(err)
	msg := err.Error()
	if status >= http.StatusInternalServerError {
		msg = a.logServerError(r, err, code, status)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}{code, msg})
	_, _ = w.Write(append(b, '\n'))
}

// logServerError logs a 5xx and returns the message the client sees.
func (a *API) logServerError(r *http.Request, err error, code string, status int) string {
	id := middleware.GetReqID(r.Context())
	level := slog.LevelError
	if status != http.StatusInternalServerError {
		level = slog.LevelWarn
	}
	a.log.LogAttrs(r.Context(), level, "mlflow api error", slog.String("request_id", id), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("error_code", code), slog.String("err", err.Error()))
	var k errs.Kind
	declared := errors.As(err, &k) // a domain error of a declared kind has a message written for clients
	msg := err.Error()
	switch {
	case !declared && status == http.StatusServiceUnavailable:
		msg = "the request was cancelled or timed out; try again"
	case !declared:
		msg = "internal error; the server log has the details"
	}
	if id != "" {
		msg += " (request id " + id + ")"
	}
	return msg
}
