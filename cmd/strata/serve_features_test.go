package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/online/embedded"
)

func (p *serverProc) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(p.url+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeOnlineFeatures runs `strata serve` as a real process, on the embedded store and on a real Redis, and
// talks to it as a Feast HTTP client would: a push (Feast's PushFeaturesRequest shape, research/feature-store.md
// §1.4) online and offline, then Feast's GetOnlineFeaturesRequest, answered column-major with statuses; the
// definitions browse API; the default environment (prod, where nothing is applied); a bad request.
func TestServeOnlineFeatures(t *testing.T) {
	for _, backend := range onlineBackends(t) {
		t.Run(backend.name, func(t *testing.T) {
			c := featureProject(t)
			c.ok("apply")
			p := startServe(t, c, append([]string{"STRATA_SQLWIRE_ADDR="}, backend.env...), "--addr", "127.0.0.1:0")

			status, body := p.post(t, "/push?env=dev", `{
				"push_source_name": "user_stats",
				"df": {"user_id": [1001, 1002], "event_ts": ["2126-11-24 10:59:42+00:00", "2026-11-24 10:59:42+00:00"],
				       "created_ts": ["2126-11-24 10:59:42", null], "total": [1.0, null], "country": ["fr", "de"]},
				"to": "online_and_offline", "allow_registry_cache": true, "transform_on_write": true}`)
			require.Equal(t, 200, status, body)
			require.Contains(t, body, `"offline_table":"clean.users"`)

			status, body = p.post(t, "/get-online-features?env=dev", `{
				"features": ["user_stats:total", "user_stats:country"],
				"feature_service": null,
				"entities": {"user_id": [1001, 1002, 1003]},
				"full_feature_names": false}`)
			require.Equal(t, 200, status, body)
			var resp struct {
				Metadata struct {
					FeatureNames []string `json:"feature_names"`
				} `json:"metadata"`
				Results []struct {
					Values          []any    `json:"values"`
					Statuses        []string `json:"statuses"`
					EventTimestamps []string `json:"event_timestamps"`
				} `json:"results"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &resp))
			require.Equal(t, []string{"user_id", "total", "country"}, resp.Metadata.FeatureNames)
			require.Equal(t, []any{1001.0, 1002.0, 1003.0}, resp.Results[0].Values)
			require.Equal(t, []any{1.0, nil, nil}, resp.Results[1].Values)
			// 1001's row is from 2126 (inside the 30d TTL). 1002's null total is from 2026-11-24: NULL_VALUE while
			// that is within 30 days of the clock, OUTSIDE_MAX_AGE after; never PRESENT.
			require.Equal(t, "PRESENT", resp.Results[1].Statuses[0])
			require.Contains(t, []string{"NULL_VALUE", "OUTSIDE_MAX_AGE"}, resp.Results[1].Statuses[1])
			require.Equal(t, "NOT_FOUND", resp.Results[1].Statuses[2])
			require.Equal(t, "2126-11-24T10:59:42Z", resp.Results[1].EventTimestamps[0])
			require.Equal(t, []any{"fr", "de", nil}, resp.Results[2].Values)

			out := c.ok("sql", "--env", "dev", "--format", "csv", "SELECT user_id, country FROM clean.users WHERE user_id > 1000 ORDER BY user_id")
			require.Equal(t, "user_id,country\n1001,fr\n1002,de\n", out, "the offline push went through the write gate")

			status, body = p.get(t, "/api/v1/envs/dev/features/user_stats")
			require.Equal(t, 200, status, body)
			require.Contains(t, body, `"name": "user_stats"`)
			require.Contains(t, body, `"last_materialized_event_time": "2126-11-24T10:59:42Z"`, "freshness from the online store")

			status, body = p.post(t, "/get-online-features", `{"features": ["user_stats:total"], "entities": {"user_id": [1]}}`)
			require.Equal(t, 400, status, body)
			require.Contains(t, body, "unknown feature views in prod: user_stats", "the default environment is prod, where nothing is applied")
			status, body = p.post(t, "/get-online-features?env=dev", `{"features": ["user_stats:total"], "entities": {"user_id": ["1001"]}}`)
			require.Equal(t, 400, status, body)
			require.Contains(t, body, "give an integer")
		})
	}
}

// TestServeDemoServesOnlineFeatures: `strata serve --demo` answers the README's curl for the demo's online
// view: user 1's order count and total spend, PRESENT, loaded by the server's syncer at start.
func TestServeDemoServesOnlineFeatures(t *testing.T) {
	c := newCLI(t)
	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR="}, "--demo", "--addr", "127.0.0.1:0")
	body := `{"features": ["user_orders:orders", "user_orders:total"], "entities": {"user_id": [1, 2]}}`
	var last string
	require.Eventually(t, func() bool {
		status, out := p.post(t, "/get-online-features?env=dev", body)
		last = out
		return status == 200 && strings.Count(out, `"PRESENT"`) == 6 // the key column's 2, and 2 × 2 features
	}, 60*time.Second, 100*time.Millisecond, "last answer: %s\nserver log:\n%s", last, p.stderr.String())
	require.Contains(t, last, `"feature_names":["user_id","orders","total"]`)
}

// onlineBackend is a `strata serve` online store to test against: its name and the environment selecting it.
type onlineBackend struct {
	name string
	env  []string
}

// onlineBackends are the embedded store and a real Redis (a key prefix of the test's own, so tests never share keys).
func onlineBackends(t *testing.T) []onlineBackend {
	return []onlineBackend{
		{"embedded", nil},
		{"redis", []string{"STRATA_ONLINE_BACKEND=redis", "STRATA_ONLINE_REDIS_ADDR=" + testenv.RedisAddr(t),
			"STRATA_ONLINE_REDIS_PREFIX=e2e-" + strings.ReplaceAll(t.Name(), "/", "-") + ":"}},
	}
}

// TestOnlineOptionsCacheBytes: online.cache_bytes reaches the store factory as its size, and its 0 ("off") as
// the factory's negative size (the factory's 0 is the default).
func TestOnlineOptionsCacheBytes(t *testing.T) {
	require.Equal(t, int64(4096), onlineOptions(config.Online{CacheBytes: 4096}).CacheBytes)
	require.Negative(t, onlineOptions(config.Online{CacheBytes: 0}).CacheBytes)
	require.Equal(t, int64(config.DefaultOnlineCacheBytes), onlineOptions(config.Default(t.TempDir()).Online).CacheBytes)
	require.Equal(t, int64(config.DefaultOnlineCacheBytes), int64(embedded.DefaultCacheBytes), "the configuration's default is the store's")
}
