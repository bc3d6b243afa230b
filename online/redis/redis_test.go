package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/onlinetest"
	"github.com/strata-data/strata/online/redis"
)

// TestConformance runs the suite against the real redis-server scripts/test starts, each test under its own
// key prefix.
func TestConformance(t *testing.T) {
	addr := testenv.RedisAddr(t)
	onlinetest.Run(t, func(t *testing.T) online.Store {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		s, err := redis.Open(context.Background(), redis.Options{Addr: addr, Prefix: "strata-test-" + hex.EncodeToString(b) + ":"})
		require.NoError(t, err)
		return online.New(s)
	})
}

func TestOpenRefusesDeadServer(t *testing.T) {
	_, err := online.Open(context.Background(), online.Options{Backend: "redis", RedisAddr: "127.0.0.1:1"})
	require.ErrorContains(t, err, "does not answer")
	require.ErrorIs(t, err, online.ErrUnavailable)
	_, err = online.Open(context.Background(), online.Options{Backend: "memcached"})
	require.ErrorIs(t, err, online.ErrInvalid)
}

// BenchmarkStore: go test -tags duckdb_arrow ./online/redis -run '^$' -bench Store (needs STRATA_TEST_REDIS_ADDR)
func BenchmarkStore(b *testing.B) {
	s, err := redis.Open(context.Background(), redis.Options{Addr: testenv.RedisAddr(b), Prefix: "strata-bench:"})
	require.NoError(b, err)
	defer func() { _ = online.New(s).Close() }()
	st := online.New(s)
	for i := 0; i < 20; i++ {
		_ = st.DeleteSpace(context.Background(), "dev/w"+fmt.Sprint(i))
		_ = st.DeleteSpace(context.Background(), "dev/f"+fmt.Sprint(i))
	}
	onlinetest.Bench(b, st)
}
