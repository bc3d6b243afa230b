package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
)

const maxExperimentNameLength = 500

func parseExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n < 0 {
		return 0, invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
	}
	return n, nil
}

func validateExperimentName(name string) error {
	if name == "" {
		return invalidf("Invalid experiment name: ''")
	}
	if len(name) > maxExperimentNameLength {
		return invalidf("'name' exceeds the maximum length of %d characters", maxExperimentNameLength)
	}
	return nil
}

// CreateExperiment creates an active experiment and returns its id. An empty artifactLocation means
// <default root>/<id>. A name already used (even by a deleted experiment) is RESOURCE_ALREADY_EXISTS.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []KeyValue) (string, error) {
	if err := validateExperimentName(name); err != nil {
		return "", err
	}
	for _, t := range tags {
		if err := validateExperimentTag(t.Key, t.Value); err != nil {
			return "", err
		}
	}
	var id int64
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_experiments WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mlflowapi.Errorf(ErrAlreadyExists, "Experiment(name=%s) already exists.", name)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM mlflow_experiments`).Scan(&id); err != nil {
			return err
		}
		loc := artifactLocation
		if loc == "" {
			loc = joinURI(s.root, strconv.FormatInt(id, 10))
		}
		now := meta.NowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_experiments (experiment_id, name, artifact_location,
			lifecycle_stage, creation_time, last_update_time) VALUES ($1, $2, $3, 'active', $4, $4)`, id, name, loc, now); err != nil {
			return err
		}
		for _, t := range tags {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_experiment_tags", []string{"experiment_id"}, []any{id}, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

const experimentCols = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

func scanExperiment(sc interface{ Scan(...any) error }) (*Experiment, error) {
	var e Experiment
	var id int64
	if err := sc.Scan(&id, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &e.CreationTime, &e.LastUpdateTime); err != nil {
		return nil, err
	}
	e.ExperimentID = strconv.FormatInt(id, 10)
	e.Workspace = "default"
	return &e, nil
}

func (s *Store) experimentTags(ctx context.Context, q queryer, exps []*Experiment) error {
	if len(exps) == 0 {
		return nil
	}
	var a mlflowapi.SQLArgs
	ids := make([]string, len(exps))
	for i, e := range exps {
		ids[i] = a.P(mustInt(e.ExperimentID))
	}
	tags, err := keyValues(ctx, q, `SELECT CAST(experiment_id AS TEXT), key, value FROM mlflow_experiment_tags
		WHERE experiment_id IN (`+strings.Join(ids, ", ")+`) ORDER BY key`, a...)
	if err != nil {
		return err
	}
	for _, e := range exps {
		e.Tags = tags[e.ExperimentID]
	}
	return nil
}

func mustInt(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// GetExperiment returns the experiment with the given id (active or deleted).
func (s *Store) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	return s.getExperiment(ctx, s.db.SQL, id)
}

func (s *Store) getExperiment(ctx context.Context, q queryer, id string) (*Experiment, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return nil, err
	}
	e, err := scanExperiment(q.QueryRowContext(ctx, `SELECT `+experimentCols+` FROM mlflow_experiments WHERE experiment_id = $1`, n))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("No Experiment with id=%s exists", id)
	}
	if err != nil {
		return nil, err
	}
	return e, s.experimentTags(ctx, q, []*Experiment{e})
}

// GetExperimentByName returns the experiment with the given name (deleted ones included, as MLflow does).
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	e, err := scanExperiment(s.db.SQL.QueryRowContext(ctx, `SELECT `+experimentCols+` FROM mlflow_experiments WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("Could not find experiment with name '%s'", name)
	}
	if err != nil {
		return nil, err
	}
	return e, s.experimentTags(ctx, s.db.SQL, []*Experiment{e})
}

// SetExperimentLifecycle deletes (stage "deleted") or restores (stage "active") an experiment. Deleting an
// experiment also marks its runs deleted, restoring restores them, as MLflow does.
func (s *Store) SetExperimentLifecycle(ctx context.Context, id, stage string) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if stage == StageActive && e.LifecycleStage == StageActive {
			return invalidf("Cannot restore an active experiment.")
		}
		now := meta.NowMillis()
		if _, err := tx.ExecContext(ctx, `UPDATE mlflow_experiments SET lifecycle_stage = $1, last_update_time = $2
			WHERE experiment_id = $3`, stage, now, mustInt(id)); err != nil {
			return err
		}
		from := StageActive
		var deleted any = now
		if stage == StageActive {
			from, deleted = StageDeleted, nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE mlflow_runs SET lifecycle_stage = $1, deleted_time = $2
			WHERE experiment_id = $3 AND lifecycle_stage = $4`, stage, deleted, mustInt(id), from)
		return err
	})
}

