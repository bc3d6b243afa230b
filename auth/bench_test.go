package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// BenchmarkCheckToken: what authenticating one HTTP request costs, with the cache (every request after the
// first within auth.cache_ttl) and without it (a database read and a hash).
func BenchmarkCheckToken(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"uncached", -1}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := meta.Open(ctx, testenv.SQLiteDSN(b))
			require.NoError(b, err)
			defer func() { _ = db.Close() }()
			s := auth.New(db, auth.Options{CacheTTL: c.ttl})
			require.NoError(b, s.AddUser(ctx, "ci", "ci-password", []auth.Grant{{Env: "*", Role: auth.Developer}}))
			tok, _, err := s.CreateToken(ctx, "ci", "", 0)
			require.NoError(b, err)
			b.ResetTimer()
			for range b.N {
				if _, err := s.CheckToken(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
