// Package registry is Strata's MLflow-compatible model registry: registered models, versions (READY at once),
// tags, aliases (with their history, so a release can record which version an alias named), the deprecated
// stages, and the HTTP handlers of MLflow's registry REST API. It shares the metadata database with package
// tracking (reached through the small Tracking interface) and MLflow's wire layer (package mlflowapi) with it.
package registry

import (
	"context"
	"database/sql"
	"errors"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
)

// Tracking is what the registry needs from experiment tracking; *tracking.Store implements it. The registry
// keeps its tables in the same database and writes them in transactions that queue with tracking's (SQLite
// has one writer at a time); model version sources name runs and logged models, whose artifact locations it
// resolves. Lookups of a run or logged model that does not exist return an error of kind errs.NotFound.
type Tracking interface {
	DB() *meta.DB
	WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error
	RunArtifactURI(ctx context.Context, runID string) (string, error)
	LoggedModelLocation(ctx context.Context, modelID string) (artifactURI, sourceRunID string, err error)
}

// Store keeps the registry in the metadata database. Safe for concurrent use.
type Store struct {
	db       *meta.DB
	tracking Tracking
}

// NewStore returns a registry over the tracking store's database; it resolves runs:/ and models:/ sources
// through t.
func NewStore(t Tracking) *Store { return &Store{db: t.DB(), tracking: t} }

// Sentinel errors: registry errors wrap one of them, and so its kind; the wrapping error's message is what
// MLflow clients see.
var (
	ErrNotFound = errs.New(errs.NotFound, "registered model or version not found")
	ErrExists   = errs.New(errs.Exists, "registered model already exists")
	ErrInvalid  = errs.New(errs.Invalid, "invalid registry request")
)

var (
	aliasRe  = regexp.MustCompile(`^[\w\-]*$`)
	versionR = regexp.MustCompile(`^[vV]\d+$`)
)

func invalidf(format string, args ...any) error { return mlflowapi.Errorf(ErrInvalid, format, args...) }

func modelNotFound(name string) error {
	return mlflowapi.Errorf(ErrNotFound, "Registered Model with name=%s not found", name)
}

func versionNotFound(name string, version int64) error {
	return mlflowapi.Errorf(ErrNotFound, "Model Version (name=%s, version=%d) not found", name, version)
}

func validateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return mlflowapi.MissingParam("name")
	}
	if strings.ContainsAny(name, "/:") {
		return invalidf("Invalid model name '%s'. Names cannot contain '/' or ':'.", name)
	}
	if n := path.Clean(name); n != name || strings.HasPrefix(n, "..") {
		return invalidf("Invalid value %q for parameter 'name' supplied.", name)
	}
	return nil
}

func validateTag(t mlflowapi.KeyValue) error {
	if t.Key == "" {
		return mlflowapi.MissingParam("key")
	}
	if len(t.Key) > 250 {
		return invalidf("'key' exceeds the maximum length of 250 characters")
	}
	if len(t.Value) > 100000 {
		return invalidf("'value' exceeds the maximum length of 100000 characters")
	}
	return nil
}

func (s *Store) modelExists(ctx context.Context, q *sql.Tx, name string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_registered_models WHERE name = $1`, name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return modelNotFound(name)
	}
	return nil
}

func (s *Store) touch(ctx context.Context, tx *sql.Tx, name string, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE mlflow_registered_models SET last_updated_time = $1 WHERE name = $2`, now, name)
	return err
}

