//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
)

// TestAuthTrustNeedsALoopbackListener: without users, trust needs the listen address to be loopback, as on
// HTTP ("always on an address other machines reach, every client authenticates"): on 0.0.0.0 a client that
// comes in over 127.0.0.1 — as every client behind a local proxy, tunnel or port forward does — still needs a
// password, so nobody gets in until an admin adds a user.
func TestAuthTrustNeedsALoopbackListener(t *testing.T) {
	ctx := context.Background()
	f := startAuth(t, "0.0.0.0")
	_, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	local := "127.0.0.1:" + port
	_, err = pgx.Connect(ctx, "postgres://anyone@"+local+"/dev?sslmode=disable")
	require.Equal(t, "28P01", pgError(t, err).Code)

	require.NoError(t, f.users.AddUser(ctx, "ana", "ana-password", []auth.Grant{{Env: "*", Role: auth.Viewer}}))
	c, err := pgx.Connect(ctx, "postgres://ana:ana-password@"+local+"/prod?sslmode=disable")
	require.NoError(t, err)
	require.EqualValues(t, 2, count(t, c))
	require.NoError(t, c.Close(ctx))

	// On a loopback listener without users, a local client is trusted (a laptop needs no setup).
	lo := startAuth(t, "127.0.0.1")
	c, err = pgx.Connect(ctx, "postgres://anyone@"+lo.addr+"/dev?sslmode=disable")
	require.NoError(t, err)
	require.EqualValues(t, 3, count(t, c))
	require.NoError(t, c.Close(ctx))
}
