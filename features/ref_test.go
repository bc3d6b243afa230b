package features

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseRef: the reference grammar, good and bad.
func TestParseRef(t *testing.T) {
	good := []struct {
		in   string
		want Ref
	}{
		{"user_stats:total", Ref{View: "user_stats", Feature: "total"}},
		{"user_stats@3:total", Ref{View: "user_stats", Version: 3, Feature: "total"}},
		{"user_stats:*", Ref{View: "user_stats", Feature: "*"}},
		{" orders_agg(window_days=7):n ", Ref{View: "orders_agg", Params: map[string]string{"window_days": "7"}, Feature: "n"}},
		{"orders_agg@2( window_days = 7 , kind='we,b)' ):n", Ref{View: "orders_agg", Version: 2,
			Params: map[string]string{"window_days": "7", "kind": "we,b)"}, Feature: "n"}},
		{`v(s="it""s", t='a''b'):x`, Ref{View: "v", Params: map[string]string{"s": `it"s`, "t": "a'b"}, Feature: "x"}},
		{"v():x", Ref{View: "v", Feature: "x"}},
	}
	for _, tc := range good {
		got, err := ParseRef(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		back, err := ParseRef(got.String())
		require.NoError(t, err, got.String())
		require.Equal(t, got, back, "String() reads back: %s", got.String())
	}
	bad := map[string]string{
		"user_stats":           "write view:feature",
		"user_stats:":          "write view:feature",
		"User:x":               "view name must be lower-case",
		"v@0:x":                "version after @ must be a number from 1",
		"v@x:x":                "version after @ must be a number from 1",
		"v(w=7:x":              "missing )",
		"v(w):x":               "write (param=value, ...)",
		"v(w=1,w=2):x":         "parameter w given twice",
		"v(w='7):x":            "unterminated quote",
		"v(w='7' x):x":         "expected , or ) after the value",
		"v(W-1=3):x":           `"W-1" is not a parameter name`,
		"v:x;drop":             "write view:feature",
		"v(w=1)extra:x":        "write view:feature",
		"v(a=1)(b=2):x":        "write view:feature",
		"v:total, other:thing": "write view:feature",
	}
	for in, want := range bad {
		_, err := ParseRef(in)
		require.ErrorIs(t, err, ErrInvalid, in)
		require.ErrorContains(t, err, want, in)
	}
}

// TestSplitRefs: commas inside parentheses and quotes do not split references.
func TestSplitRefs(t *testing.T) {
	require.Equal(t, []string{"a:x", "b(p=1,q='a,b'):y", "churn"}, SplitRefs("a:x, b(p=1,q='a,b'):y ,churn"))
	require.Nil(t, SplitRefs(""))
}

// TestInstanceName: the view's own name for default values; otherwise a hash of every parameter's canonical
// value, defaults filled, sorted by name — the rule the online side uses too.
func TestInstanceName(t *testing.T) {
	d := mustParse(t, goodDefs) // orders_agg: min_amount int default 30, kind string default "web"
	v := &d.Views[1]
	cases := []struct {
		values map[string]string
		name   string
	}{
		{nil, "orders_agg"},
		{map[string]string{"min_amount": "30"}, "orders_agg"},    // the default, given explicitly
		{map[string]string{"min_amount": " +30 "}, "orders_agg"}, // the same value, written otherwise
		{map[string]string{"kind": "web", "min_amount": "030"}, "orders_agg"},
		// sha256("kind=x'y&min_amount=30") = 78de50ff46...
		{map[string]string{"kind": "x'y"}, "orders_agg__p78de50ff46"},
	}
	for _, tc := range cases {
		in, err := v.Instance(tc.values)
		require.NoError(t, err)
		require.Equal(t, tc.name, in.Name, "%v", tc.values)
		require.Equal(t, tc.name == "orders_agg", in.Default)
	}
	require.Equal(t, "v__pe6f89cd237", InstanceName("v", map[string]string{"factor": "10"})) // sha256("factor=10")
	require.Equal(t, "v", InstanceName("v", nil))

	for values, want := range map[string]map[string]string{
		`view orders_agg has no parameter "days" (it has kind, min_amount)`: {"days": "3"},
		`view orders_agg: parameter min_amount: 3.5 is not a valid int`:     {"min_amount": "3.5"},
		`parameter min_amount: 1; DROP TABLE raw.orders is not a valid int`: {"min_amount": "1; DROP TABLE raw.orders"},
	} {
		_, err := v.Instance(want)
		require.ErrorIs(t, err, ErrInvalid)
		require.ErrorContains(t, err, values)
	}
}

// TestServiceInstanceRefs: a service may name a view instance; its parameters are checked at parse time.
func TestServiceInstanceRefs(t *testing.T) {
	base := goodDefs[:len(goodDefs)-len("    features: [user_stats:total, orders_agg]\n")]
	_, err := Parse("f.yaml", []byte(base+"    features: [\"orders_agg(min_amount=5, kind='a,b'):n\", user_stats]\n"))
	require.NoError(t, err)
	for ref, want := range map[string]string{
		"orders_agg(min=5):n":         `view orders_agg has no parameter "min"`,
		"orders_agg(min_amount=x):n":  "parameter min_amount: x is not a valid int",
		"orders_agg(min_amount=5):zz": `view orders_agg has no feature "zz"`,
		"orders_agg(min_amount=5)zz":  "write view, view:feature",
	} {
		_, err := Parse("f.yaml", []byte(base+"    features: [\""+ref+"\"]\n"))
		require.ErrorIs(t, err, ErrInvalid, ref)
		require.ErrorContains(t, err, "f.yaml:34: features[0]: service churn: ", ref) // the entry's line, not the service's
		require.ErrorContains(t, err, want, ref)
	}
}

// FuzzParseRef: any text either parses into a reference whose String() parses back to the same reference, or
// fails with ErrInvalid.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"user_stats:total", "v@3(a=1, b='x,y)'):f", `v(s="it""s"):*`, "v(:x", "v(a=1", "@:", "v@99999999999999999999:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error without ErrInvalid: %v", s, err)
			}
			return
		}
		back, err := ParseRef(r.String())
		if err != nil {
			t.Fatalf("%q -> %q does not parse back: %v", s, r.String(), err)
		}
		if back.String() != r.String() {
			t.Fatalf("%q -> %q -> %q", s, r.String(), back.String())
		}
	})
}
