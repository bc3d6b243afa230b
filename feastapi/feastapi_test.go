package feastapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/embedded"
	"github.com/strata-data/strata/online/onlinetest"
)

var defs = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
  - name: shop
    join_keys: [{name: shop, type: string}]
feature_views:
  - name: user_stats
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    created_time: created_ts
    ttl: 1h
    online: true
    features:
      - {name: total, type: double}
      - {name: country, type: string}
      - {name: n, type: long}
  - name: shop_stats
    entities: [shop]
    source: {table: clean.shops}
    event_time: event_ts
    ttl: 0
    online: true
    features: [{name: rating, type: double}]
  - name: orders_agg
    entities: [user]
    source:
      sql: SELECT user_id, event_ts, count(*) AS n FROM raw.orders WHERE amount > {{ min_amount }} GROUP BY ALL
      params: {min_amount: {type: int, default: 30}}
    online: true
    event_time: event_ts
    ttl: 0
    features: [{name: n, type: long}]
  - name: user_history
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    ttl: 0
    features: [{name: total, type: double}]
  - name: wide
    entities: [user]
    source: {table: clean.wide}
    event_time: event_ts
    ttl: 0
    online: true
    features:
` + wideFeatures() + `feature_services:
  - name: churn
    features: [user_stats:total, shop_stats]
