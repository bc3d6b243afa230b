package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/strata-data/strata/errs"
)

// apiError is the JSON body of every /api/v1 failure.
type apiError struct {
	Code    string `json:"error_code"`
	Message string `json:"message"`
	// RequestID is set on 5xx responses: the id under which the server logged the failure.
	RequestID string `json:"request_id,omitempty"`
}

// retryAfter is the Retry-After (seconds) of a 503: row streams are short, a dependency is usually back soon.
const retryAfter = "2"

// statusOf is the one place /api/v1 maps an error kind (package errs) to an HTTP status and error_code.
func statusOf(k errs.Kind) (int, string) {
	switch k {
	case errs.NotFound:
		return http.StatusNotFound, "NOT_FOUND"
	case errs.Exists, errs.Conflict:
		return http.StatusConflict, "CONFLICT"
	case errs.Invalid, errs.BadData:
		return http.StatusBadRequest, "INVALID_ARGUMENT"
	case errs.Forbidden:
		return http.StatusForbidden, "FORBIDDEN"
	case errs.Unavailable:
		return http.StatusServiceUnavailable, "UNAVAILABLE"
	case errs.Unsupported:
		return http.StatusNotImplemented, "NOT_IMPLEMENTED"
	}
	return http.StatusInternalServerError, "INTERNAL_ERROR"
}

// fail writes err as the response. A 5xx is logged once with the request id, and the client gets that id; an
// internal error's text stays in the log (it can name files, hosts or SQL), the client reads a generic message.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	kind := errs.KindOf(err)
	status, code := statusOf(kind)
	body := apiError{Code: code, Message: err.Error()}
	if status >= 500 {
		body.RequestID = middleware.GetReqID(r.Context())
		level := slog.LevelWarn
		switch {
		case kind == errs.Internal:
			level = slog.LevelError
			body.Message = "internal error: the server log has the details under request id " + body.RequestID
		case body.RequestID != "":
			body.Message += " (request id " + body.RequestID + ")"
		}
		a.log.Log(r.Context(), level, "request failed", "status", status, "method", r.Method, "path", r.URL.Path,
			"request_id", body.RequestID, "err", err.Error())
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeBody(w, status, body)
}

// writeError writes an error that is not a domain error (a method the route does not have).
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeBody(w, status, apiError{Code: code, Message: msg})
}

func writeBody(w http.ResponseWriter, status int, body apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
