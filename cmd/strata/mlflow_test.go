package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"
)

// The MLflow routes log through the logger the project configures: with log.format json, a 500 is one JSON
// line on stderr carrying the request id the client was given.
func TestMLflowServerErrorUsesConfiguredLogger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strata.yaml"), []byte("log:\n  format: json\n"), 0o644))
	var stderr bytes.Buffer
	a := newApp(io.Discard, &stderr, []string{"USER=tester"})
	a.projectDir = dir
	ctx := context.Background()
	require.NoError(t, a.open(ctx))
	mount, err := a.mlflowRoutes(ctx)
	require.NoError(t, err)
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	mount(r)

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/create", strings.NewReader(`{"experiment_id":"0"}`)))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var created struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &created))
	require.NoError(t, a.db.Close()) // the next query fails inside the server
	stderr.Reset()

	w = httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+created.Run.Info.RunID, nil))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	require.Len(t, lines, 1, stderr.String())
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry), "log.format json gives JSON lines")
	id, _ := entry["request_id"].(string)
	require.NotEmpty(t, id)
	require.Contains(t, w.Body.String(), id)
	require.NotContains(t, w.Body.String(), "closed")
}
