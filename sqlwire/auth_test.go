//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/sqlwire"
)

// authFixture is an endpoint with users: dev and prod hold raw.people, and the server listens on host.
type authFixture struct {
	addr  string
	users *auth.Service
}

func startAuth(tb testing.TB, host string) *authFixture {
	tb.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: tb.TempDir()})
	require.NoError(tb, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(tb, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 1, TempDir: tb.TempDir()})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = eng.Close() })
	write(tb, svc, "dev", false, people(1, 2, 3))
	write(tb, svc, "prod", true, people(1, 2))
	_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(tb, err)

	users := auth.New(db, auth.Options{CacheTTL: -1})
	srv, err := sqlwire.New(sqlwire.Options{Envs: svc, Engine: eng, Auth: users, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(tb, err)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(tb, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return &authFixture{addr: ln.Addr().String(), users: users}
}

func (f *authFixture) connect(user, password, db string) (*pgx.Conn, error) {
	host, port, _ := net.SplitHostPort(f.addr)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", user, net.JoinHostPort(host, port), db))
	if err != nil {
		return nil, err
	}
	cfg.Password = password
	return pgx.ConnectConfig(context.Background(), cfg)
}

// pgError returns the PostgreSQL error of a failed connect.
func pgError(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "want a PostgreSQL error, got %v", err)
	return pe
}

func count(t *testing.T, c *pgx.Conn) int64 {
	t.Helper()
	var n int64
	require.NoError(t, c.QueryRow(context.Background(), "SELECT count(*) FROM raw.people").Scan(&n))
	return n
}

// TestAuthSCRAM: without users a loopback client is trusted; once a user exists every client proves its
// password with SCRAM-SHA-256 (pgx), wrong passwords and unknown users get the same 28P01, a database without
// a grant is 42501, an unknown one 3D000, and the server keeps serving throughout.
func TestAuthSCRAM(t *testing.T) {
	ctx := context.Background()
	f := startAuth(t, "127.0.0.1")

	trusted, err := f.connect("anyone", "", "dev")
	require.NoError(t, err, "no users + loopback = trust")
	require.EqualValues(t, 3, count(t, trusted))
	require.NoError(t, trusted.Close(ctx))

	require.NoError(t, f.users.AddUser(ctx, "ana", "ana-password", []auth.Grant{{Env: "dev", Role: auth.Developer}}))
	require.NoError(t, f.users.AddUser(ctx, "vic", "vic-password", []auth.Grant{{Env: "prod", Role: auth.Viewer}}))

	ana, err := f.connect("ana", "ana-password", "dev")
	require.NoError(t, err)
	defer func() { _ = ana.Close(ctx) }()
	require.EqualValues(t, 3, count(t, ana))
	var who string
	require.NoError(t, ana.QueryRow(ctx, "SHOW session_authorization").Scan(&who))
	require.Equal(t, "ana", who)

	wrong := pgError(t, errOf(f.connect("ana", "not-her-password", "dev")))
	unknown := pgError(t, errOf(f.connect("mallory", "ana-password", "dev")))
	require.Equal(t, "28P01", wrong.Code)
	require.Equal(t, `password authentication failed for user "ana"`, wrong.Message)
	require.Equal(t, "28P01", unknown.Code)
	require.Equal(t, `password authentication failed for user "mallory"`, unknown.Message, "the same words as a wrong password")
	noPassword := pgError(t, errOf(f.connect("anyone", "", "dev")))
	require.Equal(t, "28P01", noPassword.Code, "users exist: trust is over, even on loopback")

	denied := pgError(t, errOf(f.connect("vic", "vic-password", "dev")))
	require.Equal(t, "42501", denied.Code)
	require.Equal(t, `permission denied for database "dev"`, denied.Message)
	missing := pgError(t, errOf(f.connect("vic", "vic-password", "nope")))
	require.Equal(t, "3D000", missing.Code)

	vic, err := f.connect("vic", "vic-password", "prod")
	require.NoError(t, err)
	require.EqualValues(t, 2, count(t, vic))
	require.NoError(t, vic.Close(ctx))

	// The server kept serving the first session throughout; a changed password takes effect at once.
	require.EqualValues(t, 3, count(t, ana))
	require.NoError(t, f.users.SetPassword(ctx, "ana", "ana-password-2"))
	require.Equal(t, "28P01", pgError(t, errOf(f.connect("ana", "ana-password", "dev"))).Code)
	again, err := f.connect("ana", "ana-password-2", "dev")
	require.NoError(t, err)
	require.NoError(t, again.Close(ctx))
}

func errOf(c *pgx.Conn, err error) error {
	if c != nil {
		_ = c.Close(context.Background())
	}
	return err
}

// TestAuthRemoteNeedsPassword: a client from another address needs a password even when no user exists (so
// nobody gets in until an admin adds one).
func TestAuthRemoteNeedsPassword(t *testing.T) {
	ip := nonLoopbackIPv4(t)
	f := startAuth(t, ip)
	require.Equal(t, "28P01", pgError(t, errOf(f.connect("anyone", "", "dev"))).Code)
	require.NoError(t, f.users.AddUser(context.Background(), "ana", "ana-password", []auth.Grant{{Env: "*", Role: auth.Viewer}}))
	c, err := f.connect("ana", "ana-password", "prod")
	require.NoError(t, err)
	require.EqualValues(t, 2, count(t, c))
	require.NoError(t, c.Close(context.Background()))
}

func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	t.Fatalf("this test needs a non-loopback IPv4 interface address; the machine has only %v", addrs)
	return ""
}

// TestAuthPsql: the real psql client authenticates with PGPASSWORD (SCRAM), and fails with PostgreSQL's words.
func TestAuthPsql(t *testing.T) {
	f := startAuth(t, "127.0.0.1")
	require.NoError(t, f.users.AddUser(context.Background(), "ana", "ana-password", []auth.Grant{{Env: "dev", Role: auth.Viewer}}))
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	psql := func(user, password, db string) (string, error) {
		cmd := exec.Command("/usr/bin/psql", "-X", "-w", "-A", "-t", "-h", host, "-p", port, "-U", user, "-d", db, "-c", "SELECT count(*) FROM raw.people")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5", "PSQLRC=/dev/null", "PGSSLMODE=prefer")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := psql("ana", "ana-password", "dev")
	require.NoError(t, err, out)
	require.Equal(t, "3\n", out)
	out, err = psql("ana", "wrong-password", "dev")
	require.Error(t, err)
	require.Contains(t, out, `FATAL:  password authentication failed for user "ana"`)
	out, err = psql("ana", "ana-password", "prod")
	require.Error(t, err)
	require.Contains(t, out, `FATAL:  permission denied for database "prod"`)
	require.Contains(t, out, "User does not have CONNECT privilege.")
}
