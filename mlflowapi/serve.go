package mlflowapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// API serves MLflow calls: it decodes each request, runs the call and writes the JSON response or the
// error. Safe for concurrent use.
type API struct {
	log *slog.Logger
}

// New returns an API that logs server errors through log (nil means slog.Default()).
func New(log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	return &API{log: log}
}

// Call is an MLflow API call: it gets the parsed request and returns the response message (nil means {}).
type Call func(r *http.Request, req *Request) (any, error)

// Serve adapts a Call to an http.HandlerFunc: it parses the request and writes the JSON response or error.
func (a *API) Serve(call Call) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := ReadRequest(r)
		if err != nil {
			a.WriteError(w, r, err)
			return
		}
		resp, err := call(r, req)
		if err != nil {
			a.WriteError(w, r, err)
			return
		}
		if resp == nil {
			resp = struct{}{}
		}
		body, err := json.Marshal(resp)
		if err != nil {
			a.WriteError(w, r, fmt.Errorf("encode the response: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

// Mount registers call at /api/2.0/mlflow<path> and /ajax-api/2.0/mlflow<path> for each method.
func (a *API) Mount(r chi.Router, path string, call Call, methods ...string) {
	h := a.Serve(call)
	for _, m := range methods {
		r.Method(m, "/api/2.0/mlflow"+path, h)
		r.Method(m, "/ajax-api/2.0/mlflow"+path, h)
	}
}

// WriteJSON writes v as a 200 JSON response (for handlers outside Serve, whose small fixed answers cannot fail
// to encode).
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
