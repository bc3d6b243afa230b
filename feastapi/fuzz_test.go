package feastapi_test

import (
	"encoding/json"
	"testing"

	"github.com/strata-data/strata/feastapi"
)

// FuzzServing: whatever the body of /get-online-features or /push, the answer is a 200 or a 4xx with a JSON
// body, never a 5xx or a panic.
func FuzzServing(f *testing.F) {
	for _, seed := range []string{
		`{"features":["user_stats:total"],"entities":{"user_id":[1,2]}}`,
		`{"features":["orders_agg(min_amount=50):n","user_stats"],"entities":{"user_id":[1]},"full_feature_names":true}`,
		`{"feature_service":"churn","entities":{"user_id":[1],"shop":["a"]}}`,
		`{"features":["(x=1:a","a:b:c","v()","v(=)"],"entities":{"user_id":[1e99,-0,"x",null,{}]}}`,
		`{"push_source_name":"user_stats","df":{"user_id":[7],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5],"country":["fr"],"n":[1]}}`,
		`{"push_source_name":"user_stats","df":{"user_id":[7],"event_ts":[1],"total":[true],"country":[null],"n":["1"]},"to":"offline"}`,
		`[]`, `null`, `{"entities":null}`, `{"df":{"a":[1]}}`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	fx := newFixture(&testing.T{}, feastapi.Options{MaxEntities: 50})
	f.Fuzz(func(t *testing.T, body string, push bool) {
		path := "/get-online-features?env=dev"
		if push {
			path = "/push?env=dev"
		}
		status, out := fx.post(t, path, body)
		if status >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, status, out)
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("%s %q: invalid JSON answer %q", path, body, out)
		}
	})
}
