package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/api"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

type fixture struct {
	url       string
	svc       *envs.Service
	warehouse string
}

// setup serves the API under /api/v1 as package server mounts it, over an embedded metadata DB.
func setup(t *testing.T, o api.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	wh := t.TempDir()
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: wh})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	o.Envs, o.Engine = svc, eng
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Mount("/api/v1", api.New(o).Handler())
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	return &fixture{url: ts.URL + "/api/v1", svc: svc, warehouse: wh}
}

// write appends n rows (id, name) to env's table.
func (f *fixture) write(t *testing.T, env, table string, n int) int64 {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("name " + strconv.Itoa(i) + " with some padding to widen the row")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	id, err := lake.ParseIdent(table)
	require.NoError(t, err)
	res, err := f.svc.Lake().Write(context.Background(), env, id, rdr, lake.WriteOptions{Mode: lake.Append, CreateIfMissing: true})
	require.NoError(t, err)
	return res.SnapshotID
}

func (f *fixture) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(f.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

type errorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// TestQueryParameters: unknown, malformed or repeated query parameters are a 400 that names them, instead of
// being ignored (rows?snapshot=1;select used to return the whole current table).
func TestQueryParameters(t *testing.T) {
	t.Parallel()
	f := setup(t, api.Options{})
	f.write(t, "dev", "raw.orders", 3)
	cases := []struct {
		path    string
		mention []string
	}{
		{"/envs/dev/tables/raw.orders/rows?snapshot=1;select", []string{"malformed query", "snapshot=1;select"}},
		{"/envs/dev/tables/raw.orders/rows?columns=id", []string{`"columns"`, "format, limit, snapshot, as_of"}},
		{"/envs/dev/tables/raw.orders/rows?where=id%3D1&columns=", []string{`"columns", "where"`}},
		{"/envs/dev/tables/raw.orders/rows?limit=1&limit=2", []string{`"limit"`, "more than once"}},
		{"/envs/dev/tables/raw.orders/rows?snapshot=0", []string{"snapshot"}},
		{"/envs/dev/tables/raw.orders/rows?as_of=soon", []string{"as_of", "soon"}},
		{"/envs/dev/tables/raw.orders/rows?format=xml", []string{"xml"}},
		{"/envs/dev/tables/raw.orders/rows?format=table", []string{"table"}},
		{"/envs/dev/tables/raw.orders?snapshot=1", []string{`"snapshot"`, "takes none"}},
		{"/envs/dev/tables?zone=raw&limit=5", []string{`"limit"`, "takes zone"}},
		{"/envs?x", []string{`"x"`}},
		{"/envs/dev/tables/raw.orders/rows?%zz=1", []string{"malformed query"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, h, body := f.get(t, tc.path)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Equal(t, "application/json", h.Get("Content-Type"))
			var e errorBody
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			require.Equal(t, "INVALID_ARGUMENT", e.ErrorCode)
			for _, m := range tc.mention {
				require.Contains(t, e.Message, m)
			}
		})
	}
	code, _, body := f.get(t, "/envs/dev/tables?zone=raw")
	require.Equal(t, http.StatusOK, code, body)
}

// TestRowsTimeTravelFormats: as_of takes what the CLI's --as-of takes (envs.ParseSnapshotRef).
func TestRowsTimeTravelFormats(t *testing.T) {
	t.Parallel()
	f := setup(t, api.Options{})
	first := f.write(t, "dev", "raw.orders", 2)
	f.write(t, "dev", "raw.orders", 3)
	tomorrow := time.Now().UTC().Add(24 * time.Hour)
	for _, asOf := range []string{tomorrow.Format(time.RFC3339), tomorrow.Format("2006-01-02"), tomorrow.Format("2006-01-02T15:04:05"), tomorrow.Format("2006-01-02 15:04:05")} {
		code, h, body := f.get(t, "/envs/dev/tables/raw.orders/rows?format=jsonl&as_of="+strings.ReplaceAll(asOf, " ", "%20"))
		require.Equal(t, http.StatusOK, code, "as_of=%s: %s", asOf, body)
		require.Equal(t, 5, strings.Count(body, "\n"), "as_of=%s", asOf)
		require.NotEqual(t, strconv.FormatInt(first, 10), h.Get("X-Strata-Snapshot-Id"))
	}
	code, h, body := f.get(t, "/envs/dev/tables/raw.orders/rows?format=jsonl&snapshot="+strconv.FormatInt(first, 10))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, 2, strings.Count(body, "\n"))
	require.Equal(t, strconv.FormatInt(first, 10), h.Get("X-Strata-Snapshot-Id"))
	code, _, body = f.get(t, "/envs/dev/tables/raw.orders/rows?snapshot=1&as_of=2026-01-01")
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "give one of them")
}

// TestTableDescriptionHidesServerPaths: the description names locations relative to the warehouse, never the
// server's directories.
func TestTableDescriptionHidesServerPaths(t *testing.T) {
	t.Parallel()
	f := setup(t, api.Options{})
	f.write(t, "dev", "raw.orders", 2)
	code, _, body := f.get(t, "/envs/dev/tables/raw.orders")
	require.Equal(t, http.StatusOK, code, body)
	require.NotContains(t, body, f.warehouse)
	require.NotContains(t, body, "file://")
	var d struct {
		Location         string `json:"location"`
		MetadataLocation string `json:"metadata_location"`
		ReadRows         int64  `json:"read_rows"`
		Snapshots        []any  `json:"snapshots"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &d))
	require.Equal(t, "dev/raw/orders", d.Location)
	require.True(t, strings.HasPrefix(d.MetadataLocation, "dev/raw/orders/metadata/"), d.MetadataLocation)
	require.Equal(t, int64(2), d.ReadRows)
	require.Len(t, d.Snapshots, 1)
}

// TestRowStreamCap: above MaxStreams a row request gets 503 with Retry-After; a finished stream gives its slot
// back.
func TestRowStreamCap(t *testing.T) {
	t.Parallel()
	f := setup(t, api.Options{MaxStreams: 1})
	f.write(t, "dev", "raw.big", 300_000) // ~20 MB of CSV: more than the sockets buffer
	held, err := http.Get(f.url + "/envs/dev/tables/raw.big/rows?format=csv")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, held.StatusCode)

	code, h, body := f.get(t, "/envs/dev/tables/raw.big/rows?format=csv&limit=1")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.NotEmpty(t, h.Get("Retry-After"))
	var e errorBody
	require.NoError(t, json.Unmarshal([]byte(body), &e))
	require.Equal(t, "UNAVAILABLE", e.ErrorCode)
	require.Contains(t, e.Message, "server.max_streams")
	// Other endpoints are not limited.
	code, _, _ = f.get(t, "/envs/dev/tables/raw.big")
	require.Equal(t, http.StatusOK, code)

	n, err := io.Copy(io.Discard, held.Body)
	require.NoError(t, err)
	require.Greater(t, n, int64(10<<20))
	require.NoError(t, held.Body.Close())
	require.Eventually(t, func() bool {
		code, _, _ := f.get(t, "/envs/dev/tables/raw.big/rows?format=csv&limit=1")
		return code == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
}
