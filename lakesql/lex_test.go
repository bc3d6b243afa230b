package lakesql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSplit: statements split on top-level ';' only, outside literals, quoted identifiers, dollar quotes and
// comments; the first keywords skip comments and parentheses.
func TestSplit(t *testing.T) {
	cases := map[string][]string{
		"SELECT 1; SELECT 2":                       {"SELECT 1", "SELECT 2"},
		"SELECT ';' AS a; SELECT \"x;y\"":          {"SELECT ';' AS a", `SELECT "x;y"`},
		"SELECT $$a;b$$; SELECT $t$;$t$":           {"SELECT $$a;b$$", "SELECT $t$;$t$"},
		"SELECT 1 -- c;\n; /* ; */ ;":              {"SELECT 1 -- c;"},
		"SELECT E'it\\'s;' ;":                      {"SELECT E'it\\'s;'"},
		";;  ":                                     nil,
		"SELECT 'a''b;c'":                          {"SELECT 'a''b;c'"},
		"/* a /* nested ; */ ; */ SELECT 1; ":      {"/* a /* nested ; */ ; */ SELECT 1"},
		"SELECT $1::INT, $2 FROM t WHERE x = '$3'": {"SELECT $1::INT, $2 FROM t WHERE x = '$3'"},
	}
	for in, want := range cases {
		require.Equal(t, want, Split(in), in)
	}
	require.Equal(t, "SELECT", FirstWord("  /* c */ ((SELECT 1))"))
	require.Equal(t, []string{"SHOW", "TRANSACTION", "ISOLATION"}, Words("show transaction isolation level", 3))
}
