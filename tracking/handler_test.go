package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts/backends"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/tracking"
)

// A 500 on an MLflow endpoint is logged once, in JSON through the configured logger, with the request id; the
// client sees that id and not the internal text.
func TestServerErrorLoggedOnceThroughConfiguredLogger(t *testing.T) {
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	s, err := tracking.NewStore(ctx, db, "")
	require.NoError(t, err)
	arts, err := backends.Open(ctx, t.TempDir())
	require.NoError(t, err)
	var logs bytes.Buffer
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	tracking.NewHandler(s, arts, tracking.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}).Routes(r)

	run, err := s.CreateRun(ctx, tracking.CreateRunInput{ExperimentID: "0"})
	require.NoError(t, err)
	require.NoError(t, db.Close()) // every query now fails inside the server: an internal error

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+run.Info.RunID, nil))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	var body map[string]string
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	require.Equal(t, "INTERNAL_ERROR", body["error_code"])
	require.NotContains(t, body["message"], "closed", "internal text stays in the log")

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "exactly one log line for one 500: %s", logs.String())
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry), "the line is JSON")
	id, _ := entry["request_id"].(string)
	require.NotEmpty(t, id)
	require.Contains(t, body["message"], id)
	require.Contains(t, entry["err"], "closed")
	require.Equal(t, "/api/2.0/mlflow/runs/get", entry["path"])
	require.EqualValues(t, 500, entry["status"])
}
