// Package registry is Strata's MLflow-compatible model registry: registered models, versions (READY at once),
// tags, aliases (with their history, so a release can record which version an alias named), the deprecated
// stages, and the HTTP handlers of MLflow's registry REST API. It shares the metadata database and the wire
// helpers of package tracking.
package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/tracking"
)

// Store keeps the registry in the metadata database. Safe for concurrent use.
type Store struct {
	db       *meta.DB
	tracking *tracking.Store
}

// NewStore returns a registry over the tracking store's database; it resolves runs:/ and models:/ sources
// through the tracking store.
func NewStore(t *tracking.Store) *Store { return &Store{db: t.DB(), tracking: t} }

var (
	errf     = tracking.Errorf
	aliasRe  = regexp.MustCompile(`^[\w\-]*$`)
	versionR = regexp.MustCompile(`^[vV]\d+$`)
)

func invalidf(format string, args ...any) error { return errf(tracking.ErrInvalid, format, args...) }

func modelNotFound(name string) error {
	return errf(tracking.ErrNotFound, "Registered Model with name=%s not found", name)
}

func versionNotFound(name string, version int64) error {
	return errf(tracking.ErrNotFound, "Model Version (name=%s, version=%d) not found", name, version)
}

func validateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return tracking.MissingParam("name")
	}
	if strings.ContainsAny(name, "/:") {
		return invalidf("Invalid model name '%s'. Names cannot contain '/' or ':'.", name)
	}
	if n := path.Clean(name); n != name || strings.HasPrefix(n, "..") {
		return invalidf("Invalid value %q for parameter 'name' supplied.", name)
	}
	return nil
}

func validateTag(t tracking.KeyValue) error {
	if t.Key == "" {
		return tracking.MissingParam("key")
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
func (s *Store) CreateRegisteredModel(ctx context.Context, name, description string, tags []tracking.KeyValue) (*RegisteredModel, error) {
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
			return errf(tracking.ErrAlreadyExists, "Registered Model (name=%s) already exists.", name)
		}
		now := meta.NowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_registered_models (name, creation_time, last_updated_time, description, user_id)
			VALUES ($1, $2, $2, $3, '')`, name, now, description); err != nil {
			return err
		}
		for _, t := range tags {
			if err := setKV(ctx, tx, "mlflow_registered_model_tags", []string{"name"}, []any{name}, t); err != nil {
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

func setKV(ctx context.Context, tx *sql.Tx, table string, cols []string, owner []any, t tracking.KeyValue) error {
	var a tracking.SQLArgs
	ps := make([]string, 0, len(owner)+2)
	for _, o := range owner {
		ps = append(ps, a.P(o))
	}
	ps = append(ps, a.P(t.Key), a.P(t.Value))
	c := strings.Join(cols, ", ")
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s, key, value) VALUES (%s) ON CONFLICT (%s, key) DO UPDATE SET value = excluded.value`,
		table, c, strings.Join(ps, ", "), c), a...)
	return err
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

func (s *Store) kv(ctx context.Context, q string, qargs ...any) ([]tracking.KeyValue, error) {
	rows, err := s.db.SQL.QueryContext(ctx, q, qargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tracking.KeyValue
	for rows.Next() {
		var kv tracking.KeyValue
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
			return errf(tracking.ErrAlreadyExists, "Registered Model (name=%s) already exists.", newName)
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
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, t tracking.KeyValue) error {
	if err := validateTag(t); err != nil {
		return err
	}
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		if err := setKV(ctx, tx, "mlflow_registered_model_tags", []string{"name"}, []any{name}, t); err != nil {
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

// CreateModelVersionInput are the parameters of CreateModelVersion.
type CreateModelVersionInput struct {
	Name, Source, RunID, RunLink, Description, ModelID string
	Tags                                               []tracking.KeyValue
}

// CreateModelVersion registers a new version (status READY). A models:/<id> source is resolved to the logged
// model's artifact location (and its source run); a runs:/<id>/<path> source to the run's artifacts.
func (s *Store) CreateModelVersion(ctx context.Context, in CreateModelVersionInput) (*ModelVersion, error) {
	for _, t := range in.Tags {
		if err := validateTag(t); err != nil {
			return nil, err
		}
	}
	storage, err := s.resolveSource(ctx, &in)
	if err != nil {
		return nil, err
	}
	var version int64
	err = s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, in.Name); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM mlflow_model_versions WHERE name = $1`, in.Name).Scan(&version); err != nil {
			return err
		}
		now := meta.NowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_model_versions (name, version, creation_time, last_updated_time,
			description, user_id, current_stage, source, storage_location, run_id, run_link, status, status_message, model_id, deleted)
			VALUES ($1, $2, $3, $3, $4, '', 'None', $5, $6, $7, $8, 'READY', '', $9, 0)`,
			in.Name, version, now, in.Description, in.Source, storage, in.RunID, in.RunLink, in.ModelID); err != nil {
			return err
		}
		for _, t := range in.Tags {
			if err := setKV(ctx, tx, "mlflow_model_version_tags", []string{"name", "version"}, []any{in.Name, version}, t); err != nil {
				return err
			}
		}
		return s.touch(ctx, tx, in.Name, now)
	})
	if err != nil {
		return nil, err
	}
	return s.GetModelVersion(ctx, in.Name, version)
}

