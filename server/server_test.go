package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/server"
)

func setup(t *testing.T) (*httptest.Server, *envs.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	srv, err := server.New(server.Deps{DB: db, Envs: svc, Engine: eng}, server.Options{})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, svc
}

func writeRows(t *testing.T, svc *envs.Service, env, table string, n int) int64 {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("n")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	id, _ := lake.ParseIdent(table)
	res, err := svc.Lake().Write(context.Background(), env, id, rdr, lake.WriteOptions{Mode: lake.Append, CreateIfMissing: true})
	require.NoError(t, err)
	return res.SnapshotID
}

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func TestAPI(t *testing.T) {
	ts, svc := setup(t)
	s1 := writeRows(t, svc, "dev", "raw.orders", 5)
	writeRows(t, svc, "dev", "raw.orders", 3)

	code, _, body := get(t, ts.URL+"/healthz")
	require.Equal(t, 200, code)
	require.Equal(t, "ok\n", string(body))
	code, _, _ = get(t, ts.URL+"/readyz")
	require.Equal(t, 200, code)

	code, _, body = get(t, ts.URL+"/api/v1/envs")
	require.Equal(t, 200, code)
	var envList struct{ Envs []envs.Env }
	require.NoError(t, json.Unmarshal(body, &envList))
	require.Len(t, envList.Envs, 2)

	code, _, body = get(t, ts.URL+"/api/v1/envs/dev/tables")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), "orders")

	code, _, body = get(t, ts.URL+"/api/v1/envs/dev/tables/raw.orders")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `"read_rows": 8`)

	code, h, body := get(t, ts.URL+"/api/v1/envs/dev/tables/raw.orders/rows?format=json&limit=2")
	require.Equal(t, 200, code)
	require.Equal(t, "application/json", h.Get("Content-Type"))
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(body, &rows))
	require.Len(t, rows, 2)

	code, _, body = get(t, ts.URL+"/api/v1/envs/dev/tables/raw.orders/rows?format=csv&snapshot="+itoa(s1))
	require.Equal(t, 200, code)
	require.Equal(t, 6, bytes.Count(body, []byte("\n")), string(body)) // header + 5 rows of the first snapshot

	code, _, body = get(t, ts.URL+"/api/v1/envs/dev/tables/raw.orders/rows?format=arrow")
	require.Equal(t, 200, code)
	rdr, err := ipc.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	require.Equal(t, int64(8), n)

	code, _, body = get(t, ts.URL+"/api/v1/envs/dev/tables/raw.orders/rows?format=parquet")
	require.Equal(t, 200, code)
	pf, err := file.NewParquetReader(bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, int64(8), pf.NumRows())

	// prod: nothing published yet → 404; after publishing, the pinned snapshot only.
	writeRows(t, svc, "prod", "raw.orders", 4)
	code, _, body = get(t, ts.URL+"/api/v1/envs/prod/tables/raw.orders/rows")
	require.Equal(t, 404, code, string(body))
	_, err = svc.Publish(context.Background(), "prod", nil, envs.PublishOptions{Actor: "t"})
	require.NoError(t, err)
	writeRows(t, svc, "prod", "raw.orders", 4)
	code, _, body = get(t, ts.URL+"/api/v1/envs/prod/tables/raw.orders/rows?format=jsonl")
	require.Equal(t, 200, code)
	require.Equal(t, 4, bytes.Count(body, []byte("\n")))
	code, _, body = get(t, ts.URL+"/api/v1/envs/prod/releases/current")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `"raw.orders"`)
	code, _, _ = get(t, ts.URL+"/api/v1/envs/prod/releases")
	require.Equal(t, 200, code)

	code, _, body = get(t, ts.URL+"/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `strata_http_requests_total{code="200",method="GET",route="/api/v1/envs/{env}/tables/{table}/rows"}`)
}

