package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/server"
)

// mlflowLike mounts a state-changing route the way the MLflow API is mounted (Deps.Mounts) and counts calls.
func mlflowLike(t *testing.T, o server.Options) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	mount := func(r chi.Router) {
		r.Post("/api/2.0/mlflow/experiments/create", func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			_, _ = w.Write([]byte(`{"experiment_id":"1"}`))
		})
		r.Get("/api/2.0/mlflow/experiments/search", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{}`))
		})
	}
	srv, err := server.New(server.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mounts: []func(chi.Router){mount}}, o)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, &calls
}

func do(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"name":"x"}`))
	require.NoError(t, err)
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestCrossOriginStateChangesRefused: a web page on another origin cannot make the user's browser change state
// (today's attack: a text/plain POST to experiments/create needs no CORS preflight); same-origin pages and
// non-browser clients (no Origin) can.
func TestCrossOriginStateChangesRefused(t *testing.T) {
	t.Parallel()
	ts, calls := mlflowLike(t, server.Options{})
	create := ts.URL + "/api/2.0/mlflow/experiments/create"
	cases := []struct {
		name   string
		method string
		header map[string]string
		status int
	}{
		{"cross-origin text/plain POST", "POST", map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403},
		{"cross-origin JSON POST", "POST", map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}, 403},
		{"another port of localhost", "POST", map[string]string{"Origin": "http://localhost:1", "Content-Type": "text/plain"}, 403},
		{"cross-site by Sec-Fetch-Site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, 403},
		{"cross-origin form DELETE", "DELETE", map[string]string{"Origin": "http://evil.example"}, 403},
		{"same origin", "POST", map[string]string{"Origin": ts.URL, "Content-Type": "application/json"}, 200},
		{"same origin by Sec-Fetch-Site", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": ts.URL}, 200},
		{"no Origin (mlflow client, curl)", "POST", map[string]string{"Content-Type": "application/json"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			resp, body := do(t, tc.method, create, tc.header)
			require.Equal(t, tc.status, resp.StatusCode, body)
			if tc.status == 403 {
				require.Equal(t, before, calls.Load(), "the refused request reached the handler")
				require.Contains(t, body, `"error_code":"FORBIDDEN"`)
				require.Contains(t, body, "server.allowed_origins")
				require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
			} else {
				require.Equal(t, before+1, calls.Load())
			}
		})
	}
	// Reading is not state-changing; a cross-origin page still cannot read the answer (no CORS header).
	resp, _ := do(t, "GET", ts.URL+"/api/2.0/mlflow/experiments/search", map[string]string{"Origin": "http://evil.example"})
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
}

// TestAllowedOrigins: an allowed origin may change state and gets CORS headers and preflight answers.
func TestAllowedOrigins(t *testing.T) {
	t.Parallel()
	ts, calls := mlflowLike(t, server.Options{AllowedOrigins: []string{"https://notebooks.example.com"}})
	create := ts.URL + "/api/2.0/mlflow/experiments/create"
	resp, body := do(t, "POST", create, map[string]string{"Origin": "https://notebooks.example.com", "Content-Type": "text/plain"})
	require.Equal(t, 200, resp.StatusCode, body)
	require.Equal(t, int64(1), calls.Load())
	require.Equal(t, "https://notebooks.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = do(t, "OPTIONS", create, map[string]string{"Origin": "https://notebooks.example.com",
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	require.Equal(t, 204, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	require.Equal(t, "content-type", resp.Header.Get("Access-Control-Allow-Headers"))
	resp, _ = do(t, "POST", create, map[string]string{"Origin": "https://other.example.com", "Content-Type": "text/plain"})
	require.Equal(t, 403, resp.StatusCode)
	require.Equal(t, int64(1), calls.Load())

	ts, calls = mlflowLike(t, server.Options{AllowedOrigins: []string{"*"}})
	resp, _ = do(t, "POST", ts.URL+"/api/2.0/mlflow/experiments/create", map[string]string{"Origin": "http://anything.example", "Content-Type": "text/plain"})
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, int64(1), calls.Load())
}

// TestHostHeaderChecked: a request naming another host (DNS rebinding: evil.example resolved to 127.0.0.1) is
// refused on every route but the probes.
func TestHostHeaderChecked(t *testing.T) {
	t.Parallel()
	ts, calls := mlflowLike(t, server.Options{Addr: "127.0.0.1:0", AllowedHosts: []string{"strata.example.com", "*.corp.example"}})
	cases := []struct {
		host   string
		status int
	}{
		{"evil.example", 403},
		{"evil.example:8080", 403},
		{"corp.example", 403},
		{"localhost.evil.example", 403},
		{"localhost:8080", 200},
		{"127.0.0.1", 200},
		{"[::1]:8080", 200},
		{"STRATA.example.com", 200},
		{"strata.example.com.:443", 200},
		{"ml.corp.example", 200},
		{"evil.example", 403}, // refused after allowed hosts too (the last allowed Host is remembered)
		{"ml.corp.example.evil", 403},
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			before := calls.Load()
			resp, body := do(t, "POST", ts.URL+"/api/2.0/mlflow/experiments/create", map[string]string{"Host": tc.host})
			require.Equal(t, tc.status, resp.StatusCode, body)
			if tc.status == 403 {
				require.Equal(t, before, calls.Load())
				require.Contains(t, body, "server.allowed_hosts")
				resp, body = do(t, "GET", ts.URL+"/api/v1/openapi.yaml", map[string]string{"Host": tc.host})
				require.Equal(t, 403, resp.StatusCode, body)
				resp, _ = do(t, "GET", ts.URL+"/healthz", map[string]string{"Host": tc.host})
				require.Equal(t, 200, resp.StatusCode, "probes answer whatever the Host")
			}
		})
	}

	// The listen host is allowed; a wildcard listen address allows the machine's names.
	ts, _ = mlflowLike(t, server.Options{Addr: "10.11.12.13:8080"})
	resp, _ := do(t, "GET", ts.URL+"/api/v1/openapi.yaml", map[string]string{"Host": "10.11.12.13:8080"})
	require.Equal(t, 200, resp.StatusCode)
	name, err := os.Hostname()
	require.NoError(t, err)
	ts, _ = mlflowLike(t, server.Options{Addr: ":8080"})
	resp, _ = do(t, "GET", ts.URL+"/api/v1/openapi.yaml", map[string]string{"Host": name + ":8080"})
	require.Equal(t, 200, resp.StatusCode)
	resp, _ = do(t, "GET", ts.URL+"/api/v1/openapi.yaml", map[string]string{"Host": "evil.example"})
	require.Equal(t, 403, resp.StatusCode)
	ts, _ = mlflowLike(t, server.Options{AllowedHosts: []string{"*"}})
	resp, _ = do(t, "GET", ts.URL+"/api/v1/openapi.yaml", map[string]string{"Host": "evil.example"})
	require.Equal(t, 200, resp.StatusCode)
}

func TestBadAllowLists(t *testing.T) {
	t.Parallel()
	for _, o := range []server.Options{
		{AllowedHosts: []string{"http://strata.example.com"}},
		{AllowedHosts: []string{"strata.example.com:8080"}},
		{AllowedHosts: []string{"a*.example.com"}},
		{AllowedOrigins: []string{"notebooks.example.com"}},
		{AllowedOrigins: []string{"https://notebooks.example.com/path"}},
		{AllowedOrigins: []string{"ftp://x.example"}},
	} {
		_, err := server.New(server.Deps{}, o)
		require.Error(t, err, "%+v", o)
	}
}
