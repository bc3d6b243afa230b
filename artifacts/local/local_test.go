package local_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/artifacts/artifactstest"
	"github.com/strata-data/strata/artifacts/local"
)

func TestConformance(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) artifacts.Store {
		s, err := local.New(t.TempDir())
		require.NoError(t, err)
		return s
	})
}
