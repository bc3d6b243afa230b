package sqlwire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// inlineViews puts a session view's body where the view is named as a relation, aliased by its name unless
// the statement aliases it, and leaves every other mention alone.
func TestInlineViews(t *testing.T) {
	body := "(" + views["strata_is_columns"].body + ")"
	for _, c := range []struct{ in, want string }{
		{"SELECT * FROM strata_is_columns", "SELECT * FROM " + body + " AS strata_is_columns"},
		{"SELECT * FROM strata_is_columns WHERE x", "SELECT * FROM " + body + " AS strata_is_columns WHERE x"},
		{"SELECT * FROM strata_is_columns c", "SELECT * FROM " + body + " c"},
		{"SELECT * FROM strata_is_columns AS c", "SELECT * FROM " + body + " AS c"},
		{`SELECT * FROM t JOIN strata_is_columns "C" ON true`, "SELECT * FROM t JOIN " + body + ` "C" ON true`},
		{"SELECT * FROM a, strata_is_columns", "SELECT * FROM a, strata_is_columns"},
		{"SELECT strata_is_columns.x FROM a", "SELECT strata_is_columns.x FROM a"},
		{"DESCRIBE strata_is_columns", "DESCRIBE strata_is_columns"},
		{"SELECT * FROM pg_type", "SELECT * FROM pg_type"}, // a base relation stays
	} {
		require.Equal(t, c.want, join(inlineViews(lex(c.in))), c.in)
	}
	for in, want := range map[string][]string{
		"SELECT strata_is_columns.x FROM strata_is_columns":           nil,
		"SELECT * FROM a, strata_is_columns":                          {"strata_is_columns"},
		"DESCRIBE pg_tables":                                          {"pg_tables"},
		"SELECT * FROM raw.pg_tables JOIN strata_is_tables t ON true": nil,
	} {
		var got []string
		for n := range viewsNamedElsewhere(lex(in)) {
			got = append(got, n)
		}
		require.Equal(t, want, got, in)
	}
}
