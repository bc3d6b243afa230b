package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func open(t *testing.T, dsn string, ttl time.Duration) (*auth.Service, *meta.DB, *clock) {
	t.Helper()
	db, err := meta.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	return auth.New(db, auth.Options{CacheTTL: ttl, Now: c.now}), db, c
}

func TestUsersAndGrants(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, db, _ := open(t, b.DSN(t), -1)
			has, err := s.HasUsers(ctx)
			require.NoError(t, err)
			require.False(t, has)

			require.NoError(t, s.AddUser(ctx, "ana", "ana-secret-1", []auth.Grant{{Env: "dev", Role: auth.Developer}, {Env: "prod", Role: auth.Viewer}}))
			require.NoError(t, s.AddUser(ctx, "root", "root-secret-1", []auth.Grant{{Env: auth.AllEnvs, Role: auth.Admin}}))
			require.ErrorIs(t, s.AddUser(ctx, "ana", "another-pw", []auth.Grant{{Env: "dev", Role: auth.Viewer}}), auth.ErrExists)
			for _, bad := range []struct{ name, pw string }{{"", "long-enough"}, {"1ana", "long-enough"}, {"a b", "long-enough"}, {"bob", "short"}} {
				require.ErrorIs(t, s.AddUser(ctx, bad.name, bad.pw, []auth.Grant{{Env: "dev", Role: auth.Viewer}}), auth.ErrInvalid, bad)
			}
			require.ErrorIs(t, s.AddUser(ctx, "bob", "long-enough", nil), auth.ErrInvalid)
			require.ErrorIs(t, s.AddUser(ctx, "bob", "long-enough", []auth.Grant{{Env: "dev", Role: "owner"}}), auth.ErrInvalid)

			// The password is stored only as a SCRAM verifier.
			var verifier string
			require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT verifier FROM strata_users WHERE name = 'ana'`).Scan(&verifier))
			require.Regexp(t, `^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$`, verifier)
			require.NotContains(t, verifier, "ana-secret-1")

			users, err := s.Users(ctx)
			require.NoError(t, err)
			require.Len(t, users, 2)
			require.Equal(t, "ana", users[0].Name)
			require.Equal(t, []auth.Grant{{Env: "dev", Role: auth.Developer}, {Env: "prod", Role: auth.Viewer}}, users[0].Grants)

			require.NoError(t, s.Grant(ctx, "ana", auth.Grant{Env: "prod", Role: auth.Admin}))
			require.ErrorIs(t, s.Grant(ctx, "nobody", auth.Grant{Env: "prod", Role: auth.Admin}), auth.ErrNotFound)
			require.ErrorIs(t, s.Revoke(ctx, "ana", "prod", auth.Viewer), auth.ErrNotFound) // it is admin there now
			require.NoError(t, s.Revoke(ctx, "ana", "prod", auth.Admin))
			require.ErrorIs(t, s.Revoke(ctx, "ana", "prod", ""), auth.ErrNotFound)
			u, err := s.User(ctx, "ana")
			require.NoError(t, err)
			require.Equal(t, []auth.Grant{{Env: "dev", Role: auth.Developer}}, u.Grants)

			p, err := s.CheckPassword(ctx, "ana", "ana-secret-1")
			require.NoError(t, err)
			require.Equal(t, "ana", p.User)
			require.True(t, p.CanWrite("dev", false))
			require.False(t, p.CanRead("prod"))
			_, err = s.CheckPassword(ctx, "ana", "wrong-password")
			require.ErrorIs(t, err, auth.ErrAuthFailed)
			_, err = s.CheckPassword(ctx, "nobody", "ana-secret-1")
			require.ErrorIs(t, err, auth.ErrAuthFailed)

			require.NoError(t, s.SetPassword(ctx, "ana", "new-secret-2"))
			_, err = s.CheckPassword(ctx, "ana", "ana-secret-1")
			require.ErrorIs(t, err, auth.ErrAuthFailed)
			_, err = s.CheckPassword(ctx, "ana", "new-secret-2")
			require.NoError(t, err)
			require.ErrorIs(t, s.SetPassword(ctx, "nobody", "new-secret-2"), auth.ErrNotFound)

			require.NoError(t, s.RemoveUser(ctx, "ana"))
			require.ErrorIs(t, s.RemoveUser(ctx, "ana"), auth.ErrNotFound)
			_, err = s.CheckPassword(ctx, "ana", "new-secret-2")
			require.ErrorIs(t, err, auth.ErrAuthFailed)
			has, err = s.HasUsers(ctx)
			require.NoError(t, err)
			require.True(t, has)
		})
	}
}

func TestTokens(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, db, clk := open(t, b.DSN(t), time.Minute)
			require.NoError(t, s.AddUser(ctx, "ci", "ci-password", []auth.Grant{{Env: "dev", Role: auth.Developer}}))

			tok, info, err := s.CreateToken(ctx, "ci", "nightly", 24*time.Hour)
			require.NoError(t, err)
			require.Regexp(t, `^strata_[0-9a-f]{12}_[0-9a-f]{48}$`, tok)
			require.Equal(t, clk.now().Add(24*time.Hour), *info.Expires)
			_, _, err = s.CreateToken(ctx, "nobody", "", 0)
			require.ErrorIs(t, err, auth.ErrNotFound)

			// Only a hash is stored.
			var stored string
			require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT secret_hash FROM strata_tokens`).Scan(&stored))
			require.NotContains(t, tok, stored)

			p, err := s.CheckToken(ctx, tok)
			require.NoError(t, err)
			require.Equal(t, "ci", p.User)
			for _, bad := range []string{"", "strata_", tok + "0", tok[:len(tok)-1] + "x", "strata_" + info.ID + "_00", "Bearer " + tok} {
				_, err := s.CheckToken(ctx, bad)
				require.ErrorIs(t, err, auth.ErrAuthFailed, bad)
			}

			list, err := s.Tokens(ctx, "")
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.Equal(t, info, list[0])

			// Expired tokens fail, whatever the cache held.
			clk.add(24 * time.Hour)
			_, err = s.CheckToken(ctx, tok)
			require.ErrorIs(t, err, auth.ErrAuthFailed)

			forever, info2, err := s.CreateToken(ctx, "ci", "", 0)
			require.NoError(t, err)
			require.Nil(t, info2.Expires)
			_, err = s.CheckToken(ctx, forever)
			require.NoError(t, err)
			require.NoError(t, s.RevokeToken(ctx, info2.ID))
			_, err = s.CheckToken(ctx, forever) // revoked in this process: refused at once
			require.ErrorIs(t, err, auth.ErrAuthFailed)
			require.ErrorIs(t, s.RevokeToken(ctx, info2.ID), auth.ErrNotFound)

			// A revocation made by another process is seen once the cache expires.
			other := auth.New(db, auth.Options{CacheTTL: time.Minute, Now: clk.now})
			third, info3, err := s.CreateToken(ctx, "ci", "", 0)
			require.NoError(t, err)
			_, err = s.CheckToken(ctx, third)
			require.NoError(t, err)
			require.NoError(t, other.RevokeToken(ctx, info3.ID))
			_, err = s.CheckToken(ctx, third)
			require.NoError(t, err, "cached for CacheTTL")
			clk.add(time.Minute)
			_, err = s.CheckToken(ctx, third)
			require.ErrorIs(t, err, auth.ErrAuthFailed)

			// Removing the user removes its tokens.
			fourth, _, err := s.CreateToken(ctx, "ci", "", 0)
			require.NoError(t, err)
			require.NoError(t, s.RemoveUser(ctx, "ci"))
			_, err = s.CheckToken(ctx, fourth)
			require.ErrorIs(t, err, auth.ErrAuthFailed)
		})
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "never": 0, "0": 0} {
		got, err := auth.ParseTTL(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "d", "-3d", "soon", "-1h", "1.5d"} {
		_, err := auth.ParseTTL(in)
		require.ErrorIs(t, err, auth.ErrInvalid, in)
	}
}

