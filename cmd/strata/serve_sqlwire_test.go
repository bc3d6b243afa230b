package main

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestServeAnswersPostgreSQLClients: `strata serve --demo` also listens on sqlwire.addr; psql and pgx read the
// demo tables, prod through its release.
func TestServeAnswersPostgreSQLClients(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	port := freePort(t)
	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR=127.0.0.1:" + port}, "--addr", "127.0.0.1:0", "--demo")
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, p.url)

	out, err := exec.Command("/usr/bin/psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", port, "-U", "me", "-d", "prod",
		"-c", "SELECT count(*) > 0 FROM clean.orders").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "t\n", string(out))

	conn, err := pgx.Connect(context.Background(), "postgres://me@127.0.0.1:"+port+"/dev?sslmode=disable")
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	var n int64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM raw.users").Scan(&n))
	require.Positive(t, n)
}

// TestServeRefusesRemoteSQLAddress: the PostgreSQL endpoint follows HTTP's rule: no passwords yet, so an
// address other machines reach needs --allow-remote.
func TestServeRefusesRemoteSQLAddress(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "STRATA_SQLWIRE_ADDR=0.0.0.0:0")
	c.file("strata.yaml", "project: test\n")
	errText := c.fail(exitUsage, "serve", "--addr", "127.0.0.1:0")
	require.Contains(t, errText, "sqlwire.addr")
	require.Contains(t, errText, "--allow-remote")
}
