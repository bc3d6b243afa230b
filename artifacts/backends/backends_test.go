package backends_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts/backends"
)

func TestOpenLocal(t *testing.T) {
	for _, uri := range []string{t.TempDir(), "file://" + t.TempDir()} {
		s, err := backends.Open(t.Context(), uri)
		require.NoError(t, err)
		require.NoError(t, s.Put(t.Context(), "a/b.txt", strings.NewReader("x"), 1))
		entries, err := s.List(t.Context(), "a")
		require.NoError(t, err)
		require.Len(t, entries, 1)
	}
	_, err := backends.Open(t.Context(), "s3://")
	require.Error(t, err)
}
