package feastapi_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/online/onlinetest"
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
	fx := newFixture(f, feastapi.Options{MaxEntities: 50})
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

// FuzzServedValuesMatchJSON: a response served from the store's pre-encoded JSON texts carries, for values of
// every kind the store holds (floats with NaN/±Inf, integers, strings, booleans, bytes, timestamps, nulls and
// absent entities), what encoding/json's encoding of the same values reads back as (NaN and ±Inf as null), with
// the statuses of the values; read again (from the embedded store's cache, in the serving form), the same bytes.
func FuzzServedValuesMatchJSON(f *testing.F) {
	f.Add("fr", 0.53, int64(7), []byte{0, 1})
	f.Add("a\"b\\c\n\x00\u2028<&>é", 1e21, int64(-1)<<63, []byte("\xff"))
	f.Add("\xff\xfe invalid", 5e-324, int64(1)<<62, []byte(nil))
	f.Add(strings.Repeat("long ", 40), math.NaN(), int64(0), bytes.Repeat([]byte{7}, 200))
	f.Add("", math.Inf(-1), int64(-5), []byte{})
	fx := newFixture(f, feastapi.Options{})
	f.Fuzz(func(t *testing.T, s string, x float64, i int64, raw []byte) {
		stamp := i % (1 << 50)
		write := func(fields []arrow.Field, row []any) {
			rdr := onlinetest.Rows(t, append([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts}}, fields...), append([]any{row[0], now}, row[1:]...))
			defer rdr.Release()
			require.NoError(t, fx.store.WriteLatest(fx.ctx, "dev/user_stats", []string{"user_id"}, rdr))
		}
		require.NoError(t, fx.store.DeleteSpace(fx.ctx, "dev/user_stats")) // the previous input's rows
		write([]arrow.Field{{Name: "total", Type: arrow.PrimitiveTypes.Float64}, {Name: "country", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}},
			[]any{1, x, s, int(i)})
		write([]arrow.Field{{Name: "total", Type: arrow.FixedWidthTypes.Boolean}, {Name: "country", Type: arrow.BinaryTypes.Binary}, {Name: "n", Type: ts}},
			[]any{2, i%2 == 0, raw, time.UnixMicro(stamp).UTC()})
		write([]arrow.Field{{Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "country", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}},
			[]any{3, nil, nil, nil})
		status, body := fx.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total","user_stats:country","user_stats:n"],"entities":{"user_id":[1,2,3,4]}}`)
		require.Equal(t, 200, status, body)
		require.True(t, json.Valid([]byte(body)), body)
		_, again := fx.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total","user_stats:country","user_stats:n"],"entities":{"user_id":[1,2,3,4]}}`)
		require.Equal(t, body, again, "the rows read again, from the cache's serving form")
		var resp struct {
			Results []struct {
				Values   []json.RawMessage `json:"values"`
				Statuses []string          `json:"statuses"`
			} `json:"results"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
		nonFinite := math.IsNaN(x) || math.IsInf(x, 0)
		want := [][]any{ // per feature, per entity; nil = JSON null
			{x, i%2 == 0, nil, nil},
			{s, append([]byte{}, raw...), nil, nil},
			{i, time.UnixMicro(stamp).UTC(), nil, nil},
		}
		if nonFinite {
			want[0][0] = nil
		}
		for f := range want {
			got := resp.Results[f+1]
			require.Equal(t, []string{"PRESENT", "PRESENT", "NULL_VALUE", "NOT_FOUND"}, got.Statuses, body)
			for e, w := range want[f] {
				exp, err := json.Marshal(w)
				require.NoError(t, err)
				sameJSON(t, exp, got.Values[e])
			}
		}
	})
}

// sameJSON requires two JSON texts to read back as the same value: numbers by value (1e-07 and 1e-7 alike),
// RFC 3339 strings as instants.
func sameJSON(t *testing.T, want, got []byte) {
	t.Helper()
	var a, b any
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&a), "%s", got)
	dec = json.NewDecoder(bytes.NewReader(want))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&b))
	if an, ok := a.(json.Number); ok {
		if _, err := an.Int64(); err == nil {
			require.Equal(t, b, a, "%s vs %s", got, want)
			return
		}
		af, _ := an.Float64()
		bf, _ := b.(json.Number).Float64()
		require.Equal(t, bf, af, "%s vs %s", got, want)
		return
	}
	if as, ok := a.(string); ok {
		if at, err := time.Parse(time.RFC3339Nano, as); err == nil {
			bt, err := time.Parse(time.RFC3339Nano, b.(string))
			require.NoError(t, err)
			require.True(t, at.Equal(bt), "%s vs %s", got, want)
			return
		}
	}
	require.Equal(t, b, a, "%s vs %s", got, want)
}