func hasTraversal(src string) bool {
	dec, err := url.PathUnescape(src)
	if err != nil {
		return true
	}
	for _, s := range []string{src, dec} {
		if strings.Contains(s, "\x00") {
			return true
		}
		for _, seg := range strings.Split(s, "/") {
			if seg == ".." {
				return true
			}
		}
	}
	return false
}

func (s *Store) resolveSource(ctx context.Context, in *CreateModelVersionInput) (string, error) {
	if in.Source == "" {
		return "", tracking.MissingParam("source")
	}
	if hasTraversal(in.Source) {
		return "", invalidf("Invalid model version source: '%s'.", in.Source)
	}
	switch {
	case strings.HasPrefix(in.Source, "models:/"):
		id := strings.Trim(strings.TrimPrefix(in.Source, "models:/"), "/")
		if in.ModelID != "" && in.ModelID != id {
			return "", invalidf("The model ID in the source (%s) does not match model_id '%s'.", in.Source, in.ModelID)
		}
		m, err := s.tracking.GetLoggedModel(ctx, id, false)
		if err != nil {
			return "", err
		}
		in.ModelID = id
		if in.RunID == "" {
			in.RunID = m.Info.SourceRunID
		}
		return m.Info.ArtifactURI, nil
	case strings.HasPrefix(in.Source, "runs:/"):
		rest := strings.TrimPrefix(in.Source, "runs:/")
		rid, sub, _ := strings.Cut(rest, "/")
		if in.RunID != "" && in.RunID != rid {
			return "", invalidf("The run_id '%s' does not match the run in the source %s.", in.RunID, in.Source)
		}
		run, err := s.tracking.GetRun(ctx, rid)
		if err != nil {
			return "", err
		}
		in.RunID = rid
		return strings.TrimSuffix(run.Info.ArtifactURI, "/") + "/" + sub, nil
	}
	if isLocalPath(in.Source) {
		return "", invalidf("To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.")
	}
	if in.RunID != "" {
		run, err := s.tracking.GetRun(ctx, in.RunID)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(in.Source, "mlflow-artifacts:") && !underURI(in.Source, run.Info.ArtifactURI) {
			return "", invalidf("Invalid model version source: '%s'. It must be under the artifact location of run '%s' (%s).", in.Source, in.RunID, run.Info.ArtifactURI)
		}
	}
	if in.ModelID != "" {
		m, err := s.tracking.GetLoggedModel(ctx, in.ModelID, false)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(in.Source, "mlflow-artifacts:") && in.RunID == "" && !underURI(in.Source, m.Info.ArtifactURI) {
			return "", invalidf("Invalid model version source: '%s'. It must be under the artifact location of model '%s'.", in.Source, in.ModelID)
		}
	}
	return in.Source, nil
}

// isLocalPath reports whether a source names a path on the server's disk (no URI scheme, or file:).
func isLocalPath(src string) bool {
	return strings.HasPrefix(src, "file:") || !strings.Contains(src, ":")
}

func underURI(src, root string) bool {
	root = strings.TrimSuffix(root, "/")
	return src == root || strings.HasPrefix(src, root+"/")
}

const versionCols = `name, version, creation_time, last_updated_time, description, user_id, current_stage, source,
	storage_location, run_id, run_link, status, status_message, model_id`

func scanVersion(sc interface{ Scan(...any) error }) (*ModelVersion, error) {
	var v ModelVersion
	var n int64
	if err := sc.Scan(&v.Name, &n, &v.CreationTimestamp, &v.LastUpdatedTimestamp, &v.Description, &v.UserID, &v.CurrentStage,
		&v.Source, &v.StorageLocation, &v.RunID, &v.RunLink, &v.Status, &v.StatusMessage, &v.ModelID); err != nil {
		return nil, err
	}
	v.Version = strconv.FormatInt(n, 10)
	return &v, nil
}

func parseVersion(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 1 {
		return 0, invalidf("Parameter 'version' must be an integer, got '%s'.", v)
	}
	return n, nil
}

// GetModelVersion returns one (not deleted) version with its tags and aliases.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (*ModelVersion, error) {
	v, err := scanVersion(s.db.SQL.QueryRowContext(ctx, `SELECT `+versionCols+` FROM mlflow_model_versions
		WHERE name = $1 AND version = $2 AND deleted = 0`, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, versionNotFound(name, version)
	}
	if err != nil {
		return nil, err
	}
	return v, s.fillVersions(ctx, []*ModelVersion{v})
}

