// Package server wires Strata's HTTP interface: health and readiness probes, Prometheus metrics, the OpenAPI
// document, the lake API (/api/v1) and the handlers other domain packages mount (e.g. the MLflow API). Errors
// are JSON {"error_code","message"}; this package is the one place domain errors become HTTP statuses.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/meta"
)

// Deps are the domain services the server exposes.
type Deps struct {
	DB     *meta.DB
	Envs   *envs.Service
	Engine *engine.Engine
	Log    *slog.Logger
	// Mounts register further routes (absolute paths) on the router, e.g. the MLflow tracking API.
	Mounts []func(chi.Router)
}

// Server is Strata's HTTP server.
type Server struct {
	deps    Deps
	router  chi.Router
	reg     *prometheus.Registry
	metrics *httpMetrics
}

// New builds the router. It does not listen; call Serve.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Server{deps: d, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newHTTPMetrics(s.reg)
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.instrument, s.recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	r.Get("/readyz", s.ready)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	r.Route("/api/v1", s.apiRoutes)
	for _, m := range d.Mounts {
		m(r)
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no route for %s %s; the API is under /api/v1 (see /api/v1/openapi.yaml)", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
	})
	s.router = r
	return s
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.router }

// Registry returns the Prometheus registry so other packages can register their metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Serve listens on ln until ctx is cancelled, then shuts down gracefully: it stops accepting connections and
// waits up to grace for in-flight requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{Handler: s.router, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.deps.Log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.deps.DB.SQL.PingContext(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "metadata database unreachable: "+err.Error())
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.deps.Log.Error("panic in handler", "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
