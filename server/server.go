// Package server wires Strata's HTTP interface: the router and its middleware (request ids, metrics, panic
// recovery, write-progress timeouts, Host and Origin checks, authentication and roles — auth.go), health and
// readiness probes, Prometheus metrics, and the listener. It holds no domain handler: it mounts Strata's own API (package api) under /api/v1 and the
// routes other packages register through Deps.Mounts (the MLflow API). Every route passes the same middleware.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-data/strata/api"
	"github.com/strata-data/strata/auth"
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
	// Auth authenticates requests and checks roles (auth.go); nil = every request is trusted.
	Auth *auth.Service
	// Features is the feature registry /api/v1/envs/{env}/features reads (nil: 503); Freshness optional.
	Features  api.FeatureRegistry
	Freshness api.Freshness
	// Mounts register further routes (absolute paths) on the router, e.g. the MLflow tracking API. They get
	// the server's middleware like every other route.
	Mounts []func(chi.Router)
}

// Options are the server's limits and its browser-facing security. Zero durations and counts mean no limit
// (package config holds the defaults `strata serve` uses).
type Options struct {
	// Addr is the address the server listens on; its host is an allowed Host header (with localhost,
	// 127.0.0.1 and ::1), and when it is a wildcard (":8080", "0.0.0.0:8080") so are the machine's host name
	// and interface addresses.
	Addr string
	// AllowedHosts are further Host header values to accept: names, "*.example.com", or "*" for any.
	AllowedHosts []string
	// AllowedOrigins are browser origins ("https://app.example.com", or "*") that may call the API across
	// origins: they may change state (POST, PUT, PATCH, DELETE) and get CORS headers.
	AllowedOrigins []string
	// ReadHeaderTimeout bounds reading a request's headers; IdleTimeout how long a keep-alive connection may
	// wait for its next request.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// WriteTimeout is how long one write to a client may make no progress before it fails and the handler's
	// resources (a row stream's query) are freed: a stalled client cannot hold memory.
	WriteTimeout time.Duration
	// MaxStreams caps concurrent row streams (503 with Retry-After above it).
	MaxStreams int
	// NoFastPath serves every request through net/http, without the connection-level fast path of
	// POST /get-online-features (fastpath.go).
	NoFastPath bool
}

// Server is Strata's HTTP server.
type Server struct {
	deps    Deps
	opts    Options
	router  chi.Router
	reg     *prometheus.Registry
	metrics *httpMetrics
	hosts   hostSet
	origins *originPolicy
	// loopback: the listen address reaches only this machine, so without users no credentials are needed.
	loopback bool
	// fast is the fast path of the running Serve (nil without it), for tests.
	fast atomic.Pointer[fastServer]
}

// New builds the router. It does not listen; call Serve. It fails when an allowed host or origin is malformed.
func New(d Deps, o Options) (*Server, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Server{deps: d, opts: o, reg: prometheus.NewRegistry(), loopback: isLoopbackAddr(o.Addr)}
	var err error
	if s.hosts, err = newHostSet(o.Addr, o.AllowedHosts); err != nil {
		return nil, err
	}
	if s.origins, err = newOriginPolicy(o.AllowedOrigins); err != nil {
		return nil, err
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newHTTPMetrics(s.reg)
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.instrument, s.recoverer, s.writeProgress, securityHeaders, s.checkHost, s.checkOrigin, s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no route for %s %s; the API is under /api/v1 (see /api/v1/openapi.yaml)", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	r.Get("/readyz", s.ready)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	r.Mount("/api/v1", api.New(api.Options{Envs: d.Envs, Engine: d.Engine, Log: d.Log, MaxStreams: o.MaxStreams,
		Features: d.Features, Freshness: d.Freshness}).Handler())
	for _, m := range d.Mounts {
		m(r)
	}
	s.router = r
	return s, nil
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.router }

// Registry returns the Prometheus registry so other packages can register their metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Serve listens on ln until ctx is cancelled, then shuts down gracefully: it stops accepting connections and
// waits up to grace for in-flight requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		// net/http's own messages (TLS handshakes, malformed requests) go to the configured logger too.
		ErrorLog: slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	var fast *fastServer
	if s.opts.NoFastPath {
		go func() { errc <- hs.Serve(coalescingListener{ln}) }() // a fixed-length response in one write: coalesce.go
	} else { // the Feast endpoint's fast path sees every connection first and hands the others to net/http
		fast = newFastServer(s, hs, ln)
		s.fast.Store(fast)
		go fast.acceptLoop()
		go func() { errc <- hs.Serve(fast.listener()) }()
	}
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
	if fast != nil {
		if err := fast.shutdown(sctx); err != nil {
			return fmt.Errorf("graceful shutdown: %w", err)
		}
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
				id := middleware.GetReqID(r.Context())
				s.deps.Log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "request_id", id, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error: the server log has the details under request id "+id)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
