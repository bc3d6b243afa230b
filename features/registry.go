package features

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-data/strata/meta"
)

// Kind names a kind of definition.
type Kind string

// The kinds of definitions.
const (
	KindEntity  Kind = "entity"
	KindView    Kind = "view"
	KindService Kind = "service"
)

// Def is one stored version of a definition.
type Def struct {
	Env       string          `json:"env"`
	Kind      Kind            `json:"kind"`
	Name      string          `json:"name"`
	Version   int64           `json:"version"`
	Digest    string          `json:"digest"`
	Deleted   bool            `json:"deleted,omitempty"`
	File      string          `json:"file,omitempty"`
	Actor     string          `json:"actor"`
	CreatedMs int64           `json:"created_ms"`
	Spec      json.RawMessage `json:"spec"`
}

// Op is what applying a plan does to one definition.
type Op string

// The plan operations.
const (
	OpAdd    Op = "add"
	OpChange Op = "change"
	OpRemove Op = "remove"
)

// Change is one line of a plan: a definition the files add, change or remove compared with the registry.
type Change struct {
	Op      Op     `json:"op"`
	Kind    Kind   `json:"kind"`
	Name    string `json:"name"`
	From    int64  `json:"from_version,omitempty"` // the current version (change, remove)
	To      int64  `json:"to_version"`             // the version apply stores
	File    string `json:"file,omitempty"`
	Details string `json:"details,omitempty"` // the fields that differ (change)
	spec    []byte
	digest  string
}

// Registry stores definitions' versions in the metadata database. It is safe for concurrent use.
type Registry struct{ db *meta.DB }

// NewRegistry returns the registry kept in db.
func NewRegistry(db *meta.DB) *Registry { return &Registry{db: db} }

type specOf struct {
	kind Kind
	name string
	file string
	v    any
}

func (d *Defs) specs() []specOf {
	var out []specOf
	for _, e := range d.Entities {
		out = append(out, specOf{KindEntity, e.Name, e.Pos.File, e})
	}
	for _, v := range d.Views {
		out = append(out, specOf{KindView, v.Name, v.Pos.File, v})
	}
	for _, s := range d.Services {
		out = append(out, specOf{KindService, s.Name, s.Pos.File, s})
	}
	return out
}

func key(k Kind, name string) string { return string(k) + " " + name }

