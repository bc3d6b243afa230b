package tracking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/strata-data/strata/meta"
)

// DefaultArtifactRoot is where experiments keep artifacts unless told otherwise: the proxied artifact API, so
// every byte goes through the server (mlflow-artifacts:/<experiment>/<run>/artifacts/...).
const DefaultArtifactRoot = "mlflow-artifacts:/"

// Store keeps experiments, runs, metrics, params, tags, inputs/outputs and logged models in the metadata
// database. It is safe for concurrent use by many goroutines and many server processes: every write is one
// transaction (meta.DB.Tx retries serialisation failures), and ids are allocated inside it.
type Store struct {
	db   *meta.DB
	root string
	// writeMu serialises this process's write transactions on SQLite, which has one writer at a time anyway:
	// waiting on a mutex is much cheaper than SQLite's busy handler, which sleeps in growing steps (8 threads
	// of single log-metric calls ran slower than 1 before this).
	writeMu sync.Mutex
}

// NewStore returns a store over db. artifactRoot is the default artifact root of new experiments ("" means
// DefaultArtifactRoot). It makes sure experiment "0" ("Default") exists.
func NewStore(ctx context.Context, db *meta.DB, artifactRoot string) (*Store, error) {
	if artifactRoot == "" {
		artifactRoot = DefaultArtifactRoot
	}
	s := &Store{db: db, root: artifactRoot}
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_experiments WHERE experiment_id = 0`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := meta.NowMillis()
		_, err := tx.ExecContext(ctx, `INSERT INTO mlflow_experiments (experiment_id, name, artifact_location,
			lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', $1, 'active', $2, $2)`,
			joinURI(artifactRoot, "0"), now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create the Default experiment: %w", err)
	}
	return s, nil
}

// WriteTx runs fn in a write transaction (meta.DB.Tx, serialised in-process on SQLite, where one writer at a
// time is all the database allows). Packages that write the same database (the model registry) use it so
// their writes queue with tracking's.
func (s *Store) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.db.Dialect == meta.SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	return s.db.Tx(ctx, fn)
}

// DB is the metadata database the store keeps its tables in.
func (s *Store) DB() *meta.DB { return s.db }

// joinURI appends a path segment to an artifact URI or directory.
func joinURI(root, elem string) string {
	if strings.HasSuffix(root, "/") {
		return root + elem
	}
	return root + "/" + elem
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	n := v.Int64
	return &n
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// keyValues runs a query returning (owner, key, value) rows and groups them by owner.
func keyValues(ctx context.Context, q queryer, query string, qargs ...any) (map[string][]KeyValue, error) {
	rows, err := q.QueryContext(ctx, query, qargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]KeyValue{}
	for rows.Next() {
		var owner string
		var kv KeyValue
		if err := rows.Scan(&owner, &kv.Key, &kv.Value); err != nil {
			return nil, err
		}
		out[owner] = append(out[owner], kv)
	}
	return out, rows.Err()
}