func TestAPIErrors(t *testing.T) {
	ts, svc := setup(t)
	writeRows(t, svc, "dev", "raw.orders", 2)
	cases := []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/envs/nope", 404, "NOT_FOUND"},
		{"/api/v1/envs/nope/tables", 404, "NOT_FOUND"},
		{"/api/v1/envs/dev/tables/raw.nope", 404, "NOT_FOUND"},
		{"/api/v1/envs/dev/tables/bronze.orders", 404, "NOT_FOUND"},
		{"/api/v1/envs/dev/tables/orders", 400, "INVALID_ARGUMENT"},
		{"/api/v1/envs/dev/tables/raw.orders/rows?format=xml", 400, "INVALID_ARGUMENT"},
		{"/api/v1/envs/dev/tables/raw.orders/rows?limit=-1", 400, "INVALID_ARGUMENT"},
		{"/api/v1/envs/dev/tables/raw.orders/rows?snapshot=abc", 400, "INVALID_ARGUMENT"},
		{"/api/v1/envs/dev/tables/raw.orders/rows?snapshot=123", 404, "NOT_FOUND"},
		{"/api/v1/envs/dev/tables/raw.orders/rows?as_of=yesterday", 400, "INVALID_ARGUMENT"},
		{"/api/v1/envs/prod/releases/7", 404, "NOT_FOUND"},
		{"/api/v1/envs/prod/releases/x", 400, "INVALID_ARGUMENT"},
		{"/api/v1/nothing", 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, h, body := get(t, ts.URL+tc.path)
			require.Equal(t, tc.status, code, string(body))
			require.Equal(t, "application/json", h.Get("Content-Type"))
			var e struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
			}
			require.NoError(t, json.Unmarshal(body, &e))
			require.Equal(t, tc.code, e.ErrorCode)
			require.NotEmpty(t, e.Message)
		})
	}
}

// TestOpenAPICoversRoutes checks the served document parses and documents every /api/v1 route.
func TestOpenAPICoversRoutes(t *testing.T) {
	ts, _ := setup(t)
	code, _, body := get(t, ts.URL+"/api/v1/openapi.yaml")
	require.Equal(t, 200, code)
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(body, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	srv, err := server.New(server.Deps{}, server.Options{})
	require.NoError(t, err)
	h := srv.Handler().(chi.Routes)
	n := 0
	require.NoError(t, chi.Walk(h, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/v1") && route != "/healthz" && route != "/readyz" && route != "/metrics" {
			return nil // mounted by other packages (MLflow), documented by MLflow
		}
		n++
		require.Contains(t, doc.Paths, route, "route %s %s is not in openapi.yaml", method, route)
		require.Contains(t, doc.Paths[route], strings.ToLower(method), "route %s %s is not in openapi.yaml", method, route)
		return nil
	}))
	require.GreaterOrEqual(t, n, 10)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// lockedBuffer is a log destination the handler and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAPIInternalErrorLoggedOnce: a 500 on /api/v1 is logged once, as JSON through the configured logger, with
// the request id; the client gets that id and a generic message, not the internal error text.
func TestAPIInternalErrorLoggedOnce(t *testing.T) {
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	var logs lockedBuffer
	srv, err := server.New(server.Deps{DB: db, Envs: svc, Log: slog.New(slog.NewJSONHandler(&logs, nil))}, server.Options{})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	require.NoError(t, db.Close()) // every metadata query now fails: an internal error

	code, h, body := get(t, ts.URL+"/api/v1/envs")
	require.Equal(t, http.StatusInternalServerError, code, string(body))
	require.Equal(t, "application/json", h.Get("Content-Type"))
	var e struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}
	require.NoError(t, json.Unmarshal(body, &e))
	require.Equal(t, "INTERNAL_ERROR", e.ErrorCode)
	require.NotEmpty(t, e.RequestID)
	require.Contains(t, e.Message, e.RequestID)
	require.NotContains(t, strings.ToLower(string(body)), "closed", "internal error text reached the client")
	require.NotContains(t, string(body), "sql")

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "one log line per 5xx: %s", logs.String())
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec), "a JSON log line: %s", lines[0])
	require.Equal(t, "ERROR", rec["level"])
	require.Equal(t, e.RequestID, rec["request_id"])
	require.Equal(t, float64(500), rec["status"])
	require.Contains(t, rec["err"], "closed", "the log has the internal text")
}