func (s *Store) fillVersions(ctx context.Context, vs []*ModelVersion) error {
	for _, v := range vs {
		tags, err := s.kv(ctx, `SELECT key, value FROM mlflow_model_version_tags WHERE name = $1 AND version = $2 ORDER BY key`, v.Name, mustInt(v.Version))
		if err != nil {
			return err
		}
		v.Tags = tags
		rows, err := s.kv(ctx, `SELECT alias, '' FROM mlflow_model_aliases WHERE name = $1 AND version = $2 ORDER BY alias`, v.Name, mustInt(v.Version))
		if err != nil {
			return err
		}
		v.Aliases = nil
		for _, a := range rows {
			v.Aliases = append(v.Aliases, a.Key)
		}
	}
	return nil
}

func mustInt(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// GetLatestVersions returns, for each requested stage (all stages if none), the highest version in it.
func (s *Store) GetLatestVersions(ctx context.Context, name string, wantStages []string) ([]*ModelVersion, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+versionCols+` FROM mlflow_model_versions WHERE name = $1 AND deleted = 0
		ORDER BY version`, name)
	if err != nil {
		return nil, err
	}
	latest := map[string]*ModelVersion{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		latest[v.CurrentStage] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, st := range wantStages {
		canon, ok := stages[strings.ToLower(st)]
		if !ok {
			return nil, invalidf("Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", st)
		}
		want[canon] = true
	}
	var out []*ModelVersion
	for st, v := range latest {
		if len(want) == 0 || want[st] {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return mustInt(out[i].Version) < mustInt(out[j].Version) })
	return out, s.fillVersions(ctx, out)
}

func (s *Store) versionTx(ctx context.Context, tx *sql.Tx, name string, version int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_model_versions WHERE name = $1 AND version = $2 AND deleted = 0`,
		name, version).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return versionNotFound(name, version)
	}
	return nil
}

// UpdateModelVersion sets a version's description.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*ModelVersion, error) {
	err := s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE mlflow_model_versions SET description = $1, last_updated_time = $2 WHERE name = $3 AND version = $4`,
			description, meta.NowMillis(), name, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetModelVersion(ctx, name, version)
}

// TransitionStage moves a version to a stage (None, Staging, Production, Archived), optionally archiving the
// other versions in that stage.
func (s *Store) TransitionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (*ModelVersion, error) {
	canon, ok := stages[strings.ToLower(stage)]
	if !ok {
		return nil, invalidf("Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", stage)
	}
	err := s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		now := meta.NowMillis()
		if archiveExisting && (canon == "Staging" || canon == "Production") {
			if _, err := tx.ExecContext(ctx, `UPDATE mlflow_model_versions SET current_stage = 'Archived', last_updated_time = $1
				WHERE name = $2 AND version <> $3 AND current_stage = $4 AND deleted = 0`, now, name, version, canon); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mlflow_model_versions SET current_stage = $1, last_updated_time = $2 WHERE name = $3 AND version = $4`,
			canon, now, name, version); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, now)
	})
	if err != nil {
		return nil, err
	}
	return s.GetModelVersion(ctx, name, version)
}

// DeleteModelVersion deletes a version and the aliases pointing at it. Version numbers are never reused.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		now := meta.NowMillis()
		rows, err := tx.QueryContext(ctx, `SELECT alias FROM mlflow_model_aliases WHERE name = $1 AND version = $2`, name, version)
		if err != nil {
			return err
		}
		var gone []string
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, a)
		}
		rows.Close()
		for _, a := range gone {
			if err := s.recordAlias(ctx, tx, name, a, nil, now); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM mlflow_model_aliases WHERE name = $1 AND version = $2`,
			`DELETE FROM mlflow_model_version_tags WHERE name = $1 AND version = $2`,
			`UPDATE mlflow_model_versions SET deleted = 1 WHERE name = $1 AND version = $2`} {
			if _, err := tx.ExecContext(ctx, q, name, version); err != nil {
				return err
			}
		}
		return s.touch(ctx, tx, name, now)
	})
}

// SetModelVersionTag sets a tag on a version.
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, t tracking.KeyValue) error {
	if err := validateTag(t); err != nil {
		return err
	}
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		return setKV(ctx, tx, "mlflow_model_version_tags", []string{"name", "version"}, []any{name, version}, t)
	})
}

// DeleteModelVersionTag removes a tag from a version.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM mlflow_model_version_tags WHERE name = $1 AND version = $2 AND key = $3`, name, version, key)
		return err
	})
}

// DownloadURI is where a version's files are: the resolved storage location, else the source.
func (s *Store) DownloadURI(ctx context.Context, name string, version int64) (string, error) {
	v, err := s.GetModelVersion(ctx, name, version)
	if err != nil {
		return "", err
	}
	if v.StorageLocation != "" {
		return v.StorageLocation, nil
	}
	return v.Source, nil
}
