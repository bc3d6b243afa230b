package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/strata-data/strata/meta"
)

func validateAlias(alias string) error {
	switch {
	case alias == "":
		return invalidf("Registered model alias name cannot be empty.")
	case !aliasRe.MatchString(alias):
		return invalidf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
	case len(alias) > 255:
		return invalidf("'Registered model alias name' exceeds the maximum length of 255 characters")
	case strings.EqualFold(alias, "latest"):
		return invalidf("'latest' alias name (case insensitive) is reserved.")
	case versionR.MatchString(alias):
		return invalidf("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// recordAlias appends an alias move (version nil = removed) to the alias history.
func (s *Store) recordAlias(ctx context.Context, tx *sql.Tx, name, alias string, version *int64, at int64) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM mlflow_model_alias_history WHERE name = $1 AND alias = $2`,
		name, alias).Scan(&seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mlflow_model_alias_history (name, alias, at_ms, seq, version) VALUES ($1, $2, $3, $4, $5)`,
		name, alias, at, seq, version)
	return err
}

// SetAlias points alias at a version (moving it if it pointed elsewhere).
func (s *Store) SetAlias(ctx context.Context, name, alias string, version int64) error {
	if err := validateAlias(alias); err != nil {
		return err
	}
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		if err := s.versionTx(ctx, tx, name, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_model_aliases (name, alias, version) VALUES ($1, $2, $3)
			ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`, name, alias, version); err != nil {
			return err
		}
		now := meta.NowMillis()
		if err := s.recordAlias(ctx, tx, name, alias, &version, now); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, now)
	})
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, name, alias string) error {
	return s.tracking.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM mlflow_model_aliases WHERE name = $1 AND alias = $2`, name, alias)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		now := meta.NowMillis()
		if err := s.recordAlias(ctx, tx, name, alias, nil, now); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, now)
	})
}

// ResolveAlias returns the version an alias points at now. A missing alias is INVALID_PARAMETER_VALUE, as in
// MLflow.
func (s *Store) ResolveAlias(ctx context.Context, name, alias string) (int64, error) {
	var v int64
	err := s.db.SQL.QueryRowContext(ctx, `SELECT version FROM mlflow_model_aliases WHERE name = $1 AND alias = $2`, name, alias).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.GetRegisteredModel(ctx, name); gerr != nil {
			return 0, gerr
		}
		return 0, invalidf("Registered model alias %s not found.", alias)
	}
	return v, err
}

// AliasAt returns the version alias pointed at at time atMs (unix ms), for releases that record what was live
// when they were published. ok is false if the alias pointed nowhere then.
func (s *Store) AliasAt(ctx context.Context, name, alias string, atMs int64) (version int64, ok bool, err error) {
	var v sql.NullInt64
	err = s.db.SQL.QueryRowContext(ctx, `SELECT version FROM mlflow_model_alias_history WHERE name = $1 AND alias = $2 AND at_ms <= $3
		ORDER BY at_ms DESC, seq DESC LIMIT 1`, name, alias, atMs).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return v.Int64, v.Valid, nil
}