// Plan compares the definitions with env's current versions.
func (r *Registry) Plan(ctx context.Context, env string, d *Defs) ([]Change, error) {
	return r.plan(ctx, r.db.SQL, env, d)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (r *Registry) plan(ctx context.Context, q querier, env string, d *Defs) ([]Change, error) {
	cur, err := r.current(ctx, q, env)
	if err != nil {
		return nil, err
	}
	var out []Change
	inFiles := map[string]bool{}
	for _, s := range d.specs() {
		spec, err := json.Marshal(s.v)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(spec)
		c := Change{Kind: s.kind, Name: s.name, File: s.file, spec: spec, digest: hex.EncodeToString(sum[:]), To: 1}
		inFiles[key(s.kind, s.name)] = true
		old, ok := cur[key(s.kind, s.name)]
		switch {
		case !ok:
			last, err := r.lastVersion(ctx, q, env, s.kind, s.name)
			if err != nil {
				return nil, err
			}
			c.Op, c.To = OpAdd, last+1
		case old.Digest != c.digest:
			c.Op, c.From, c.To, c.Details = OpChange, old.Version, old.Version+1, specDiff(old.Spec, spec)
		default:
			continue
		}
		out = append(out, c)
	}
	for k, old := range cur {
		if !inFiles[k] {
			out = append(out, Change{Op: OpRemove, Kind: old.Kind, Name: old.Name, From: old.Version, To: old.Version + 1, File: old.File,
				spec: old.Spec, digest: old.Digest})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func kindOrder(k Kind) int { return strings.Index("entity view service", string(k)) }

// specDiff names the top-level fields whose values differ between two specs.
func specDiff(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	_ = json.Unmarshal(a, &ma)
	_ = json.Unmarshal(b, &mb)
	var out []string
	for k, v := range mb {
		if string(ma[k]) != string(v) {
			out = append(out, k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Apply stores a new version of every definition the plan changes, and a removal version of every definition
// the files no longer declare, in one transaction with its audit entry. It returns the changes it applied
// (none when the registry already matches the files).
func (r *Registry) Apply(ctx context.Context, env string, d *Defs, actor string) ([]Change, error) {
	var applied []Change
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		// Applies to one environment are serialised: under PostgreSQL's READ COMMITTED, two applies could
		// otherwise both read "changed" before either commits and store the same definition twice. (SQLite
		// runs one writer at a time; the loser's write is busy and the whole function is retried.)
		if r.db.Dialect == meta.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('strata_feature_defs:' || $1))`, env); err != nil {
				return err
			}
		}
		plan, err := r.plan(ctx, tx, env, d)
		if err != nil || len(plan) == 0 {
			applied = plan
			return err
		}
		now := meta.NowMillis()
		for _, c := range plan {
			_, err := tx.ExecContext(ctx, `INSERT INTO strata_feature_defs (env, kind, name, version, digest, spec, deleted, file, actor, created_ms)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				env, string(c.Kind), c.Name, c.To, c.digest, string(c.spec), boolInt(c.Op == OpRemove), c.File, actor, now)
			if err != nil {
				return fmt.Errorf("store %s %s version %d: %w", c.Kind, c.Name, c.To, err)
			}
		}
		applied = plan
		return insertAudit(ctx, tx, actor, env, "features.apply", "features", map[string]any{"changes": plan})
	})
	return applied, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func insertAudit(ctx context.Context, tx *sql.Tx, actor, env, action, target string, detail any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	_, err = tx.ExecContext(ctx, `INSERT INTO strata_audit (id, at_ms, actor, env, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		hex.EncodeToString(b), meta.NowMillis(), actor, env, action, target, string(d))
	return err
}

const defCols = `env, kind, name, version, digest, spec, deleted, file, actor, created_ms`

func scanDefs(rows *sql.Rows) ([]Def, error) {
	defer rows.Close()
	var out []Def
	for rows.Next() {
		var d Def
		var spec string
		var del int
		if err := rows.Scan(&d.Env, &d.Kind, &d.Name, &d.Version, &d.Digest, &spec, &del, &d.File, &d.Actor, &d.CreatedMs); err != nil {
			return nil, err
		}
		d.Spec, d.Deleted = json.RawMessage(spec), del != 0
		out = append(out, d)
	}
	return out, rows.Err()
}

// current returns env's current (latest, not removed) version of every definition by kind and name.
func (r *Registry) current(ctx context.Context, q querier, env string) (map[string]Def, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+defCols+` FROM strata_feature_defs d WHERE env = $1
		AND version = (SELECT MAX(version) FROM strata_feature_defs m WHERE m.env = d.env AND m.kind = d.kind AND m.name = d.name)`, env)
	if err != nil {
		return nil, err
	}
	defs, err := scanDefs(rows)
	out := map[string]Def{}
	for _, d := range defs {
		if !d.Deleted {
			out[key(d.Kind, d.Name)] = d
		}
	}
	return out, err
}

func (r *Registry) lastVersion(ctx context.Context, q querier, env string, k Kind, name string) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM strata_feature_defs WHERE env = $1 AND kind = $2 AND name = $3`, env, string(k), name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var v int64
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
	}
	return v, rows.Err()
}

// List returns env's current definitions, by kind then name.
func (r *Registry) List(ctx context.Context, env string) ([]Def, error) {
	cur, err := r.current(ctx, r.db.SQL, env)
	if err != nil {
		return nil, err
	}
	out := make([]Def, 0, len(cur))
	for _, d := range cur {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Versions returns every stored version of a definition, oldest first. kind "" finds the name among views,
// then services, then entities.
func (r *Registry) Versions(ctx context.Context, env string, kind Kind, name string) ([]Def, error) {
	for _, k := range kindsFor(kind) {
		rows, err := r.db.SQL.QueryContext(ctx, `SELECT `+defCols+` FROM strata_feature_defs WHERE env = $1 AND kind = $2 AND name = $3 ORDER BY version`,
			env, string(k), name)
		if err != nil {
			return nil, err
		}
		defs, err := scanDefs(rows)
		if err != nil || len(defs) > 0 {
			return defs, err
		}
	}
	return nil, fmt.Errorf("no feature definition %q in %s: run `strata plan` and `strata apply --env %s` first: %w", name, env, env, ErrNotFound)
}

func kindsFor(k Kind) []Kind {
	if k != "" {
		return []Kind{k}
	}
	return []Kind{KindView, KindService, KindEntity}
}

// Get returns a definition by reference: NAME (the current version) or NAME@N (version N, pinned).
func (r *Registry) Get(ctx context.Context, env string, kind Kind, ref string) (*Def, error) {
	name, ver, pinned := strings.Cut(ref, "@")
	var want int64
	if pinned {
		n, err := strconv.ParseInt(ver, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: the version after @ must be a number from 1: %w", ref, ErrInvalid)
		}
		want = n
	}
	all, err := r.Versions(ctx, env, kind, name)
	if err != nil {
		return nil, err
	}
	last := all[len(all)-1]
	if !pinned {
		if last.Deleted {
			return nil, fmt.Errorf("%s %s was removed in version %d (pin an older version with %s@N): %w", last.Kind, name, last.Version, name, ErrNotFound)
		}
		return &last, nil
	}
	for _, d := range all {
		if d.Version == want && !d.Deleted {
			return &d, nil
		}
	}
	return nil, fmt.Errorf("%s %s has no version %d (versions 1 to %d; see `strata features versions %s`): %w", last.Kind, name, want, last.Version, name, ErrNotFound)
}

// View decodes a stored view definition.
func (d *Def) View() (*View, error) {
	if d.Kind != KindView {
		return nil, fmt.Errorf("%s is a %s, not a feature view: %w", d.Name, d.Kind, ErrInvalid)
	}
	var v View
	if err := json.Unmarshal(d.Spec, &v); err != nil {
		return nil, fmt.Errorf("stored view %s@%d: %w", d.Name, d.Version, err)
	}
	return &v, nil
}
