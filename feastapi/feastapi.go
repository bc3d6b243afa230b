// Package feastapi serves online features over HTTP with Feast's request and response shapes, so a Feast HTTP
// caller only changes its URL: POST /get-online-features (features or a feature service, column-major entities,
// full_feature_names; column-major results with values, statuses and event timestamps, TTL enforced at read) and
// POST /push (rows to the online store and/or, through the envs write gate, the view's offline source table).
//
// The environment is chosen per request by ?env=, the X-Strata-Env header or the path prefix /feast/{env}/
// (for Feast SDK clients, which only take a base URL), else the configured default (serving.env, "prod"). Definitions come from the features registry of that environment, cached for
// serving.definitions_ttl. The online store is loaded from the offline feature tables by a Syncer (sync.go):
// serving reads the key space it loaded for each view instance. Errors are Strata's {"error_code","message"} with the status of their kind; bad input
// is always a 4xx that names what was wrong.
package feastapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/online"
)

// Sentinel errors of requests.
var (
	ErrInvalid  = errs.New(errs.Invalid, "invalid request")
	ErrTooLarge = errs.New(errs.Invalid, "request too large")
)

// Options are what serving reads and its limits.
type Options struct {
	Defs  Definitions
	Store online.Store
	// Envs tells environment kinds (push to a prod-kind environment is refused) and writes offline pushes.
	Envs *envs.Service
	// DefaultEnv is the environment of requests that name none ("prod" when empty).
	DefaultEnv string
	// MaxEntities caps the entity rows of one request (413 above; 1000 when 0).
	MaxEntities int
	// MaxBodyBytes caps a request body (413 above; 16 MiB when 0).
	MaxBodyBytes int64
	// DefinitionsTTL is how long an environment's definitions are cached (5s when 0).
	DefinitionsTTL time.Duration
	Log            *slog.Logger
	// Sync, when set, names the key space each instance is served from (loaded from the offline tables);
	// an instance it has not loaded is read from online.Space(env, instance).
	Sync *Syncer
	// Now is the clock TTLs are checked against (time.Now when nil).
	Now func() time.Time
}

// Server is the Feast-compatible handler set. It is safe for concurrent use.
type Server struct {
	o    Options
	cats *catalogs
}

// New builds the handlers.
func New(o Options) *Server {
	if o.DefaultEnv == "" {
		o.DefaultEnv = "prod"
	}
	if o.MaxEntities <= 0 {
		o.MaxEntities = 1000
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.DefinitionsTTL <= 0 {
		o.DefinitionsTTL = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{o: o, cats: &catalogs{defs: o.Defs, ttl: o.DefinitionsTTL}}
}

// Mount registers the routes at Feast's paths (/get-online-features, /push) on r, and again under
// /feast/{env}/ for Feast clients that can only be given a base URL (the SDK's remote online store).
func (s *Server) Mount(r chi.Router) {
	r.Post("/get-online-features", s.getOnlineFeatures)
	r.Post("/push", s.push)
	r.Post("/feast/{env}/get-online-features", s.getOnlineFeatures)
	r.Post("/feast/{env}/push", s.push)
}

// space is the key space an instance of env is read from and pushed to: the one the syncer serves, else the
// plain online.Space(env, instance).
func (s *Server) space(env, instance string) string {
	if sp, ok := s.o.Sync.Served(env, instance); ok {
		return sp
	}
	return online.Space(env, instance)
}

// env returns the request's environment: the path's /feast/{env}/, else ?env=, else X-Strata-Env, else the
// default; any other query parameter is refused, and two sources that disagree are a 400.
func (s *Server) env(r *http.Request) (string, error) {
	if pe := chi.URLParam(r, "env"); pe != "" {
		if qe := r.URL.Query().Get("env"); (qe != "" && qe != pe) || (r.Header.Get("X-Strata-Env") != "" && r.Header.Get("X-Strata-Env") != pe) {
			return "", fmt.Errorf("the path names environment %s and ?env= or X-Strata-Env another: give one: %w", pe, ErrInvalid)
		}
		r.Header.Set("X-Strata-Env", pe)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", fmt.Errorf("malformed query string: %v: %w", err, ErrInvalid)
	}
	for k, v := range q {
		if k != "env" || len(v) != 1 {
			return "", fmt.Errorf("query parameter %q: only one env=NAME is accepted: %w", k, ErrInvalid)
		}
	}
	h := r.Header.Get("X-Strata-Env")
	switch qe := q.Get("env"); {
	case qe != "" && h != "" && qe != h:
		return "", fmt.Errorf("?env=%s and X-Strata-Env: %s disagree: give one: %w", qe, h, ErrInvalid)
	case qe != "":
		return qe, nil
	case h != "":
		return h, nil
	}
	return s.o.DefaultEnv, nil
}

type errorBody struct {
	Code      string `json:"error_code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// fail is the one place serving maps an error to an HTTP status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "INTERNAL_ERROR"
	switch errs.KindOf(err) {
	case errs.Invalid, errs.BadData:
		status, code = http.StatusBadRequest, "INVALID_ARGUMENT"
		if errors.Is(err, ErrTooLarge) {
			status, code = http.StatusRequestEntityTooLarge, "TOO_LARGE"
		}
	case errs.NotFound:
		status, code = http.StatusNotFound, "NOT_FOUND"
	case errs.Forbidden:
		status, code = http.StatusForbidden, "FORBIDDEN"
	case errs.Exists, errs.Conflict:
		status, code = http.StatusConflict, "CONFLICT"
	case errs.Unavailable:
		status, code = http.StatusServiceUnavailable, "UNAVAILABLE"
		w.Header().Set("Retry-After", "2")
	case errs.Unsupported:
		status, code = http.StatusNotImplemented, "NOT_IMPLEMENTED"
	}
	body := errorBody{Code: code, Message: err.Error()}
	if status >= 500 {
		body.RequestID = middleware.GetReqID(r.Context())
		s.o.Log.Error("feature serving failed", "path", r.URL.Path, "request_id", body.RequestID, "err", err.Error())
		if errs.KindOf(err) == errs.Internal {
			body.Message = "internal error: the server log has the details under request id " + body.RequestID
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
