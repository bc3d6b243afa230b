package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/config"
)

func TestAuthKeys(t *testing.T) {
	c, err := config.Load(t.TempDir(), "", nil)
	require.NoError(t, err)
	require.Equal(t, 4096, c.Auth.ScramIterations)
	require.Equal(t, 2*time.Second, c.Auth.CacheTTL)
	c, err = config.Load(t.TempDir(), "", []string{"STRATA_AUTH_SCRAM_ITERATIONS=10000", "STRATA_AUTH_CACHE_TTL=0s"})
	require.NoError(t, err)
	require.Equal(t, 10000, c.Auth.ScramIterations)
	require.Zero(t, c.Auth.CacheTTL)
	_, err = config.Load(t.TempDir(), "", []string{"STRATA_AUTH_SCRAM_ITERATIONS=1000"})
	require.ErrorContains(t, err, "auth.scram_iterations: must be ≥ 4096")
	_, err = config.Load(t.TempDir(), "", []string{"STRATA_AUTH_CACHE_TTL=-1s"})
	require.ErrorContains(t, err, "auth.cache_ttl")
}