// RenameExperiment renames an active experiment.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := validateExperimentName(newName); err != nil {
		return err
	}
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return invalidf("Cannot rename a non-active experiment.")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mlflow_experiments WHERE name = $1 AND experiment_id <> $2`,
			newName, mustInt(id)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mlflowapi.Errorf(ErrAlreadyExists, "Experiment(name=%s) already exists.", newName)
		}
		_, err = tx.ExecContext(ctx, `UPDATE mlflow_experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3`,
			newName, meta.NowMillis(), mustInt(id))
		return err
	})
}

func validateExperimentTag(key, value string) error {
	if err := validateKey("key", key); err != nil {
		return err
	}
	if len(value) > 20000 {
		return invalidf("'value' exceeds the maximum length of 20000 characters")
	}
	return nil
}

// SetExperimentTag sets a tag on an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id, key, value string) error {
	if err := validateExperimentTag(key, value); err != nil {
		return err
	}
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return invalidf("The experiment %s must be in the 'active' state. Current state is %s.", id, e.LifecycleStage)
		}
		if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_experiment_tags", []string{"experiment_id"}, []any{mustInt(id)}, KeyValue{Key: key, Value: value}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mlflow_experiments SET last_update_time = $1 WHERE experiment_id = $2`, meta.NowMillis(), mustInt(id))
		return err
	})
}

// DeleteExperimentTag removes a tag from an active experiment.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return invalidf("The experiment %s must be in the 'active' state. Current state is %s.", id, e.LifecycleStage)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM mlflow_experiment_tags WHERE experiment_id = $1 AND key = $2`, mustInt(id), key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFoundf("No tag with name: %s in experiment with id %s", key, id)
		}
		return nil
	})
}

// ViewType selects active, deleted or all entities in a search.
type ViewType int

// View types (MLflow's numbers).
const (
	ActiveOnly  ViewType = 1
	DeletedOnly ViewType = 2
	AllViews    ViewType = 3
)

func (v ViewType) stages() []string {
	switch v {
	case DeletedOnly:
		return []string{StageDeleted}
	case AllViews:
		return []string{StageActive, StageDeleted}
	}
	return []string{StageActive}
}

// SearchExperimentsInput are the parameters of SearchExperiments.
type SearchExperimentsInput struct {
	Filter     string
	OrderBy    []string
	MaxResults int64
	PageToken  string
	ViewType   ViewType
}

var experimentAttrs = map[string]string{"name": "s", "experiment_id": "s", "creation_time": "n", "last_update_time": "n"}

