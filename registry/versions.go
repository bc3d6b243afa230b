package registry

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
)

// CreateModelVersionInput are the parameters of CreateModelVersion.
type CreateModelVersionInput struct {
	Name, Source, RunID, RunLink, Description, ModelID string
	Tags                                               []mlflowapi.KeyValue
}

// CreateModelVersion registers a new version (status READY). Its source is checked and resolved as MLflow's
// server does it (see resolveSource): a models:/<id> source to the logged model's artifact location (and its
// source run), a models:/<name>/<version> source to that version's, a runs:/<id>/<path> source to the run's
// artifacts. A failed create writes nothing.
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
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_model_version_tags", []string{"name", "version"}, []any{in.Name, version}, t); err != nil {
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

const versionCols = `name, version, creation_time, last_updated_time, description, user_id, current_stage, source,
	storage_location, run_id, run_link, status, status_message, model_id`

func scanVersion(sc interface{ Scan(...any) error }) (*ModelVersion, error) {
	var v ModelVersion
	var n int64
	if err := sc.Scan(&v.Name, &n, &v.CreationTimestamp, &v.LastUpdatedTimestamp, &v.Description, &v.UserID, &v.CurrentStage,
		&v.Source, &v.StorageLocation, &v.RunID, &v.RunLink, &v.Status, &v.StatusMessage, &v.ModelID); err != nil {
		return nil, err
	}
	v.Version, v.number = strconv.FormatInt(n, 10), n
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
		tags, err := s.kv(ctx, `SELECT key, value FROM mlflow_model_version_tags WHERE name = $1 AND version = $2 ORDER BY key`, v.Name, v.number)
		if err != nil {
			return err
		}
		v.Tags = tags
		rows, err := s.kv(ctx, `SELECT alias, '' FROM mlflow_model_aliases WHERE name = $1 AND version = $2 ORDER BY alias`, v.Name, v.number)
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
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
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
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, t mlflowapi.KeyValue) error {
	if err := validateTag(t); err != nil {
		return err
	}
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		return mlflowapi.UpsertKV(ctx, tx, "mlflow_model_version_tags", []string{"name", "version"}, []any{name, version}, t)
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
