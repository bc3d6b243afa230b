//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/sqlwire"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files and returns the pair.
func selfSigned(t *testing.T) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strata-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	return pair, certFile, keyFile
}

// TestTLS: with a certificate, pgx (sslmode=require and verify-full against the certificate) and psql
// (sslmode=require) talk TLS; without one, sslmode=require is refused and prefer goes on in plain text.
func TestTLS(t *testing.T) {
	pair, certFile, _ := selfSigned(t)
	f := startWith(t, func(o *sqlwire.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	})
	ctx := context.Background()
	host, port, _ := net.SplitHostPort(f.addr)
	for _, mode := range []string{"require", "verify-full&sslrootcert=" + certFile} {
		c, err := pgx.Connect(ctx, "postgres://tester@"+f.addr+"/dev?sslmode="+mode)
		require.NoError(t, err, mode)
		_, isTLS := c.PgConn().Conn().(*tls.Conn)
		require.True(t, isTLS, "the session runs over TLS")
		var n int64
		for range 3 { // the disconnect watcher's read deadlines leave the TLS session usable
			require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
			require.Equal(t, int64(3), n)
		}
		require.NoError(t, c.Close(ctx))
	}

	cmd := exec.Command("/usr/bin/psql", "-X", "-A", "-t", "-h", host, "-p", port, "-U", "analyst", "-d", "dev",
		"-c", "SELECT name FROM raw.people WHERE id = 3")
	cmd.Env = append(os.Environ(), "PGSSLMODE=require", "PGCONNECT_TIMEOUT=5", "PSQLRC=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "Zoë ✓ 3\n", string(out))

	plain := start(t)
	_, err = pgx.Connect(ctx, "postgres://tester@"+plain.addr+"/dev?sslmode=require")
	require.ErrorContains(t, err, "server refused TLS connection")
	c, err := pgx.Connect(ctx, "postgres://tester@"+plain.addr+"/dev?sslmode=prefer")
	require.NoError(t, err)
	_, isTLS := c.PgConn().Conn().(*tls.Conn)
	require.False(t, isTLS)
	require.NoError(t, c.Close(ctx))
}