// SearchExperiments lists experiments matching the filter, ordered (default creation_time DESC), one page at
// a time. The returned token is empty on the last page.
func (s *Store) SearchExperiments(ctx context.Context, in SearchExperimentsInput) ([]*Experiment, string, error) {
	if in.MaxResults <= 0 {
		in.MaxResults = 1000
	}
	if in.MaxResults > 50000 {
		return nil, "", invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most 50000", in.MaxResults)
	}
	srch, err := mlflowapi.NewSearch(in.Filter, in.PageToken, in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	var a mlflowapi.SQLArgs
	where := []string{"e.lifecycle_stage IN " + a.List(in.ViewType.stages())}
	for _, c := range srch.Clauses {
		w, err := s.experimentClause(in.Filter, c, &a)
		if err != nil {
			return nil, "", err
		}
		where = append(where, w)
	}
	order, err := experimentOrder(in.OrderBy)
	if err != nil {
		return nil, "", err
	}
	q := fmt.Sprintf(`SELECT %s FROM mlflow_experiments e WHERE %s ORDER BY %s %s`,
		prefixCols("e.", experimentCols), strings.Join(where, " AND "), order, srch.LimitOffset(&a))
	rows, err := s.db.SQL.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*Experiment
	for rows.Next() {
		e, err := scanExperiment(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := mlflowapi.Paginate(srch, out)
	return out, next, s.experimentTags(ctx, s.db.SQL, out)
}

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func (s *Store) experimentClause(filter string, c mlflowapi.Clause, a *mlflowapi.SQLArgs) (string, error) {
	switch c.Type {
	case "attribute":
		kind, ok := experimentAttrs[c.Key]
		if !ok {
			return "", mlflowapi.ClauseError(filter, c, "invalid attribute key '%s'; valid keys are name, experiment_id, creation_time, last_update_time", c.Key)
		}
		if c.Key == "experiment_id" {
			if c.Op != "=" && c.Op != "!=" && c.Op != "IN" && c.Op != "NOT IN" {
				return "", mlflowapi.ClauseError(filter, c, "invalid comparator '%s' for experiment_id", c.Op)
			}
			ids := c.List
			if c.Op == "=" || c.Op == "!=" {
				ids = []string{c.Str}
				if c.IsNum {
					ids = []string{c.Text}
				}
			}
			var ps []string
			for _, id := range ids {
				n, err := parseExperimentID(id)
				if err != nil {
					return "", err
				}
				ps = append(ps, a.P(n))
			}
			op := map[string]string{"=": "IN", "!=": "NOT IN"}[c.Op]
			if op == "" {
				op = c.Op
			}
			if len(ps) == 0 {
				return map[bool]string{true: "1 = 0", false: "1 = 1"}[op == "IN"], nil
			}
			return "e.experiment_id " + op + " (" + strings.Join(ps, ", ") + ")", nil
		}
		if kind == "n" {
			if !c.IsNum || !mlflowapi.IsComparison(c.Op) || strings.ContainsAny(c.Text, ".eE") {
				return "", mlflowapi.ClauseError(filter, c, "'%s' takes an integer and one of = != < <= > >=", c.Key)
			}
			return mlflowapi.Compare(s.db.Dialect, "e."+c.Key, c, int64(c.Num), a), nil
		}
		if c.IsNum || !mlflowapi.IsStringOp(c.Op) {
			return "", mlflowapi.ClauseError(filter, c, "'%s' takes a quoted string and one of = != LIKE ILIKE", c.Key)
		}
		return mlflowapi.Compare(s.db.Dialect, "e."+c.Key, c, c.Str, a), nil
	case "tag":
		return mlflowapi.TagClause(s.db.Dialect, filter, c, "mlflow_experiment_tags t", "t.experiment_id = e.experiment_id", a, false)
	}
	return "", mlflowapi.ClauseError(filter, c, "invalid entity type '%s' for experiments; use attribute or tag", c.Type)
}

func experimentOrder(orderBy []string) (string, error) {
	var parts []string
	hasID := false
	for _, o := range orderBy {
		key, asc, err := mlflowapi.ParseOrderBy(o)
		if err != nil {
			return "", err
		}
		typ, k, dotted := strings.Cut(key, ".")
		if dotted {
			if t, _ := mlflowapi.EntityType(typ); t != "attribute" {
				return "", invalidf("Invalid order_by entity: %s", typ)
			}
			key = k
		}
		if _, ok := experimentAttrs[key]; !ok {
			return "", invalidf("Invalid order by key '%s' specified. Valid keys are name, experiment_id, creation_time, last_update_time", key)
		}
		hasID = hasID || key == "experiment_id"
		parts = append(parts, "e."+key+mlflowapi.Dir(asc))
	}
	if len(parts) == 0 {
		parts = []string{"e.creation_time DESC"}
	}
	if !hasID {
		parts = append(parts, "e.experiment_id ASC")
	}
	return strings.Join(parts, ", "), nil
}
