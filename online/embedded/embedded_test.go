package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/embedded"
	"github.com/strata-data/strata/online/onlinetest"
)

func TestConformance(t *testing.T) {
	onlinetest.Run(t, func(t *testing.T) online.Store {
		b, err := embedded.Open(filepath.Join(t.TempDir(), "online", "store.db"))
		require.NoError(t, err)
		return online.New(b)
	})
}

// BenchmarkStore: go test -tags duckdb_arrow ./online/embedded -run '^$' -bench Store
func BenchmarkStore(b *testing.B) {
	s, err := embedded.Open(filepath.Join(b.TempDir(), "store.db"))
	require.NoError(b, err)
	defer s.Close()
	onlinetest.Bench(b, online.New(s))
}