func TestPrincipalRoles(t *testing.T) {
	p := auth.NewPrincipal("ana", []auth.Grant{{Env: "dev", Role: auth.Developer}, {Env: "prod", Role: auth.Viewer}, {Env: "*", Role: auth.Viewer}})
	for _, c := range []struct {
		env                  string
		prod                 bool
		read, write, publish bool
	}{
		{"dev", false, true, true, false},
		{"prod", true, true, false, false},
		{"staging", false, true, false, false}, // through *
	} {
		require.Equal(t, c.read, p.CanRead(c.env), c.env)
		require.Equal(t, c.write, p.CanWrite(c.env, c.prod), c.env)
		require.Equal(t, c.publish, p.CanPublish(c.env), c.env)
	}
	require.True(t, p.CanTrack())
	viewer := auth.NewPrincipal("vic", []auth.Grant{{Env: "prod", Role: auth.Viewer}})
	require.False(t, viewer.CanTrack())
	require.True(t, viewer.CanSee())
	require.False(t, viewer.CanRead("dev"))
	admin := auth.NewPrincipal("root", []auth.Grant{{Env: "prod", Role: auth.Admin}, {Env: "*", Role: auth.Viewer}})
	require.True(t, admin.CanWrite("prod", true))
	require.True(t, admin.CanPublish("prod"))
	require.False(t, admin.CanWrite("dev", false))
	var nobody *auth.Principal
	require.False(t, nobody.CanRead("dev"))
	require.False(t, nobody.CanSee())
	require.True(t, auth.TrustedPrincipal("me").CanPublish("prod"))
	require.Equal(t, "me", auth.ActorFrom(auth.NewContext(context.Background(), auth.TrustedPrincipal("me")), "cli"))
	require.Equal(t, "cli", auth.ActorFrom(context.Background(), "cli"))
}