// CreateRegisteredModel creates a model; an existing name is RESOURCE_ALREADY_EXISTS.
func (s *Store) CreateRegisteredModel(ctx context.Context, name, description string, tags []mlflowapi.KeyValue) (*RegisteredModel, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	for _, t := range tags {
		if err := validateTag(t); err != nil {
			return nil, err
		}
	}
	err := s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_registered_models WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mlflowapi.Errorf(ErrExists, "Registered Model (name=%s) already exists.", name)
		}
		now := meta.NowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_registered_models (name, creation_time, last_updated_time, description, user_id)
			VALUES ($1, $2, $2, $3, '')`, name, now, description); err != nil {
			return err
		}
		for _, t := range tags {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_registered_model_tags", []string{"name"}, []any{name}, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetRegisteredModel(ctx, name)
}

// GetRegisteredModel returns a model with its latest version per stage, tags and aliases.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	var m RegisteredModel
	err := s.db.SQL.QueryRowContext(ctx, `SELECT name, creation_time, last_updated_time, description, user_id
		FROM mlflow_registered_models WHERE name = $1`, name).Scan(&m.Name, &m.CreationTimestamp, &m.LastUpdatedTimestamp, &m.Description, &m.UserID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	return &m, s.fillModels(ctx, []*RegisteredModel{&m})
}

func (s *Store) fillModels(ctx context.Context, models []*RegisteredModel) error {
	for _, m := range models {
		tags, err := s.kv(ctx, `SELECT key, value FROM mlflow_registered_model_tags WHERE name = $1 ORDER BY key`, m.Name)
		if err != nil {
			return err
		}
		m.Tags = tags
		aliases, err := s.aliases(ctx, m.Name)
		if err != nil {
			return err
		}
		m.Aliases = nil
		for _, a := range aliases {
			m.Aliases = append(m.Aliases, Alias{Alias: a.alias, Version: strconv.FormatInt(a.version, 10)})
		}
		if m.LatestVersions, err = s.GetLatestVersions(ctx, m.Name, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) kv(ctx context.Context, q string, qargs ...any) ([]mlflowapi.KeyValue, error) {
	rows, err := s.db.SQL.QueryContext(ctx, q, qargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mlflowapi.KeyValue
	for rows.Next() {
		var kv mlflowapi.KeyValue
		if err := rows.Scan(&kv.Key, &kv.Value); err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, rows.Err()
}

type aliasRow struct {
	alias   string
	version int64
}

func (s *Store) aliases(ctx context.Context, name string) ([]aliasRow, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT alias, version FROM mlflow_model_aliases WHERE name = $1 ORDER BY alias`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aliasRow
	for rows.Next() {
		var a aliasRow
		if err := rows.Scan(&a.alias, &a.version); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RenameRegisteredModel renames a model and everything that refers to it.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error) {
	if err := validateName(newName); err != nil {
		return nil, err
	}
	err := s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_registered_models WHERE name = $1`, newName).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mlflowapi.Errorf(ErrExists, "Registered Model (name=%s) already exists.", newName)
		}
		for _, t := range []string{"mlflow_registered_models", "mlflow_registered_model_tags", "mlflow_model_versions",
			"mlflow_model_version_tags", "mlflow_model_aliases", "mlflow_model_alias_history"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+t+` SET name = $1 WHERE name = $2`, newName, name); err != nil {
				return err
			}
		}
		return s.touch(ctx, tx, newName, meta.NowMillis())
	})
	if err != nil {
		return nil, err
	}
	return s.GetRegisteredModel(ctx, newName)
}

// UpdateRegisteredModel sets a model's description.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*RegisteredModel, error) {
	err := s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE mlflow_registered_models SET description = $1, last_updated_time = $2 WHERE name = $3`,
			description, meta.NowMillis(), name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetRegisteredModel(ctx, name)
}

// DeleteRegisteredModel deletes a model with its versions, tags and aliases.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		for _, t := range []string{"mlflow_registered_models", "mlflow_registered_model_tags", "mlflow_model_versions",
			"mlflow_model_version_tags", "mlflow_model_aliases"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE name = $1`, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetRegisteredModelTag sets a tag on a model.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, t mlflowapi.KeyValue) error {
	if err := validateTag(t); err != nil {
		return err
	}
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_registered_model_tags", []string{"name"}, []any{name}, t); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, meta.NowMillis())
	})
}

// DeleteRegisteredModelTag removes a tag from a model.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM mlflow_registered_model_tags WHERE name = $1 AND key = $2`, name, key)
		return err
	})
}
