package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/go-chi/chi/v5/middleware"
)

// Browsers must not be able to act for the user who runs Strata (as MLflow 3's server guards itself):
//   - DNS rebinding: a page on evil.example re-resolves its name to 127.0.0.1 and reaches this server as a
//     same-origin site. Its requests carry "Host: evil.example", so the Host header must name this server.
//   - Cross-site requests: any page can POST a "simple" request (text/plain, form data) to localhost without a
//     CORS preflight. State-changing requests from another origin are refused unless the origin is allowed.

// hostSet is the allowed Host header values (without port).
type hostSet struct {
	any      bool
	exact    map[string]bool
	suffixes []string // ".example.com" from "*.example.com"
}

// newHostSet allows localhost, 127.0.0.1, ::1, the listen host of addr (every local name and address when it
// is a wildcard) and extra.
func newHostSet(addr string, extra []string) (hostSet, error) {
	h := hostSet{exact: map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}}
	listen, _, err := net.SplitHostPort(addr)
	if err != nil {
		listen = addr
	}
	if ip := net.ParseIP(strings.Trim(listen, "[]")); listen == "" || (ip != nil && ip.IsUnspecified()) {
		h.addLocal()
	} else {
		h.exact[normalHost(listen)] = true
	}
	for _, p := range extra {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "*":
			h.any = true
		case strings.HasPrefix(p, "*.") && len(p) > 2 && !strings.Contains(p[2:], "*"):
			h.suffixes = append(h.suffixes, p[1:])
		case p != "" && !strings.ContainsAny(p, "*/:@ ") || net.ParseIP(strings.Trim(p, "[]")) != nil:
			h.exact[normalHost(p)] = true
		default:
			return h, fmt.Errorf("allowed host %q: give a host name or address without port (strata.example.com, 10.0.0.5), *.example.com, or *", p)
		}
	}
	return h, nil
}

// addLocal allows the machine's host name and interface addresses: a server listening on every interface is
// reached by them.
func (h hostSet) addLocal() {
	if name, err := os.Hostname(); err == nil {
		h.exact[normalHost(name)] = true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			h.exact[ipn.IP.String()] = true
		}
	}
}

// normalHost strips a port, IPv6 brackets and a trailing dot, and lower-cases.
func normalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return strings.ToLower(host)
}

func (h hostSet) allows(host string) bool {
	if h.any {
		return true
	}
	host = normalHost(host)
	if host == "" {
		return false
	}
	if h.exact[host] {
		return true
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// probes answer whatever the Host: orchestrators probe by pod address.
var probes = map[string]bool{"/healthz": true, "/readyz": true}

// checkHost refuses a request whose Host header names no allowed host. The last Host header found allowed is
// remembered as sent, so a client repeating it (every request of a keep-alive client) is not parsed again.
func (s *Server) checkHost(next http.Handler) http.Handler {
	var lastAllowed atomic.Pointer[string]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if last := lastAllowed.Load(); last != nil && *last == r.Host {
			next.ServeHTTP(w, r)
			return
		}
		allowed := s.hosts.allows(r.Host)
		if !allowed && !probes[r.URL.Path] {
			s.deps.Log.Warn("refused a request for another host (DNS rebinding?)", "host", r.Host, "method", r.Method,
				"path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()))
			writeError(w, http.StatusForbidden, "FORBIDDEN", fmt.Sprintf(
				"Host %q is not a name of this server; if it is, add it to server.allowed_hosts (STRATA_SERVER_ALLOWED_HOSTS)", r.Host))
			return
		}
		if allowed {
			host := r.Host
			lastAllowed.Store(&host)
		}
		next.ServeHTTP(w, r)
	})
}

// originPolicy is which browser origins may call the API across origins.
type originPolicy struct {
	any     bool
	allowed map[string]bool // "scheme://host[:port]"
}

func newOriginPolicy(origins []string) (*originPolicy, error) {
	p := &originPolicy{allowed: map[string]bool{}}
	check := http.NewCrossOriginProtection()
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "*" {
			p.any = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("allowed origin %q: give scheme://host[:port], e.g. https://notebooks.example.com, or *", o)
		}
		o = u.Scheme + "://" + u.Host
		if err := check.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("allowed origin %q: %v", o, err)
		}
		p.allowed[o] = true
	}
	return p, nil
}

func (p *originPolicy) allows(origin string) bool {
	return origin != "" && (p.any || p.allowed[origin])
}

// checkOrigin refuses cross-origin POST, PUT, PATCH and DELETE requests from browsers (by Sec-Fetch-Site, or
// an Origin that is not the Host: net/http's CrossOriginProtection) unless their origin is allowed, and gives
// allowed origins CORS headers and preflight answers. Requests without those headers (curl, the mlflow client,
// SDKs) do not come from a web page and pass.
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	for o := range s.origins.allowed {
		_ = csrf.AddTrustedOrigin(o) // checked by newOriginPolicy
	}
	csrf.SetDenyHandler(http.HandlerFunc(s.refuseCrossOrigin))
	protected := csrf.Handler(next)
	if s.origins.any {
		protected = next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if !s.origins.allows(origin) {
			protected.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) refuseCrossOrigin(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	s.deps.Log.Warn("refused a cross-origin request", "origin", origin, "method", r.Method, "path", r.URL.Path,
		"request_id", middleware.GetReqID(r.Context()))
	from := "another site"
	if origin != "" {
		from = origin
	}
	writeError(w, http.StatusForbidden, "FORBIDDEN", fmt.Sprintf(
		"cross-origin %s refused: a page from %s may not change state here; if it should, add its origin to server.allowed_origins",
		r.Method, from))
}

// securityHeaders stops browsers from sniffing responses into another type (a CSV rendered as HTML) and from
// framing them. The values are shared, read-only slices (Header.Set would allocate one per header and request;
// Header.Add on them reallocates, as their capacity is their length).
func securityHeaders(next http.Handler) http.Handler {
	nosniff, deny := []string{"nosniff"}, []string{"DENY"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff[:1:1]
		h["X-Frame-Options"] = deny[:1:1]
		next.ServeHTTP(w, r)
	})
}
