package feastapi_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/strata-data/strata/api"
	"github.com/strata-data/strata/feastapi"
)

type openAPIOp struct {
	Responses   map[string]any `yaml:"responses"`
	RequestBody struct {
		Content map[string]struct {
			Schema struct {
				Properties map[string]any `yaml:"properties"`
			} `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"requestBody"`
}

// TestOpenAPIDocumentsFeastRoutes: every route feastapi mounts is in the served OpenAPI document with its
// method; every status a route answers (200, 400, 403, 404, 413, each provoked here) is one the document lists
// for it; the request fields Feast's clients send and the response fields Strata writes are the documented ones.
func TestOpenAPIDocumentsFeastRoutes(t *testing.T) {
	var raw struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(api.OpenAPI(), &raw))
	var doc struct {
		Paths map[string]map[string]openAPIOp
	}
	doc.Paths = map[string]map[string]openAPIOp{}
	for path, items := range raw.Paths {
		doc.Paths[path] = map[string]openAPIOp{}
		for method, node := range items {
			if method == "parameters" {
				continue
			}
			var op openAPIOp
			require.NoError(t, node.Decode(&op), "%s %s", method, path)
			doc.Paths[path][method] = op
		}
	}
	f := newFixture(t, feastapi.Options{MaxEntities: 3, MaxBodyBytes: 2048})
	f.createUserStats(t)
	routes := 0
	require.NoError(t, chi.Walk(f.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes++
		require.Contains(t, doc.Paths, route, "route %s %s is not in openapi.yaml", method, route)
		require.Contains(t, doc.Paths[route], strings.ToLower(method), "route %s %s is not in openapi.yaml", method, route)
		return nil
	}))
	require.Equal(t, 4, routes)

	get := doc.Paths["/get-online-features"]["post"].RequestBody.Content["application/json"].Schema.Properties
	for _, field := range []string{"features", "feature_service", "entities", "full_feature_names", "include_feature_view_version_metadata"} {
		require.Contains(t, get, field, "GetOnlineFeaturesRequest field %s", field)
	}
	push := doc.Paths["/push"]["post"].RequestBody.Content["application/json"].Schema.Properties
	for _, field := range []string{"push_source_name", "df", "to", "allow_registry_cache", "transform_on_write"} {
		require.Contains(t, push, field, "PushFeaturesRequest field %s", field)
	}

	getBody := `{"features":["user_stats:total"],"entities":{"user_id":[1]}}`
	pushBody := `{"push_source_name":"user_stats",` + pushDF + `}`
	calls := []struct{ route, path, body string }{
		{"/get-online-features", "/get-online-features?env=dev", getBody},
		{"/get-online-features", "/get-online-features?env=dev", `{"features":["user_stats:nope"],"entities":{"user_id":[1]}}`},
		{"/get-online-features", "/get-online-features?env=dev", `{"features":["user_stats:total"],"entities":{"user_id":[1,2,3,4]}}`},
		{"/get-online-features", "/get-online-features?env=qa", getBody},
		{"/feast/{env}/get-online-features", "/feast/dev/get-online-features", getBody},
		{"/feast/{env}/get-online-features", "/feast/dev/get-online-features", `{"features":[]}`},
		{"/feast/{env}/get-online-features", "/feast/dev/get-online-features", `{"features":["user_stats:total"],"entities":{"user_id":[1,2,3,4]}}`},
		{"/feast/{env}/get-online-features", "/feast/qa/get-online-features", getBody},
		{"/push", "/push?env=dev", pushBody},
		{"/push", "/push?env=dev", `{"push_source_name":"user_stats","df":{}}`},
		{"/push", "/push", pushBody},
		{"/push", "/push?env=qa", pushBody},
		{"/push", "/push?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[` + strings.Repeat("1,", 3000) + `1]}}`},
		{"/feast/{env}/push", "/feast/dev/push", pushBody},
		{"/feast/{env}/push", "/feast/dev/push", `{"push_source_name":"user_stats","df":{}}`},
		{"/feast/{env}/push", "/feast/prod/push", pushBody},
		{"/feast/{env}/push", "/feast/qa/push", pushBody},
		{"/feast/{env}/push", "/feast/dev/push", `{"push_source_name":"user_stats","df":{"user_id":[` + strings.Repeat("1,", 3000) + `1]}}`},
	}
	var undocumented []string
	for _, c := range calls {
		status, body := f.post(t, c.path, c.body)
		if _, ok := doc.Paths[c.route]["post"].Responses[strconv.Itoa(status)]; !ok {
			undocumented = append(undocumented, c.route+" "+strconv.Itoa(status)+" ("+c.path+")")
		}
		if status != 200 {
			continue
		}
		var got map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		for k := range got {
			require.Contains(t, []string{"metadata", "results", "rows", "to", "online_space", "offline_table", "offline_snapshot_id"}, k)
		}
	}
	sort.Strings(undocumented)
	require.Empty(t, undocumented, "statuses the routes answer that openapi.yaml does not list")
}
