package feastapi

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

// FuzzFastDecodeMatchesJSON: whenever the hand-written decoder accepts a body, encoding/json (the decoder it
// stands in for, with unknown fields refused) accepts it too and gives the same request; whatever it does not
// accept is decoded by encoding/json itself.
func FuzzFastDecodeMatchesJSON(f *testing.F) {
	for _, seed := range []string{
		`{"features":["user_stats:total","orders_agg(min_amount=50):n"],"entities":{"user_id":[1,2,-3.5e2,0]},"full_feature_names":true}`,
		`{"feature_service":"churn","entities":{"user_id":[1],"shop":["a","b"]},"include_feature_view_version_metadata":false}`,
		` { "features" : [ ] , "entities" : { } , "feature_service" : null } `,
		`{"features":["a"],"entities":{"k":[true,false,null,"x",01]}}`,
		`{"features":["a"],"Features":["b"]}`, `{"features":["a"],"features":["b"]}`, `{"entities":{"k":[1],"k":[2]}}`,
		`{"features":["\u0061"]}`, `{"features":["é"]}`, `{"entities":{"k":[[1]]}}`, `{"entities":{"k":null}}`,
		`{"features":["a"]} []`, `{"features":["a"]}}`, `null`, `[]`, `{"x":1}`, `{"entities":{"k":[1e]}}`, `{"entities":{"k":[-]}}`,
		`{"full_feature_names":truex}`, `{"entities":{"k":[1 2]}}`, `{"features":["a",]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fast getRequest
		if !fastGetRequest([]byte(body), &fast) {
			return
		}
		var std getRequest
		require.NoError(t, decodeJSON([]byte(body), &std), "the fast decoder accepted %q", body)
		require.Equal(t, std.Features, fast.features(), body)
		require.Equal(t, std.FeatureService, fast.FeatureService, body)
		require.Equal(t, std.FullFeatureNames, fast.FullFeatureNames, body)
		require.Equal(t, std.IncludeVersionMetadata, fast.IncludeVersionMetadata, body)
		require.Equal(t, len(std.Entities.cols), len(fast.Entities.cols), body)
		for k, col := range std.Entities.cols {
			require.Equal(t, col.name, fast.Entities.cols[k].name, body)
			require.Len(t, fast.Entities.cols[k].vals, len(col.vals), body)
			for i := range col.vals {
				require.Equal(t, string(col.vals[i]), string(fast.Entities.cols[k].vals[i]), body)
			}
		}
	})
}

// FuzzAppendValueMatchesJSON: the response encoder's values read back, through encoding/json, as what
// encoding/json's own encoding of the same Go value reads back as (NaN and ±Inf, which JSON cannot carry, as
// null), and every answer is valid JSON.
func FuzzAppendValueMatchesJSON(f *testing.F) {
	f.Add("fr", 0.53, int64(7), []byte{0, 1})
	f.Add("a\"b\\c\n\x00\u2028<&>é", 1e21, int64(-1)<<63, []byte("\xff"))
	f.Add("\xff\xfe invalid", 5e-324, int64(1)<<62, []byte(nil))
	f.Fuzz(func(t *testing.T, s string, x float64, i int64, raw []byte) {
		cases := []struct {
			v    online.Value
			want any
		}{
			{record.StringValue(s), s},
			{record.FloatValue(x), x},
			{record.IntValue(i), i},
			{record.BytesValue(raw), append([]byte{}, raw...)}, // a stored empty value is "", not null
			{record.BoolValue(i%2 == 0), i%2 == 0},
			{record.TimestampValue(i % (1 << 50)), time.UnixMicro(i % (1 << 50)).UTC()},
		}
		for _, c := range cases {
			got := appendValue(nil, c.v)
			require.True(t, json.Valid(got), "%q", got)
			want, err := json.Marshal(c.want)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				if c.v.Kind == record.Float64 {
					require.Equal(t, "null", string(got))
					continue
				}
			}
			require.NoError(t, err)
			var a, b any
			dec := json.NewDecoder(bytes.NewReader(got))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&a))
			dec = json.NewDecoder(bytes.NewReader(want))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&b))
			if an, ok := a.(json.Number); ok { // the same number, perhaps spelled differently (1e-07 vs 1e-7)
				af, _ := an.Float64()
				bf, _ := b.(json.Number).Float64()
				require.Equal(t, bf, af, "%s vs %s", got, want)
				continue
			}
			if c.v.Kind == record.Timestamp { // RFC 3339 either way; compare the instants
				ta, _ := time.Parse(time.RFC3339Nano, a.(string))
				tb, _ := time.Parse(time.RFC3339Nano, b.(string))
				require.True(t, ta.Equal(tb), "%s vs %s", got, want)
				continue
			}
			require.Equal(t, b, a, "%s vs %s", got, want)
		}
	})
}
