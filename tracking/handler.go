package tracking

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/mlflowapi"
)

// Options configure the tracking HTTP handler.
type Options struct {
	// Version is reported by GET /version.
	Version string
	// Logger receives every 5xx answer once, with its request id (nil means slog.Default()).
	Logger *slog.Logger
}

// Handler serves MLflow's tracking REST API, the proxied artifact API and the small server routes the MLflow
// client probes (health, version, server-info).
type Handler struct {
	store *Store
	arts  artifacts.Store
	opts  Options
	api   *mlflowapi.API
}

// NewHandler returns the tracking handler over store, serving artifacts from arts.
func NewHandler(store *Store, arts artifacts.Store, opts Options) *Handler {
	if opts.Version == "" {
		opts.Version = "3.17.2"
	}
	return &Handler{store: store, arts: arts, opts: opts, api: mlflowapi.New(opts.Logger)}
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
		mlflowapi.WriteJSON(w, map[string]any{"store_type": "SqlStore", "workspaces_enabled": false, "multipart_uploads_enabled": false})
	})
}
