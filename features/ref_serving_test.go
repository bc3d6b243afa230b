package features

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseServingRef: the grammar of service entries and online requests is ParseRef's, with a bare view
// (every feature) allowed: quoted values, spaces, commas inside quotes.
func TestParseServingRef(t *testing.T) {
	for in, want := range map[string]Ref{
		"user_stats":                           {View: "user_stats"},
		"user_stats:total":                     {View: "user_stats", Feature: "total"},
		" user_stats : total ":                 {View: "user_stats", Feature: "total"},
		"user_stats:*":                         {View: "user_stats", Feature: "*"},
		"orders_agg(min_amount='50'):n":        {View: "orders_agg", Params: map[string]string{"min_amount": "50"}, Feature: "n"},
		`orders_agg(kind="a,b", min_amount=5)`: {View: "orders_agg", Params: map[string]string{"kind": "a,b", "min_amount": "5"}},
		"orders_agg( kind = 'it''s' ):n":       {View: "orders_agg", Params: map[string]string{"kind": "it's"}, Feature: "n"},
		"user_stats@3:total":                   {View: "user_stats", Version: 3, Feature: "total"},
	} {
		got, err := ParseServingRef(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		if want.Feature != "" {
			viaDataset, err := ParseRef(in)
			require.NoError(t, err, in)
			require.Equal(t, got, viaDataset, "one grammar: %s", in)
		}
	}
	for _, bad := range []string{"", "User", "v(a=1", "v(a='x)", "v:", "v:x y", "v)", "v(a=1)(b=2)", "v@0:x"} {
		_, err := ParseServingRef(bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}
