package online

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/online/embedded"
)

// TestEmbeddedCacheBytes: Options' zero value keeps the embedded store's default cache (a caller that does not
// set CacheBytes gets what it got before the setting existed); a negative size turns it off.
func TestEmbeddedCacheBytes(t *testing.T) {
	require.Equal(t, int64(embedded.DefaultCacheBytes), Options{}.embeddedCacheBytes())
	require.Equal(t, int64(0), Options{CacheBytes: -1}.embeddedCacheBytes())
	require.Equal(t, int64(4096), Options{CacheBytes: 4096}.embeddedCacheBytes())
}
