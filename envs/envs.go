// Package envs implements environments and releases, the write-audit-publish core of Strata.
//
// Every environment is an Iceberg catalog of its own with the same zones. A dev-kind environment's readers see
// each table's latest snapshot. A prod-kind environment's readers see only its current release: an immutable,
// numbered set of pins (table → snapshot id) published in one metadata-database transaction, so readers never
// see half of a run. Rollback publishes a new release equal to an older one; history is never rewritten.
package envs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// Sentinel errors; wrapped with context by every function.
var (
	ErrNotFound  = errs.New(errs.NotFound, "not found")
	ErrInvalid   = errs.New(errs.Invalid, "invalid request")
	ErrForbidden = errs.New(errs.Forbidden, "not allowed")
	ErrConflict  = errs.New(errs.Conflict, "conflict")
)

// Kind says how an environment's readers resolve tables.
type Kind string

// The environment kinds.
const (
	KindDev  Kind = "dev"  // latest snapshots
	KindProd Kind = "prod" // the current release's pins
)

// Env is one environment.
type Env struct {
	Name           string `json:"name"`
	Kind           Kind   `json:"kind"`
	Description    string `json:"description"`
	CurrentRelease int64  `json:"current_release,omitempty"`
}

// Options tunes a Service.
type Options struct {
	// Hook is called at named points for fault-injection tests ("release:before-commit"); may be nil.
	Hook func(point string)
	// Files writes the data files of every write (the engine: DuckDB encodes them on every core); nil means
	// the lake's own Parquet writer, except for ImportFile, which then uses the engine it is given.
	Files lake.FileWriter
	// PlanCacheEntries bounds how many table read plans (file lists) Resolve and BindSQL keep, keyed by the
	// table's current metadata file; 0 means 1024, a negative number disables the cache.
	PlanCacheEntries int
	// PlanCacheBytes bounds the cached plans' approximate size; 0 means 64 MiB.
	PlanCacheBytes int64
}

// Service manages environments and releases. It is safe for concurrent use.
type Service struct {
	db    *meta.DB
	lake  *lake.Lake
	opts  Options
	plans *planCache // read plans by metadata location (plancache.go); nil when disabled
}

// New returns a Service over the metadata DB and the lake.
func New(db *meta.DB, lk *lake.Lake, opts Options) *Service {
	return &Service{db: db, lake: lk, opts: opts, plans: newPlanCache(opts.PlanCacheEntries, opts.PlanCacheBytes)}
}

// Lake returns the lake the service resolves tables in.
func (s *Service) Lake() *lake.Lake { return s.lake }

func (s *Service) hook(point string) {
	if s.opts.Hook != nil {
		s.opts.Hook(point)
	}
}

var envName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Init makes sure every environment's catalog and zones exist.
func (s *Service) Init(ctx context.Context) error {
	list, err := s.List(ctx)
	if err != nil {
		return err
	}
	for _, e := range list {
		if err := s.lake.EnsureEnv(ctx, e.Name); err != nil {
			return fmt.Errorf("environment %s: %w", e.Name, err)
		}
	}
	return nil
}

