package feastapi_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/online/onlinetest"
)

// TestOnlineRefsAreTheDatasetRefs: an instance reference names the same instance — the same key space — in an
// online request, a feature service and a dataset build. features.ParseRef (dataset build, services, materialize)
// reads quoted values ('50', "a,b") and spaces around names; the online request must read them the same way,
// else a service valid at apply time is refused online or served from another key space.
func TestOnlineRefsAreTheDatasetRefs(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	d, err := features.Parse("features/a.yaml", []byte(defs+`  - name: quoted
    features: ["orders_agg(min_amount='50'):n"]
`))
	require.NoError(t, err)
	_, err = f.reg.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	rdr := onlinetest.Rows(t, []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, []any{1, now, 50})
	defer rdr.Release()
	require.NoError(t, f.store.WriteLatest(f.ctx, "dev/orders_agg__p"+hash10("min_amount=50"), []string{"user_id"}, rdr))

	for _, ref := range []string{"orders_agg(min_amount=50):n", "orders_agg(min_amount='50'):n", `orders_agg(min_amount="50"):n`,
		"orders_agg( min_amount = 50 ):n"} {
		r, err := features.ParseRef(ref)
		require.NoError(t, err, "the dataset build's grammar accepts %s", ref)
		require.Equal(t, map[string]string{"min_amount": "50"}, r.Params)
		status, body := f.post(t, "/get-online-features?env=dev", `{"features":[`+quote(ref)+`],"entities":{"user_id":[1]}}`)
		require.Equal(t, 200, status, "%s: %s", ref, body)
		require.Contains(t, compact(t, body), `{"values":[50],`, ref)
	}
	status, body := f.post(t, "/get-online-features?env=dev", `{"feature_service":"quoted","entities":{"user_id":[1]}}`)
	require.Equal(t, 200, status, "a service apply accepted is served: %s", body)
	require.Contains(t, compact(t, body), `{"values":[50],`)
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}

// TestOnlineRefsRefused: a pin of the view's current version is served as the unpinned reference; another pin is
// refused online (the online store holds the current definitions' rows only) with a 400 naming the current
// version and saying to drop the pin; a malformed reference is a 400 naming it; a bare view and view:* ask for
// every feature.
func TestOnlineRefsRefused(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.userStats(t, "dev/user_stats", []any{1, now, nil, 2.5, "fr", 4})
	status, body := f.post(t, "/get-online-features?env=dev", `{"features":["user_stats@1:total"],"entities":{"user_id":[1]}}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, compact(t, body), `"feature_names":["user_id","total"]`, "the current version's pin")
	for _, ref := range []string{"user_stats", "user_stats:*", " user_stats : * "} {
		status, body := f.post(t, "/get-online-features?env=dev", `{"features":[`+quote(ref)+`],"entities":{"user_id":[1]}}`)
		require.Equal(t, 200, status, "%s: %s", ref, body)
		require.Contains(t, compact(t, body), `"feature_names":["user_id","total","country","n"]`, ref)
	}
	cases := []struct{ ref, want string }{
		{"user_stats@2:total", `"user_stats@2:total": online requests read the view's current version (its current version is 1): write user_stats:total without @2`},
		{"orders_agg@2(min_amount='5'):n", "write orders_agg(min_amount=5):n without @2"},
		{"nosuch@1:total", `"nosuch@1:total": online requests read the view's current version: write nosuch:total without @1`},
		{"orders_agg(min_amount=50:n", `feature reference "orders_agg(min_amount=50:n"`},
		{"orders_agg(min_amount='50):n", "unterminated quote"},
		{"user_stats:total:n", `feature reference "user_stats:total:n": write view, view:feature or view(param=value):feature`},
		{"User_Stats:total", "the view name must be lower-case letters, digits and _"},
	}
	for _, c := range cases {
		status, body := f.post(t, "/get-online-features?env=dev", `{"features":[`+quote(c.ref)+`],"entities":{"user_id":[1]}}`)
		require.Equal(t, 400, status, "%s: %s", c.ref, body)
		require.Contains(t, message(t, body), c.want, c.ref)
		require.NotContains(t, message(t, body), "invalid request; ", "one error kind, not one per reference")
	}
}
