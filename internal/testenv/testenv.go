// Package testenv gives tests the real servers that scripts/test (and CI's .ci/run) start: PostgreSQL and
// Redis on 127.0.0.1. A test that needs one and finds none fails with a message saying how to get it; it never
// skips itself.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

const hint = "run the tests with ./scripts/test, which starts PostgreSQL and Redis on 127.0.0.1 (install the Debian packages postgresql and redis-server first)"

// PostgresDSN creates a fresh, empty database on the server named by STRATA_TEST_PG_DSN and returns a DSN for
// it. The database is dropped when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("STRATA_TEST_PG_DSN")
	if base == "" {
		t.Fatalf("STRATA_TEST_PG_DSN is not set: this test needs a real PostgreSQL server; %s", hint)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", redact(base), err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "strata_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database on %s: %v; %s", redact(base), err, hint)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse STRATA_TEST_PG_DSN: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisAddr returns the host:port of the test Redis server (STRATA_TEST_REDIS_ADDR).
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("STRATA_TEST_REDIS_ADDR")
	if addr == "" {
		t.Fatalf("STRATA_TEST_REDIS_ADDR is not set: this test needs a real Redis server; %s", hint)
	}
	return addr
}

// SQLiteDSN returns a DSN for a fresh SQLite metadata file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return t.TempDir() + "/meta.db"
}

// Backends lists the metadata databases every store test runs against, by name, with a DSN maker.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", DSN: SQLiteDSN}, {Name: "postgres", DSN: PostgresDSN}}
}

// Backend is one metadata database flavour for table-driven store tests.
type Backend struct {
	Name string
	DSN  func(t testing.TB) string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<dsn>"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return strings.TrimSpace(u.String())
}
