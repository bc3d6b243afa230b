// Package api serves Strata's own HTTP API, /api/v1: environments, lake tables and their rows, releases.
//
// Each endpoint is a call: a function of the request that returns a value or an error. One wrapper (serve.go)
// checks the query parameters the route takes, writes the value as JSON (or streams it, for rows), and maps the
// error to a status in one place (errors.go), logging every 5xx once with its request id. Handlers live in one
// file per resource (envs.go, tables.go, rows.go, releases.go, features.go), so a new resource is a new file, not a longer
// controller. The package does no wiring: package server mounts Handler under /api/v1 with its middleware
// (request ids, metrics, timeouts, host and origin checks).
package api

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI document of /api/v1 (and of the server's probes).
func OpenAPI() []byte { return openapiYAML }

// Options are what the API serves from, and its limits.
type Options struct {
	Envs   *envs.Service
	Engine *engine.Engine
	// Log receives one line per 5xx response (with the request id) and per aborted row stream; nil = slog.Default().
	Log *slog.Logger
	// MaxStreams caps the row streams (GET .../rows) served at once: each holds a query database and its
	// buffers until the client has read the last byte. Above the cap a request gets 503 with Retry-After.
	// 0 = no cap.
	MaxStreams int
	// Features serves /envs/{env}/features (nil: those routes answer 503); Freshness, if set, adds each view's
	// last materialised event time.
	Features  FeatureRegistry
	Freshness Freshness
}

// API is the /api/v1 handler set.
type API struct {
	envs      *envs.Service
	engine    *engine.Engine
	log       *slog.Logger
	streams   chan struct{} // one token per running row stream; nil = no cap
	features  FeatureRegistry
	freshness Freshness
	router    chi.Router
}

// New builds the API. It is safe for concurrent use.
func New(o Options) *API {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	a := &API{envs: o.Envs, engine: o.Engine, log: o.Log, features: o.Features, freshness: o.Freshness}
	if o.MaxStreams > 0 {
		a.streams = make(chan struct{}, o.MaxStreams)
	}
	a.router = a.routes()
	return a
}

// Handler returns the API's handler; paths are relative to where it is mounted (/api/v1).
func (a *API) Handler() http.Handler { return a.router }

func (a *API) routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapiYAML)
	})
	r.Get("/envs", a.serve(a.listEnvs))
	r.Get("/envs/{env}", a.serve(a.getEnv))
	r.Get("/envs/{env}/tables", a.serve(a.listTables, "zone"))
	r.Get("/envs/{env}/tables/{table}", a.serve(a.getTable))
	r.Get("/envs/{env}/tables/{table}/rows", a.serve(a.getRows, "format", "limit", "snapshot", "as_of"))
	r.Get("/envs/{env}/releases", a.serve(a.listReleases))
	r.Get("/envs/{env}/releases/{release}", a.serve(a.getRelease))
	r.Get("/envs/{env}/features", a.serve(a.listFeatures))
	r.Get("/envs/{env}/features/{name}", a.serve(a.getFeature))
	r.Get("/envs/{env}/features/{name}/versions", a.serve(a.featureVersions))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, errs.E(errs.NotFound, "no route for %s %s; /api/v1/openapi.yaml lists the routes", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path+"; /api/v1/openapi.yaml lists the methods of each route")
	})
	return r
}
