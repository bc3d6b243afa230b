package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/server"
)

// authSetup serves dev and prod with users, listening (as far as the server knows) on addr. Test routes stand
// for MLflow's: /whoami echoes the audit actor, a log call and a search call are POSTs.
func authSetup(t *testing.T, addr string) (*httptest.Server, *auth.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	users := auth.New(db, auth.Options{CacheTTL: -1})
	echo := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, auth.ActorFrom(r.Context(), "-"))
	}
	mount := func(r chi.Router) {
		r.Get("/whoami", echo)
		r.Post("/api/2.0/mlflow/runs/log-batch", echo)
		r.Post("/api/2.0/mlflow/runs/search", echo)
		r.Put("/api/2.0/mlflow-artifacts/artifacts/*", echo)
	}
	srv, err := server.New(server.Deps{DB: db, Envs: svc, Engine: eng, Auth: users, Mounts: []func(chi.Router){mount}},
		server.Options{Addr: addr})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, users
}

type cred func(*http.Request)

func bearer(tok string) cred {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func basic(u, p string) cred { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
func none(*http.Request)     {}

func call(t *testing.T, ts *httptest.Server, method, path string, c cred) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader("{}"))
	require.NoError(t, err)
	c(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestHTTPAuthOpenWithoutUsersOnLoopback: today's behaviour stays until the first user is added.
func TestHTTPAuthOpenWithoutUsersOnLoopback(t *testing.T) {
	ts, users := authSetup(t, "127.0.0.1:8080")
	status, _, body := call(t, ts, "GET", "/api/v1/envs", none)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"prod"`)
	status, _, _ = call(t, ts, "POST", "/api/2.0/mlflow/runs/log-batch", none)
	require.Equal(t, 200, status)

	require.NoError(t, users.AddUser(context.Background(), "ana", "ana-password", []auth.Grant{{Env: "dev", Role: auth.Developer}}))
	status, hdr, body := call(t, ts, "GET", "/api/v1/envs", none)
	require.Equal(t, 401, status, body)
	require.Equal(t, `Bearer realm="strata", Basic realm="strata", charset="UTF-8"`, hdr.Get("WWW-Authenticate"))
	require.Contains(t, body, `"UNAUTHENTICATED"`)
	for _, open := range []string{"/healthz", "/readyz", "/metrics"} {
		status, _, _ := call(t, ts, "GET", open, none)
		require.Equal(t, 200, status, open)
	}
}

// TestHTTPAuthRemoteListenerNeedsCredentials: a server other machines reach is never open, users or not.
func TestHTTPAuthRemoteListenerNeedsCredentials(t *testing.T) {
	ts, _ := authSetup(t, ":8080")
	status, _, _ := call(t, ts, "GET", "/api/v1/envs", none)
	require.Equal(t, 401, status)
	status, _, _ = call(t, ts, "GET", "/healthz", none)
	require.Equal(t, 200, status)
}

// TestHTTPRoles: tokens and basic auth identify the user (the actor handlers see); viewers read only their
// environments and cannot log runs or artifacts; only admins change releases; writes follow the env's kind.
func TestHTTPRoles(t *testing.T) {
	ctx := context.Background()
	ts, users := authSetup(t, "127.0.0.1:8080")
	require.NoError(t, users.AddUser(ctx, "vic", "vic-password", []auth.Grant{{Env: "prod", Role: auth.Viewer}}))
	require.NoError(t, users.AddUser(ctx, "dev1", "dev-password", []auth.Grant{{Env: "*", Role: auth.Developer}}))
	require.NoError(t, users.AddUser(ctx, "root", "root-password", []auth.Grant{{Env: "prod", Role: auth.Admin}, {Env: "dev", Role: auth.Viewer}}))
	vicTok, _, err := users.CreateToken(ctx, "vic", "", time.Hour)
	require.NoError(t, err)
	vic, dev, root := bearer(vicTok), basic("dev1", "dev-password"), basic("root", "root-password")

	_, _, body := call(t, ts, "GET", "/whoami", vic)
	require.Equal(t, "vic", body)
	_, _, body = call(t, ts, "GET", "/whoami", dev)
	require.Equal(t, "dev1", body)

	for _, c := range []struct {
		name         string
		c            cred
		method, path string
		want         int
	}{
		{"wrong password", basic("dev1", "nope-nope"), "GET", "/whoami", 401},
		{"unknown user", basic("mallory", "dev-password"), "GET", "/whoami", 401},
		{"bad token", bearer("strata_000000000000_00"), "GET", "/whoami", 401},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, "GET", "/whoami", 401},
		{"viewer reads its env", vic, "GET", "/api/v1/envs/prod/tables", 200},
		{"viewer: env without grant", vic, "GET", "/api/v1/envs/dev/tables", 403},
		{"viewer: unknown env, same answer", vic, "GET", "/api/v1/envs/nope/tables", 403},
		{"viewer searches runs", vic, "POST", "/api/2.0/mlflow/runs/search", 200},
		{"viewer cannot log runs", vic, "POST", "/api/2.0/mlflow/runs/log-batch", 403},
		{"viewer cannot write artifacts", vic, "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/x.txt", 403},
		{"viewer cannot import", vic, "POST", "/api/v1/envs/prod/tables/raw.t", 403},
		{"developer logs runs", dev, "POST", "/api/2.0/mlflow/runs/log-batch", 200},
		{"developer writes artifacts", dev, "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/x.txt", 200},
		{"developer writes dev (passes auth)", dev, "POST", "/api/v1/envs/dev/tables/raw.t", 405},
		{"developer cannot write prod", dev, "POST", "/api/v1/envs/prod/tables/raw.t", 403},
		{"developer cannot publish", dev, "POST", "/api/v1/envs/prod/releases", 403},
		{"admin publishes prod (passes auth)", root, "POST", "/api/v1/envs/prod/releases", 405},
		{"admin of prod only views dev", root, "POST", "/api/v1/envs/dev/tables/raw.t", 403},
	} {
		status, _, body := call(t, ts, c.method, c.path, c.c)
		require.Equal(t, c.want, status, "%s: %s", c.name, body)
		if status == 403 {
			require.Regexp(t, `"error_code":"(FORBIDDEN|PERMISSION_DENIED)"`, body, c.name)
		}
	}

	// The environment list shows only granted environments.
	var list struct {
		Envs []envs.Env `json:"envs"`
	}
	_, _, body = call(t, ts, "GET", "/api/v1/envs", vic)
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Envs, 1)
	require.Equal(t, "prod", list.Envs[0].Name)
	_, _, body = call(t, ts, "GET", "/api/v1/envs", dev)
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Envs, 2)
}
