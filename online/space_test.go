package online

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// spaceGrammar is the rule checkSpace implements by hand.
var spaceGrammar = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// FuzzCheckSpace: checkSpace accepts exactly the names of its grammar.
func FuzzCheckSpace(f *testing.F) {
	for _, s := range []string{"dev/v", "prod/user_stats.s12", "dev/v__p0123", "a-b/c.d-e", "dev", "/v", "dev/", "dev/v/w",
		".dev/v", "dev/-v", "dev/v w", "dév/v", "_/_", "9/9", "", "/", "dev/v\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, spaceGrammar.MatchString(s), checkSpace(s) == nil, "%q", s)
	})
}