`

// wideFeatures declares the 50 double features f00..f49 of the view wide (benchmarks).
func wideFeatures() string {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "      - {name: f%02d, type: double}\n", i)
	}
	return b.String()
}

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type fixture struct {
	ctx   context.Context
	envs  *envs.Service
	store online.Store
	h     http.Handler
	eng   *engine.Engine
	reg   *features.Registry
	db    *meta.DB
}

func newFixture(t testing.TB, o feastapi.Options) *fixture {
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	reg := features.NewRegistry(db)
	d, err := features.Parse("features/a.yaml", []byte(defs))
	require.NoError(t, err)
	for _, env := range []string{"dev", "prod"} {
		_, err = reg.Apply(ctx, env, d, "ann")
		require.NoError(t, err)
	}
	store := o.Store
	if store == nil { // the embedded store, unless the test gives one
		b, err := embedded.Open(filepath.Join(t.TempDir(), "online.db"))
		require.NoError(t, err)
		store = online.New(b)
	}
	t.Cleanup(func() { _ = store.Close() })
	o.Defs, o.Store, o.Envs, o.Now = reg, store, svc, func() time.Time { return now }
	eng, err := engine.New(engine.Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	if o.Sync != nil {
		o.Sync.Defs, o.Sync.Envs, o.Sync.Engine, o.Sync.Store = reg, svc, eng, store
	}
	r := chi.NewRouter()
	feastapi.New(o).Mount(r)
	return &fixture{ctx: ctx, envs: svc, store: store, h: r, eng: eng, reg: reg, db: db}
}

var ts = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

func (f *fixture) userStats(t *testing.T, space string, rows ...[]any) {
	rdr := onlinetest.Rows(t, []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts},
		{Name: "created_ts", Type: ts, Nullable: true}, {Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, rows...)
	defer rdr.Release()
	require.NoError(t, f.store.WriteLatest(f.ctx, space, []string{"user_id"}, rdr))
}

func (f *fixture) post(t *testing.T, path, body string, header ...string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func compact(t *testing.T, s string) string {
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, []byte(s)), s)
	return b.String()
}

// TestGetOnlineFeatures: Feast's request (research/feature-store.md §1.4, with Strata's names) answered in Feast's
// column-major shape: key column first, features in requested order, each status (PRESENT, NULL_VALUE, NOT_FOUND,
// OUTSIDE_MAX_AGE from the view's 1h TTL) with its event timestamp.
func TestGetOnlineFeatures(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.userStats(t, "prod/user_stats",
		[]any{1001, now.Add(-10 * time.Minute), nil, 0.53, "fr", 7},
		[]any{1002, now.Add(-2 * time.Hour), nil, 0.91, "de", 8},
		[]any{1003, now.Add(-time.Minute), nil, nil, "it", 9})
	status, body := f.post(t, "/get-online-features", `{
		"features": ["user_stats:country", "user_stats:total"],
		"feature_service": null,
		"entities": {"user_id": [1001, 1002, 1003, 1004]},
		"full_feature_names": false,
		"include_feature_view_version_metadata": false}`)
	require.Equal(t, 200, status, body)
	require.JSONEq(t, `{"metadata":{"feature_names":["user_id","country","total"]},"results":[
		{"values":[1001,1002,1003,1004],"statuses":["PRESENT","PRESENT","PRESENT","PRESENT"],
		 "event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z","1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},
		{"values":["fr","de","it",null],"statuses":["PRESENT","OUTSIDE_MAX_AGE","PRESENT","NOT_FOUND"],
		 "event_timestamps":["2026-11-24T11:50:00Z","2026-11-24T10:00:00Z","2026-11-24T11:59:00Z","1970-01-01T00:00:00Z"]},
		{"values":[0.53,0.91,null,null],"statuses":["PRESENT","OUTSIDE_MAX_AGE","NULL_VALUE","NOT_FOUND"],
		 "event_timestamps":["2026-11-24T11:50:00Z","2026-11-24T10:00:00Z","2026-11-24T11:59:00Z","1970-01-01T00:00:00Z"]}]}`, body)

	status, body = f.post(t, "/get-online-features", `{"features":["user_stats:n"],"entities":{"user_id":[1001]},"full_feature_names":true}`)
	require.Equal(t, 200, status, body)
	require.JSONEq(t, `{"metadata":{"feature_names":["user_id","user_stats__n"]},"results":[
		{"values":[1001],"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]},
		{"values":[7],"statuses":["PRESENT"],"event_timestamps":["2026-11-24T11:50:00Z"]}]}`, body)

	// An empty entity list is an empty result, not an error.
	status, body = f.post(t, "/get-online-features", `{"features":["user_stats:n"],"entities":{"user_id":[]}}`)
	require.Equal(t, 200, status, body)
	require.JSONEq(t, `{"metadata":{"feature_names":["user_id","n"]},"results":[
		{"values":[],"statuses":[],"event_timestamps":[]},{"values":[],"statuses":[],"event_timestamps":[]}]}`, body)
}

// TestGetOnlineFeaturesServiceAndKeys: a feature service (a bare view = all its features) over two entities with
// different join keys, entity columns in the request's order.
func TestGetOnlineFeaturesServiceAndKeys(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.userStats(t, "prod/user_stats", []any{1, now, nil, 1.5, "fr", 1})
	rdr := onlinetest.Rows(t, []arrow.Field{{Name: "shop", Type: arrow.BinaryTypes.String}, {Name: "event_ts", Type: ts},
		{Name: "rating", Type: arrow.PrimitiveTypes.Float64}}, []any{"s1", now.Add(-1000 * time.Hour), 4.5})
	defer rdr.Release()
	require.NoError(t, f.store.WriteLatest(f.ctx, "prod/shop_stats", []string{"shop"}, rdr))
	status, body := f.post(t, "/get-online-features", `{"feature_service":"churn","entities":{"shop":["s1","s2"],"user_id":[1,2]}}`)
	require.Equal(t, 200, status, body)
	require.JSONEq(t, `{"metadata":{"feature_names":["shop","user_id","total","rating"]},"results":[
		{"values":["s1","s2"],"statuses":["PRESENT","PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},
		{"values":[1,2],"statuses":["PRESENT","PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},
		{"values":[1.5,null],"statuses":["PRESENT","NOT_FOUND"],"event_timestamps":["2026-11-24T12:00:00Z","1970-01-01T00:00:00Z"]},
		{"values":[4.5,null],"statuses":["PRESENT","NOT_FOUND"],"event_timestamps":["2026-10-13T20:00:00Z","1970-01-01T00:00:00Z"]}]}`, body,
		"TTL 0 is unbounded: a 1000-hour-old rating is PRESENT")
}

// TestGetOnlineFeaturesEnvs: ?env= or X-Strata-Env choose the environment (default prod); conflicting choices
// are refused. (What prod serves — released snapshots only — is TestSyncProdServesReleasedSnapshots.)
func TestGetOnlineFeaturesEnvs(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.userStats(t, "dev/user_stats", []any{1, now, nil, 1.0, "dev", 1})
	f.userStats(t, "prod/user_stats", []any{1, now.Add(-time.Minute), nil, 2.0, "prod", 1})
	req := `{"features":["user_stats:country"],"entities":{"user_id":[1]}}`
	country := func(status int, body string) string {
		require.Equal(t, 200, status, body)
		var out struct {
			Results []struct{ Values []any } `json:"results"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		return out.Results[1].Values[0].(string)
	}
	require.Equal(t, "prod", country(f.post(t, "/get-online-features", req)))
	require.Equal(t, "dev", country(f.post(t, "/get-online-features?env=dev", req)))
	require.Equal(t, "dev", country(f.post(t, "/get-online-features", req, "X-Strata-Env", "dev")))
	require.Equal(t, "dev", country(f.post(t, "/feast/dev/get-online-features", req)), "the path prefix for Feast SDK clients")
	require.Equal(t, "prod", country(f.post(t, "/feast/prod/get-online-features", req)))
	status, body := f.post(t, "/get-online-features?env=prod", req, "X-Strata-Env", "dev")
	require.Equal(t, 400, status)
	require.Contains(t, body, "disagree")
	status, body = f.post(t, "/feast/dev/get-online-features?env=prod", req)
	require.Equal(t, 400, status)
	require.Contains(t, body, "give one")
}

// TestGetOnlineFeaturesInstances: view(param=value):feature reads the instance's own key space; default values
// name the view's own space.
func TestGetOnlineFeaturesInstances(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	write := func(space string, n int) {
		rdr := onlinetest.Rows(t, []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts},
			{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, []any{1, now, n})
		defer rdr.Release()
		require.NoError(t, f.store.WriteLatest(f.ctx, space, []string{"user_id"}, rdr))
	}
	write("dev/orders_agg", 30)
	write("dev/orders_agg__p"+hash10("min_amount=50"), 50)
	status, body := f.post(t, "/get-online-features?env=dev",
		`{"features":["orders_agg:n","orders_agg(min_amount=50):n"],"entities":{"user_id":[1]},"full_feature_names":true}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, compact(t, body), `"feature_names":["user_id","orders_agg__n","orders_agg__p`+hash10("min_amount=50")+`__n"`)
	require.Contains(t, compact(t, body), `{"values":[30],`)
	require.Contains(t, compact(t, body), `{"values":[50],`)
	status, body = f.post(t, "/get-online-features?env=dev", `{"features":["orders_agg(min_amount=30):n"],"entities":{"user_id":[1]}}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, compact(t, body), `{"values":[30],`, "the default value names the view's own space")
	require.Equal(t, 400, statusOf(f.post(t, "/get-online-features?env=dev", `{"features":["orders_agg(min_amount=x):n"],"entities":{"user_id":[1]}}`)))
	status, body = f.post(t, "/get-online-features?env=dev", `{"features":["orders_agg(kind=web):n"],"entities":{"user_id":[1]}}`)
	require.Equal(t, 400, status)
	require.Contains(t, message(t, body), `no parameter "kind"`)
}

func statusOf(status int, _ string) int { return status }

// message is the message of an error response.
func message(t *testing.T, body string) string {
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	require.NotEmpty(t, e.Code)
	return e.Message
}

// TestGetOnlineFeaturesBadInput: each bad request is a 4xx naming what is wrong.
func TestGetOnlineFeaturesBadInput(t *testing.T) {
	f := newFixture(t, feastapi.Options{MaxEntities: 3, MaxBodyBytes: 2048})
	cases := []struct {
		name, path, body string
		status           int
		want             []string
	}{
		{"unknown views", "", `{"features":["nope:a","user_stats:total","gone:b"],"entities":{"user_id":[1]}}`, 400, []string{"unknown feature views in prod: nope, gone"}},
		{"unknown features", "", `{"features":["user_stats:tot","user_stats:x"],"entities":{"user_id":[1]}}`, 400, []string{"unknown features: user_stats:tot, user_stats:x"}},
		{"unknown entity key", "", `{"features":["user_stats:total"],"entities":{"user_id":[1],"driver_id":[2]}}`, 400, []string{"driver_id", "user_id"}},
		{"missing entity key", "", `{"features":["user_stats:total","shop_stats:rating"],"entities":{"user_id":[1]}}`, 400, []string{"lacks join keys: shop (a string, needed by feature view shop_stats)"}},
		{"string for a long key", "", `{"features":["user_stats:total"],"entities":{"user_id":["1"]}}`, 400, []string{`entities.user_id[0] is "1"`, "give an integer"}},
		{"float for a long key", "", `{"features":["user_stats:total"],"entities":{"user_id":[1.5]}}`, 400, []string{"entities.user_id[0] is 1.5"}},
		{"offline-only view", "", `{"features":["user_history:total"],"entities":{"user_id":[1]}}`, 400, []string{"not served online in prod: user_history", "online: true"}},
		{"number for a string key", "", `{"features":["shop_stats:rating"],"entities":{"shop":[7]}}`, 400, []string{"entities.shop[0] is 7", "JSON string"}},
		{"lengths differ", "", `{"features":["user_stats:total","shop_stats:rating"],"entities":{"user_id":[1,2],"shop":["a"]}}`, 400, []string{"different lengths"}},
		{"both", "", `{"features":["user_stats:total"],"feature_service":"churn","entities":{"user_id":[1]}}`, 400, []string{"not both"}},
		{"neither", "", `{"entities":{"user_id":[1]}}`, 400, []string{`give "features"`}},
		{"unknown service", "", `{"feature_service":"fraud","entities":{"user_id":[1]}}`, 400, []string{`unknown feature service "fraud"`}},
		{"too many entities", "", `{"features":["user_stats:total"],"entities":{"user_id":[1,2,3,4]}}`, 413, []string{"serving.max_entities (3)"}},
		{"body too large", "", `{"features":["user_stats:total"],"entities":{"user_id":[` + strings.Repeat("1,", 2000) + `1]}}`, 413, []string{"serving.max_body_bytes"}},
		{"unknown field", "", `{"features":["user_stats:total"],"entities":{"user_id":[1]},"entity_rows":[]}`, 400, []string{"entity_rows"}},
		{"malformed json", "", `{"features":`, 400, []string{"not a valid request"}},
		{"entities not an object", "", `{"features":["user_stats:total"],"entities":[1]}`, 400, []string{"entities"}},
		{"same name twice", "", `{"features":["user_stats:n","orders_agg:n"],"entities":{"user_id":[1]}}`, 400, []string{"full_feature_names"}},
		{"unknown query parameter", "?status=true", `{"features":["user_stats:total"],"entities":{"user_id":[1]}}`, 400, []string{`"status"`}},
		{"unknown env", "?env=qa", `{"features":["user_stats:total"],"entities":{"user_id":[1]}}`, 400, []string{"unknown feature views in qa: user_stats"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.post(t, "/get-online-features"+c.path, c.body)
			require.Equal(t, c.status, status, body)
			for _, w := range c.want {
				require.Contains(t, message(t, body), w)
			}
		})
	}
}

// hash10 is the instance naming rule written out independently: sha256 of the canonical k=v&k=v, 10 hex.
func hash10(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return hex.EncodeToString(sum[:])[:10]
}

// TestGetOnlineFeaturesStringEscapes: string values with quotes, backslashes, control characters, non-ASCII
// and invalid UTF-8 come back as valid JSON.
func TestGetOnlineFeaturesStringEscapes(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	vals := []string{"a\"b\\c", "line\nnext\t\x00\x1f", "héllo ✓ \u2028", "bad \xff utf8"}
	for i, v := range vals {
		f.userStats(t, "prod/user_stats", []any{i, now, nil, 1.0, v, 1})
	}
	status, body := f.post(t, "/get-online-features", `{"features":["user_stats:country"],"entities":{"user_id":[0,1,2,3]}}`)
	require.Equal(t, 200, status, body)
	var out struct {
		Results []struct{ Values []any } `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out), body)
	require.Equal(t, []any{vals[0], vals[1], vals[2], "bad \ufffd utf8"}, out.Results[1].Values)
}

// TestDefinitionsCache: definitions are cached for serving.definitions_ttl, then an apply is served.
func TestDefinitionsCache(t *testing.T) {
	f := newFixture(t, feastapi.Options{DefinitionsTTL: 300 * time.Millisecond})
	f.userStats(t, "prod/user_stats", []any{1, now, nil, 1.0, "fr", 1})
	req := `{"features":["user_stats:total"],"entities":{"user_id":[1]}}`
	require.Equal(t, 200, statusOf(f.post(t, "/get-online-features", req)))
	renamed := strings.NewReplacer("- {name: total, type: double}", "- {name: amount, type: double}", "[user_stats:total, shop_stats]", "[user_stats:amount, shop_stats]").Replace(defs)
	d, err := features.Parse("features/a.yaml", []byte(renamed))
	require.NoError(t, err)
	_, err = f.reg.Apply(f.ctx, "prod", d, "bob")
	require.NoError(t, err)
	require.Equal(t, 200, statusOf(f.post(t, "/get-online-features", req)), "the cached definitions are served until the TTL passes")
	require.Eventually(t, func() bool {
		status, body := f.post(t, "/get-online-features", req)
		return status == 400 && strings.Contains(body, "unknown features: user_stats:total")
	}, 5*time.Second, 50*time.Millisecond)
}
