package tracking

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/strata-data/strata/errs"
	"log/slog"
	"net/http"
)

// Sentinel errors. Store methods return errors that wrap exactly one of them (via errors.Is); the message of the
// wrapping error is the one MLflow clients see.
var (
	ErrNotFound       = errs.New(errs.NotFound, "RESOURCE_DOES_NOT_EXIST")
	ErrAlreadyExists  = errs.New(errs.Exists, "RESOURCE_ALREADY_EXISTS")
	ErrInvalid        = errs.New(errs.Invalid, "INVALID_PARAMETER_VALUE")
	ErrMalformed      = errs.New(errs.Invalid, "MALFORMED_REQUEST")
	ErrNotImplemented = errs.New(errs.Unsupported, "NOT_IMPLEMENTED")
)

// Error is an error of one of the sentinel kinds with a client-facing message.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error of the given sentinel kind.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error  { return Errorf(ErrInvalid, format, args...) }
func notFoundf(format string, args ...any) error { return Errorf(ErrNotFound, format, args...) }

// statusOf maps an MLflow error code to its HTTP status (MLflow's own table).
var statusOf = map[string]int{
	"INVALID_PARAMETER_VALUE": http.StatusBadRequest,
	"BAD_REQUEST":             http.StatusBadRequest,
	"MALFORMED_REQUEST":       http.StatusBadRequest,
	"RESOURCE_ALREADY_EXISTS": http.StatusBadRequest,
	"RESOURCE_DOES_NOT_EXIST": http.StatusNotFound,
	"ENDPOINT_NOT_FOUND":      http.StatusNotFound,
	"NOT_IMPLEMENTED":         http.StatusNotImplemented,
	"INTERNAL_ERROR":          http.StatusInternalServerError,
}

// WriteError writes err as MLflow's JSON error body with the matching HTTP status. This is the one place where
// tracking, registry and the artifact proxy turn errors into the wire format. Unknown errors become 500
// INTERNAL_ERROR and are logged; their text is not shown to the client.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := "INTERNAL_ERROR", "internal error; see the server log"
	var e *Error
	switch {
	case errors.As(err, &e):
		code, msg = e.Kind.Error(), e.Message
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrAlreadyExists), errors.Is(err, ErrInvalid),
		errors.Is(err, ErrMalformed), errors.Is(err, ErrNotImplemented):
		for _, k := range []error{ErrNotFound, ErrAlreadyExists, ErrInvalid, ErrMalformed, ErrNotImplemented} {
			if errors.Is(err, k) {
				code, msg = k.Error(), err.Error()
				break
			}
		}
	default:
		slog.ErrorContext(r.Context(), "mlflow api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

// WriteJSON writes v as a 200 JSON response.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	b, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error_code":"INTERNAL_ERROR","message":"cannot encode the response"}`))
		return
	}
	_, _ = w.Write(b)
}
