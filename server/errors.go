package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// apiError is the JSON error body of every /api/v1 failure.
type apiError struct {
	Code    string `json:"error_code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Message: msg})
}

// writeErr is the one place domain errors become HTTP statuses.
func writeErr(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error: " + msg
	}
	writeError(w, status, code, msg)
}

func statusOf(err error) (int, string) {
	var bad *engine.BadInputError
	switch {
	case errors.Is(err, lake.ErrNotFound), errors.Is(err, envs.ErrNotFound):
		return http.StatusNotFound, "NOT_FOUND"
	case errors.Is(err, lake.ErrInvalid), errors.Is(err, envs.ErrInvalid), errors.Is(err, errBadRequest),
		errors.Is(err, engine.ErrInvalid), errors.As(err, &bad):
		return http.StatusBadRequest, "INVALID_ARGUMENT"
	case errors.Is(err, envs.ErrForbidden):
		return http.StatusForbidden, "FORBIDDEN"
	case errors.Is(err, lake.ErrConflict), errors.Is(err, lake.ErrExists), errors.Is(err, envs.ErrConflict):
		return http.StatusConflict, "CONFLICT"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "CANCELLED"
	}
	return http.StatusInternalServerError, "INTERNAL_ERROR"
}

var errBadRequest = errors.New("bad request")

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
