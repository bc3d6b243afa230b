package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/envs"
)

// Authentication and roles on HTTP (Deps.Auth). Without users, a server that listens on loopback is open, as
// before Strata had users. Otherwise every request but the probes carries `Authorization: Bearer <token>` or
// basic user:password — what the stock mlflow client sends for MLFLOW_TRACKING_TOKEN and
// MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD — or gets 401 with WWW-Authenticate. Then the role:
//   - /api/v1/envs/{env}/...: reading needs a role in env; changing releases needs admin there; any other
//     change needs write access (developer in a dev-kind environment, admin in any). An environment the user
//     has no role in is 403, whether it exists or not (names are not disclosed). GET /api/v1/envs lists only
//     the environments the user has a role in.
//   - everything else (the MLflow tracking API and artifacts, shared by every environment): reading needs a role
//     somewhere; logging runs, models and artifacts needs developer or admin somewhere. MLflow's searches are
//     POSTs that only read.
// The handlers find the principal with auth.FromContext (the audit actor of their writes).

// openPaths answer without credentials: probes and metrics (counters by route pattern, no data), and the
// MLflow server's own health and version.
var openPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/health": true, "/version": true}

// mlflowReadPosts end the paths of MLflow calls that are POSTs but only read.
var mlflowReadPosts = []string{"/search", "/search-datasets", "/get-latest-versions"}

// authenticate is the middleware; it does nothing when the server has no auth.Service.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.deps.Auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.principalOf(r)
		switch {
		case errors.Is(err, errNoCredentials), errors.Is(err, auth.ErrAuthFailed):
			w.Header().Set("WWW-Authenticate", `Bearer realm="strata", Basic realm="strata", charset="UTF-8"`)
			msg := "authentication failed: wrong user name or password, or an unknown, expired or revoked token"
			if errors.Is(err, errNoCredentials) {
				msg = "this server needs credentials: send Authorization: Bearer <token> (strata token create; MLFLOW_TRACKING_TOKEN) " +
					"or basic user:password (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)"
			}
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", msg)
			return
		case err != nil:
			id := middleware.GetReqID(r.Context())
			s.deps.Log.Error("cannot authenticate a request", "path", r.URL.Path, "request_id", id, "err", err)
			writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error: the server log has the details under request id "+id)
			return
		}
		if msg := s.authorize(r, p); msg != "" {
			code := "FORBIDDEN"
			if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
				code = "PERMISSION_DENIED" // MLflow's word
			}
			writeError(w, http.StatusForbidden, code, msg)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

var errNoCredentials = errors.New("no credentials")

// principalOf authenticates r: trusted without users on a loopback listener, else by its credentials.
func (s *Server) principalOf(r *http.Request) (*auth.Principal, error) {
	has, err := s.deps.Auth.HasUsers(r.Context())
	if err != nil {
		return nil, err
	}
	if !has && s.loopback {
		return auth.TrustedPrincipal(""), nil
	}
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		return s.deps.Auth.CheckToken(r.Context(), strings.TrimSpace(cred))
	case strings.EqualFold(scheme, "Basic"):
		user, password, ok := r.BasicAuth()
		if !ok {
			return nil, auth.ErrAuthFailed
		}
		return s.deps.Auth.CheckPassword(r.Context(), user, password)
	case h == "":
		return nil, errNoCredentials
	}
	return nil, auth.ErrAuthFailed
}

// authorize returns why p may not make request r, or "".
func (s *Server) authorize(r *http.Request, p *auth.Principal) string {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	if env, rest, ok := envPath(r.URL.Path); ok {
		switch {
		case !p.CanRead(env):
			return fmt.Sprintf("user %q has no role in environment %q; an admin gives one with: strata user grant %s --env %s --role viewer",
				p.User, env, p.User, env)
		case read:
			return ""
		case strings.HasPrefix(rest, "/releases"):
			if !p.CanPublish(env) {
				return fmt.Sprintf("only an admin of %q publishes or rolls back its releases; user %q is %s there", env, p.User, p.Role(env))
			}
			return ""
		case !p.CanWrite(env, s.isProd(r, env)):
			return fmt.Sprintf("user %q (%s in %q) may not change %q: writing needs developer in a dev environment or admin",
				p.User, p.Role(env), env, env)
		}
		return ""
	}
	if !p.CanSee() {
		return fmt.Sprintf("user %q has no role in any environment", p.User)
	}
	if read || (r.Method == http.MethodPost && hasSuffix(r.URL.Path, mlflowReadPosts)) {
		return ""
	}
	if !p.CanTrack() {
		return fmt.Sprintf("user %q is a viewer: logging runs, models or artifacts needs developer or admin in some environment", p.User)
	}
	return ""
}

// envPath splits /api/v1/envs/{env}/rest.
func envPath(path string) (env, rest string, ok bool) {
	tail, ok := strings.CutPrefix(path, "/api/v1/envs/")
	if !ok || tail == "" {
		return "", "", false
	}
	env, rest, _ = strings.Cut(tail, "/")
	return env, "/" + rest, env != ""
}

// isProd says whether env is prod-kind; an environment that cannot be read counts as prod (the stricter
// rule), and its handler then answers what is wrong.
func (s *Server) isProd(r *http.Request, env string) bool {
	e, err := s.deps.Envs.Get(r.Context(), env)
	return err != nil || e.Kind == envs.KindProd
}

func hasSuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// isLoopbackAddr says whether a listen address reaches only this machine.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