// List returns all environments, dev and prod first.
func (s *Service) List(ctx context.Context) ([]Env, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT e.name, e.kind, e.description,
		COALESCE((SELECT max(r.id) FROM strata_releases r WHERE r.env = e.name), 0)
		FROM strata_envs e ORDER BY CASE e.name WHEN 'dev' THEN 0 WHEN 'prod' THEN 1 ELSE 2 END, e.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Env
	for rows.Next() {
		var e Env
		if err := rows.Scan(&e.Name, &e.Kind, &e.Description, &e.CurrentRelease); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Get returns one environment or ErrNotFound naming the ones that exist. Every read resolves its environment,
// so the common case is one indexed row; the full list is read only to word the error.
func (s *Service) Get(ctx context.Context, name string) (*Env, error) {
	e := Env{Name: name}
	err := s.db.SQL.QueryRowContext(ctx, `SELECT kind, description,
		COALESCE((SELECT max(r.id) FROM strata_releases r WHERE r.env = $1), 0)
		FROM strata_envs WHERE name = $1`, name).Scan(&e.Kind, &e.Description, &e.CurrentRelease)
	if err == nil {
		return &e, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	nf := &EnvNotFoundError{Name: name}
	for _, e := range list {
		nf.Known = append(nf.Known, e.Name)
	}
	return nil, nf
}

// EnvNotFoundError reports an unknown environment and names the ones that exist. It matches ErrNotFound.
type EnvNotFoundError struct {
	Name  string
	Known []string
}

func (e *EnvNotFoundError) Error() string {
	return fmt.Sprintf("environment %q: %v (environments: %s)", e.Name, ErrNotFound, strings.Join(e.Known, ", "))
}

// Unwrap makes the error match ErrNotFound (kind NotFound).
func (e *EnvNotFoundError) Unwrap() error { return ErrNotFound }

// Create adds an environment of the given kind and its catalog.
func (s *Service) Create(ctx context.Context, name string, kind Kind, description, actor string) (*Env, error) {
	if !envName.MatchString(name) {
		return nil, fmt.Errorf("environment name %q: %w: use lower-case letters, digits and _ (starting with a letter)", name, ErrInvalid)
	}
	if kind != KindDev && kind != KindProd {
		return nil, fmt.Errorf("environment kind %q: %w: use dev or prod", kind, ErrInvalid)
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM strata_envs WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("environment %q: %w: it already exists", name, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO strata_envs (name, kind, description, created_ms) VALUES ($1, $2, $3, $4)`,
			name, string(kind), description, meta.NowMillis()); err != nil {
			return err
		}
		return audit(ctx, tx, actor, name, "env.create", name, map[string]any{"kind": kind})
	})
	if err != nil {
		return nil, err
	}
	if err := s.lake.EnsureEnv(ctx, name); err != nil {
		return nil, err
	}
	return s.Get(ctx, name)
}

// CheckWrite applies env's write rule: prod-kind environments are written by pipeline runs; a direct write
// needs force (ErrForbidden otherwise), and is then audited. Write applies it itself; operations other than
// writes (clone, drop) call it before they change a table.
func (s *Service) CheckWrite(ctx context.Context, env string, force bool) error {
	e, err := s.Get(ctx, env)
	if err != nil {
		return err
	}
	return checkRule(e, force)
}

// Audit records an action in the audit log.
func (s *Service) Audit(ctx context.Context, actor, env, action, target string, detail any) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return audit(ctx, tx, actor, env, action, target, detail) })
}

// AuditEntry is one audit log row.
type AuditEntry struct {
	ID     string          `json:"id"`
	AtMs   int64           `json:"at_ms"`
	Actor  string          `json:"actor"`
	Env    string          `json:"env"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Detail json.RawMessage `json:"detail"`
}

// AuditLog returns the newest entries of env ("" = all), newest first.
func (s *Service) AuditLog(ctx context.Context, env string, limit int) ([]AuditEntry, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT id, at_ms, actor, env, action, target, detail FROM strata_audit
		WHERE ($1 = '' OR env = $1) ORDER BY at_ms DESC, id LIMIT $2`, env, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		var d string
		if err := rows.Scan(&a.ID, &a.AtMs, &a.Actor, &a.Env, &a.Action, &a.Target, &d); err != nil {
			return nil, err
		}
		a.Detail = json.RawMessage(d)
		out = append(out, a)
	}
	return out, rows.Err()
}

func audit(ctx context.Context, tx *sql.Tx, actor, env, action, target string, detail any) error {
	_, err := insertAudit(ctx, tx, actor, env, action, target, detail)
	return err
}

// insertAudit adds an audit entry and returns its id.
func insertAudit(ctx context.Context, tx *sql.Tx, actor, env, action, target string, detail any) (string, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return "", err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	_, err = tx.ExecContext(ctx, `INSERT INTO strata_audit (id, at_ms, actor, env, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, meta.NowMillis(), actor, env, action, target, string(d))
	return id, err
}

func sortedIdents(ids []lake.Ident) []lake.Ident {
	out := append([]lake.Ident(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
