// Package meta opens Strata's metadata database: SQLite (embedded default) or PostgreSQL. It runs the embedded
// schema migrations on open and offers a transaction helper that retries on serialisation failures and busy
// locks. Every other package keeps its state here: the Iceberg SQL catalog, releases, the audit log, experiment
// tracking and the model registry.
package meta

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"github.com/strata-data/strata/errs"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Dialect names the SQL dialect of the metadata database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Sentinel errors. Callers wrap them with context; protocol edges map them to statuses.
var (
	ErrInvalid  = errs.New(errs.Invalid, "invalid metadata database setting")
	ErrNotFound = errs.New(errs.NotFound, "not found")
	ErrConflict = errs.New(errs.Conflict, "conflict")
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open metadata database. SQL is safe for concurrent use.
type DB struct {
	SQL     *sql.DB
	Dialect Dialect
	// DriverName is the database/sql driver name ("sqlite" or "pgx"), for libraries that open their own handles.
	DriverName string
	// DSN is the driver-level data source name (secrets included: never log it).
	DSN string
}

// Open connects to the metadata database named by dsn and migrates it to the newest schema.
// dsn is "postgres://..." / "postgresql://..." for PostgreSQL, or "sqlite:PATH", "file:PATH" or a plain file
// path for SQLite (the directory is created). The caller closes the DB.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db, err := open(dsn)
	if err != nil {
		return nil, err
	}
	if err := db.ping(ctx); err != nil {
		_ = db.SQL.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		_ = db.SQL.Close()
		return nil, err
	}
	return db, nil
}

func open(dsn string) (*DB, error) {
	switch {
	case dsn == "":
		return nil, fmt.Errorf("%w: empty DSN: set meta.dsn in strata.yaml or STRATA_META_DSN", ErrInvalid)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		sdb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		sdb.SetMaxOpenConns(20)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{SQL: sdb, Dialect: Postgres, DriverName: "pgx", DSN: dsn}, nil
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		path = strings.TrimPrefix(path, "//")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" || path == ":memory:" {
			return nil, fmt.Errorf("%w: SQLite needs a file path (got %q)", ErrInvalid, dsn)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create metadata directory: %w", err)
		}
		// WAL lets readers run beside the writer; busy_timeout makes writers wait for each other instead of failing;
		// _txlock=immediate takes the write lock at BEGIN so a read transaction never fails to upgrade.
		full := "file:" + path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sdb, err := sql.Open("sqlite", full)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		sdb.SetMaxOpenConns(8)
		return &DB{SQL: sdb, Dialect: SQLite, DriverName: "sqlite", DSN: full}, nil
	}
}

func (db *DB) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.SQL.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to the %s metadata database: %w (check STRATA_META_DSN / meta.dsn)", db.Dialect, err)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db.SQL, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if db.Dialect == Postgres {
		// Serialise concurrent first starts of several processes on one PostgreSQL database.
		if _, err := db.SQL.ExecContext(ctx, "SELECT pg_advisory_lock(7471)"); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
		defer func() { _, _ = db.SQL.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7471)") }()
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate the metadata database: %w", err)
	}
	return nil
}

// Close closes the database handle.
func (db *DB) Close() error { return db.SQL.Close() }

// Tx runs fn in a transaction and commits it if fn returns nil. Serialisation failures, deadlocks, busy locks
// and unique violations (SQLSTATE 23505) are retried up to eight times, so fn must be safe to run again and must
// read inside the transaction whatever it derives keys from. The unique-violation retry is what makes
// "next id = MAX(id)+1 in the same transaction" (release numbers per environment) safe under concurrent
// writers on PostgreSQL's READ COMMITTED: the loser of a race on the same id runs again and takes the next one.
// Any other error rolls back and is returned as is.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = db.tx(ctx, fn); err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return err
}

func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	s := err.Error()
	for _, m := range []string{"SQLSTATE 40001", "SQLSTATE 40P01", "SQLSTATE 23505", "database is locked", "SQLITE_BUSY"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// NowMillis is the metadata clock: unix milliseconds.
func NowMillis() int64 { return time.Now().UnixMilli() }
