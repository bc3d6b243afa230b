package tracking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
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

// WriteTx runs fn in a write transaction (meta.DB.Tx, serialised in-process on SQLite). The registry uses
// it too.
func (s *Store) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.db.Dialect == meta.SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	return s.db.Tx(ctx, fn)
}

// DB is the metadata database (the registry shares it).
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

// args collects positional parameters for a query ($1, $2, ...).
type SQLArgs []any

func (a *SQLArgs) p(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

func (a *SQLArgs) list(vals []string) string {
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = a.p(v)
	}
	return "(" + strings.Join(ps, ", ") + ")"
}

// likeExpr renders a case-sensitive LIKE or case-insensitive ILIKE on both dialects (SQLite's LIKE ignores
// ASCII case, so case-sensitive matching uses GLOB there).
func likeExpr(d meta.Dialect, col, op, pattern string, a *SQLArgs) string {
	neg := ""
	if strings.HasPrefix(op, "NOT ") {
		neg, op = "NOT ", strings.TrimPrefix(op, "NOT ")
	}
	if d == meta.Postgres {
		return fmt.Sprintf("%s%s %s %s", neg, col, op, a.p(pattern))
	}
	if op == "ILIKE" {
		return fmt.Sprintf("%s%s LIKE %s", neg, col, a.p(pattern))
	}
	return fmt.Sprintf("%s%s GLOB %s", neg, col, a.p(likeToGlob(pattern)))
}

func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// compare renders `col op value` for =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN.
func compare(d meta.Dialect, col string, c Clause, val any, a *SQLArgs) string {
	switch c.Op {
	case "LIKE", "ILIKE":
		return likeExpr(d, col, c.Op, c.Str, a)
	case "IN", "NOT IN":
		if len(c.List) == 0 {
			if c.Op == "IN" {
				return "1 = 0"
			}
			return "1 = 1"
		}
		return fmt.Sprintf("%s %s %s", col, c.Op, a.list(c.List))
	}
	return fmt.Sprintf("%s %s %s", col, c.Op, a.p(val))
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

// upsertKV sets key=value in a (owner columns, key, value) table whose primary key is (owner columns, key).
func upsertKV(ctx context.Context, tx queryer, table string, ownerCols []string, owner []any, key, value string) error {
	var a SQLArgs
	ps := make([]string, 0, len(ownerCols)+2)
	for _, o := range owner {
		ps = append(ps, a.p(o))
	}
	ps = append(ps, a.p(key), a.p(value))
	cols := strings.Join(ownerCols, ", ")
	_, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s, key, value) VALUES (%s) ON CONFLICT (%s, key) DO UPDATE SET value = excluded.value",
		table, cols, strings.Join(ps, ", "), cols), a...)
	return err
}

// P adds a parameter and returns its placeholder.
func (a *SQLArgs) P(v any) string { return a.p(v) }

// List adds parameters and returns "($i, $j, ...)".
func (a *SQLArgs) List(vals []string) string { return a.list(vals) }

// Compare renders a filter clause against a column (exported for the registry).
func Compare(d meta.Dialect, col string, c Clause, val any, a *SQLArgs) string {
	return compare(d, col, c, val, a)
}

// TagClause renders a tag clause as an EXISTS subquery (exported for the registry); see tagExists.
func TagClause(d meta.Dialect, filter string, c Clause, table, link string, a *SQLArgs, missingMatchesNotEqual bool) (string, error) {
	return tagExists(d, filter, c, table, link, a, missingMatchesNotEqual)
}

// ClauseError is the INVALID_PARAMETER_VALUE error for a clause a search does not support.
func ClauseError(filter string, c Clause, format string, args ...any) error {
	return clauseError(filter, c, format, args...)
}

// ParseOrderBy splits an order_by entry into key and direction.
func ParseOrderBy(s string) (string, bool, error) { return parseOrderBy(s) }

// EncodePageToken and DecodePageToken are the opaque offset tokens every search uses.
func EncodePageToken(offset int64) string { return encodePageToken(offset) }

// DecodePageToken is the inverse of EncodePageToken ("" is offset 0).
func DecodePageToken(tok string) (int64, error) { return decodePageToken(tok) }

// NewID returns a random 32-hex-digit id.
func NewID() string { return newID() }
