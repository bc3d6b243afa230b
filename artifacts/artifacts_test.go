package artifacts_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts"
)

func TestCleanPath(t *testing.T) {
	ok := map[string]string{"": "", "a/b.txt": "a/b.txt", "a//b/": "a/b", "./a": "a", "file%20name": "file%20name", "models/m-1/artifacts/MLmodel": "models/m-1/artifacts/MLmodel"}
	for in, want := range ok {
		got, err := artifacts.CleanPath(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"..", "../a", "a/../../b", "a/..", "/abs", "a\\b", "..%2f", "a%2fb", "%2e%2e/x", "x\x00", "s3://bucket/x", "%zz"} {
		_, err := artifacts.CleanPath(in)
		require.True(t, errors.Is(err, artifacts.ErrInvalidPath), in)
	}
}
