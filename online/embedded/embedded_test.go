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
