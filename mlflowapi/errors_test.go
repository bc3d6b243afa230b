package mlflowapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

// Every kind maps to the code and status MLflow itself uses for it.
func TestCodeOfEveryKind(t *testing.T) {
	want := map[errs.Kind]struct {
		code   string
		status int
	}{
		errs.Internal:    {"INTERNAL_ERROR", 500},
		errs.NotFound:    {"RESOURCE_DOES_NOT_EXIST", 404},
		errs.Exists:      {"RESOURCE_ALREADY_EXISTS", 400},
		errs.Conflict:    {"RESOURCE_CONFLICT", 409},
		errs.Invalid:     {"INVALID_PARAMETER_VALUE", 400},
		errs.BadData:     {"INVALID_PARAMETER_VALUE", 400},
		errs.Forbidden:   {"PERMISSION_DENIED", 403},
		errs.Unavailable: {"TEMPORARILY_UNAVAILABLE", 503},
		errs.Unsupported: {"NOT_IMPLEMENTED", 501},
	}
	require.Len(t, want, len(errs.Kinds()), "a new kind needs an MLflow code")
	for _, k := range errs.Kinds() {
		w, ok := want[k]
		require.True(t, ok, "kind %v has no expected code", k)
		err := fmt.Errorf("wrapped: %w", errs.New(k, "x"))
		if k == errs.Internal {
			err = errors.New("x")
		}
		code, status := Code(err)
		require.Equal(t, w.code, code, k.String())
		require.Equal(t, w.status, status, k.String())
	}
}

// The codes and statuses the mlflow client sees stay MLflow's, whatever the domain package.
func TestWriteErrorStatuses(t *testing.T) {
	notFound := errs.New(errs.NotFound, "not found")
	exists := errs.New(errs.Exists, "already exists")
	unsupported := errs.New(errs.Unsupported, "not implemented")
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{Errorf(notFound, "Run with id=x not found"), 404, "RESOURCE_DOES_NOT_EXIST"},
		{Errorf(exists, "dup"), 400, "RESOURCE_ALREADY_EXISTS"},
		{invalidf("bad"), 400, "INVALID_PARAMETER_VALUE"},
		{Errorf(ErrMalformed, "json"), 400, "MALFORMED_REQUEST"},
		{Errorf(unsupported, "mpu"), 501, "NOT_IMPLEMENTED"},
		{errors.New("disk on fire"), 500, "INTERNAL_ERROR"},
	}
	api := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	for _, c := range cases {
		w := httptest.NewRecorder()
		api.WriteError(w, httptest.NewRequest(http.MethodGet, "/x", nil), c.err)
		require.Equal(t, c.status, w.Code)
		var body map[string]string
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
		require.Equal(t, c.code, body["error_code"])
		require.NotContains(t, body["message"], "disk on fire", "internal errors are not shown to clients")
		if c.status < 500 {
			require.Equal(t, c.err.Error(), body["message"], "4xx messages are the domain's")
		}
	}
}

// A 5xx is logged once through the configured logger with the request id; the client gets the id, not the
// internal text. 4xx answers are not logged.
func TestServerErrorLoggedOnceWithRequestID(t *testing.T) {
	var logs bytes.Buffer
	api := New(slog.New(slog.NewJSONHandler(&logs, nil)))
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	api.Mount(r, "/boom", func(*http.Request, *Request) (any, error) {
		return nil, fmt.Errorf("query runs: %w", errors.New("disk on fire"))
	}, http.MethodGet)
	api.Mount(r, "/bad", func(*http.Request, *Request) (any, error) { return nil, invalidf("bad value") }, http.MethodGet)

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/boom", nil))
	require.Equal(t, 500, w.Code)
	var body map[string]string
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	require.Equal(t, "INTERNAL_ERROR", body["error_code"])
	require.NotContains(t, body["message"], "disk on fire")

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "one log line per 5xx: %s", logs.String())
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	id, _ := entry["request_id"].(string)
	require.NotEmpty(t, id)
	require.Contains(t, body["message"], id, "the client can quote the request id")
	require.Contains(t, entry["err"], "disk on fire", "the log has the internal text")
	require.Equal(t, "ERROR", entry["level"])

	w = httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/bad", nil))
	require.Equal(t, 400, w.Code)
	require.Len(t, strings.Split(strings.TrimSpace(logs.String()), "\n"), 1, "4xx answers are not logged")
}
