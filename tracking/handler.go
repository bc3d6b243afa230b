package tracking

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts"
)

// Options configure the tracking HTTP handler.
type Options struct {
	// Version is reported by GET /version.
	Version string
}

// Handler serves MLflow's tracking REST API, the proxied artifact API and the small server routes the MLflow
// client probes (health, version, server-info).
type Handler struct {
	store *Store
	arts  artifacts.Store
	opts  Options
}

// NewHandler returns the tracking handler over store, serving artifacts from arts.
func NewHandler(store *Store, arts artifacts.Store, opts Options) *Handler {
	if opts.Version == "" {
		opts.Version = "3.17.2"
	}
	return &Handler{store: store, arts: arts, opts: opts}
}

// Call is an MLflow API call: it gets the parsed request and returns the response message (nil means {}).
type Call func(r *http.Request, req *Request) (any, error)

// Serve adapts a Call to an http.HandlerFunc: it parses the request and writes the JSON response or error.
func Serve(call Call) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := ReadRequest(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		resp, err := call(r, req)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if resp == nil {
			resp = struct{}{}
		}
		WriteJSON(w, resp)
	}
}

// Mount registers call at /api/2.0/mlflow<path> and /ajax-api/2.0/mlflow<path> for each method.
func Mount(r chi.Router, path string, call Call, methods ...string) {
	h := Serve(call)
	for _, m := range methods {
		r.Method(m, "/api/2.0/mlflow"+path, h)
		r.Method(m, "/ajax-api/2.0/mlflow"+path, h)
	}
}

const (
	get   = http.MethodGet
	post  = http.MethodPost
	patch = http.MethodPatch
	del   = http.MethodDelete
)

// Routes registers every tracking and artifact route on r (absolute paths).
func (h *Handler) Routes(r chi.Router) {
	h.experimentRoutes(r)
	h.runRoutes(r)
	h.modelRoutes(r)
	h.artifactRoutes(r)
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) })
	r.Get("/version", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(h.opts.Version)) })
	r.Get("/api/3.0/mlflow/server-info", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, map[string]any{"store_type": "SqlStore", "workspaces_enabled": false, "multipart_uploads_enabled": false})
	})
}
