package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/errs"
)

// request is what a call sees: the HTTP request and its checked query parameters.
type request struct {
	r *http.Request
	q url.Values
}

func (in *request) ctx() context.Context { return in.r.Context() }

// path returns a path parameter of the route ({env}, {table}, ...).
func (in *request) path(name string) string { return chi.URLParam(in.r, name) }

// param returns a query parameter, "" when absent. serve has checked the name is one the route takes.
func (in *request) param(name string) string { return in.q.Get(name) }

// call is one endpoint: it returns the value to send or an error. A value that is a stream writes itself;
// any other value is sent as JSON with status 200.
type call func(in *request) (any, error)

// stream is a value that writes its own response (rows). It is called once, after the call returned; from then
// on errors cannot change the status, so a stream that fails part-way aborts the response.
type stream interface {
	serveStream(w http.ResponseWriter, r *http.Request)
}

// serve turns a call into a handler. params are the query parameters the route takes: any other, a malformed
// query string, or a parameter given twice is a 400 that names it, before the call runs.
func (a *API) serve(c call, params ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := checkQuery(r.URL.RawQuery, params)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := c(&request{r: r, q: q})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if s, ok := v.(stream); ok {
			s.serveStream(w, r)
			return
		}
		writeJSON(w, v)
	}
}

// checkQuery parses a raw query string strictly (url.Values would silently drop "snapshot=1;select") and
// checks every name against the route's parameters.
func checkQuery(raw string, params []string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errs.E(errs.Invalid, "malformed query string %q: %v; separate parameters with & and percent-encode values", raw, err)
	}
	var unknown, repeated []string
	for name, vals := range q {
		switch {
		case !contains(params, name):
			unknown = append(unknown, name)
		case len(vals) > 1:
			repeated = append(repeated, name)
		}
	}
	sort.Strings(unknown)
	sort.Strings(repeated)
	switch {
	case len(unknown) > 0 && len(params) == 0:
		return nil, errs.E(errs.Invalid, "unknown query parameter %s: this endpoint takes none", strings.Join(quoteAll(unknown), ", "))
	case len(unknown) > 0:
		return nil, errs.E(errs.Invalid, "unknown query parameter %s: this endpoint takes %s", strings.Join(quoteAll(unknown), ", "), strings.Join(params, ", "))
	case len(repeated) > 0:
		return nil, errs.E(errs.Invalid, "query parameter %s given more than once: give each once", strings.Join(quoteAll(repeated), ", "))
	}
	return q, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		b, _ := json.Marshal(n)
		out[i] = string(b)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
