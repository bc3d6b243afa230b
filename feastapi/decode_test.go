package feastapi

import (
	"testing"

	"github.com/stretchr/testify/require"
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
		require.Equal(t, std.Features, fast.Features, body)
		require.Equal(t, std.FeatureService, fast.FeatureService, body)
		require.Equal(t, std.FullFeatureNames, fast.FullFeatureNames, body)
		require.Equal(t, std.IncludeVersionMetadata, fast.IncludeVersionMetadata, body)
		require.Equal(t, std.Entities.names, fast.Entities.names, body)
		require.Equal(t, len(std.Entities.cols), len(fast.Entities.cols), body)
		for k, col := range std.Entities.cols {
			require.Len(t, fast.Entities.cols[k], len(col), body)
			for i := range col {
				require.Equal(t, string(col[i]), string(fast.Entities.cols[k][i]), body)
			}
		}
	})
}
