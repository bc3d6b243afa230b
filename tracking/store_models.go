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

// Logged model statuses by name.
const (
	ModelPending      = "LOGGED_MODEL_PENDING"
	ModelReady        = "LOGGED_MODEL_READY"
	ModelUploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"
)

var loggedModelNumbers = map[string]int64{"LOGGED_MODEL_STATUS_UNSPECIFIED": 0, ModelPending: 1, ModelReady: 2, ModelUploadFailed: 3}

// ParseLoggedModelStatus accepts a status name or its proto number.
func ParseLoggedModelStatus(v string) (string, error) {
	if _, ok := loggedModelNumbers[v]; ok {
		return v, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if name, ok := loggedModelStatuses[n]; ok {
			return name, nil
		}
	}
	return "", invalidf("Invalid value %s for parameter 'status' supplied.", quoteJSON(v))
}

// CreateLoggedModelInput are the parameters of CreateLoggedModel.
type CreateLoggedModelInput struct {
	ExperimentID string
	Name         string
	ModelType    string
	SourceRunID  string
	Params       []KeyValue
	Tags         []KeyValue
}

// CreateLoggedModel creates a PENDING logged model whose artifacts live under
// <experiment artifact location>/models/<model_id>/artifacts.
func (s *Store) CreateLoggedModel(ctx context.Context, in CreateLoggedModelInput) (*LoggedModel, error) {
	for _, p := range in.Params {
		if err := validateParam(p); err != nil {
			return nil, err
		}
	}
	for _, t := range in.Tags {
		if err := validateTag(t); err != nil {
			return nil, err
		}
	}
	if in.Name == "" {
		in.Name = randomRunName()
	}
	id := "m-" + newID()
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		exp, err := s.getExperiment(ctx, tx, in.ExperimentID)
		if err != nil {
			return err
		}
		if exp.LifecycleStage != StageActive {
			return invalidf("The experiment %s must be in the 'active' state. Current state is %s.", exp.ExperimentID, exp.LifecycleStage)
		}
		if in.SourceRunID != "" {
			if _, err := s.runInfo(ctx, tx, in.SourceRunID); err != nil {
				return err
			}
		}
		now := meta.NowMillis()
		loc := joinURI(exp.ArtifactLocation, "models/"+id+"/artifacts")
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_logged_models (model_id, experiment_id, name, artifact_location,
			creation_time, last_updated_time, status, lifecycle_stage, model_type, source_run_id)
			VALUES ($1, $2, $3, $4, $5, $5, 1, 'active', $6, $7)`, id, mustInt(exp.ExperimentID), in.Name, loc, now,
			nullStr(in.ModelType), nullStr(in.SourceRunID)); err != nil {
			return err
		}
		for _, p := range lastWins(in.Params) {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_logged_model_params", []string{"model_id"}, []any{id}, p); err != nil {
				return err
			}
		}
		for _, t := range lastWins(in.Tags) {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_logged_model_tags", []string{"model_id"}, []any{id}, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetLoggedModel(ctx, id, false)
}

const loggedModelCols = `model_id, experiment_id, name, artifact_location, creation_time, last_updated_time, status,
	lifecycle_stage, COALESCE(model_type, ''), COALESCE(source_run_id, ''), COALESCE(status_message, '')`

const loggedModelColsLM = `lm.model_id, lm.experiment_id, lm.name, lm.artifact_location, lm.creation_time,
	lm.last_updated_time, lm.status, lm.lifecycle_stage, COALESCE(lm.model_type, ''), COALESCE(lm.source_run_id, ''),
	COALESCE(lm.status_message, '')`

func scanLoggedModel(sc interface{ Scan(...any) error }) (*LoggedModel, error) {
	var m LoggedModel
	var exp, status int64
	i := &m.Info
	if err := sc.Scan(&i.ModelID, &exp, &i.Name, &i.ArtifactURI, &i.CreationTimestampMs, &i.LastUpdatedTimestampMs, &status,
		&i.LifecycleStage, &i.ModelType, &i.SourceRunID, &i.StatusMessage); err != nil {
		return nil, err
	}
	i.ExperimentID, i.Status = strconv.FormatInt(exp, 10), loggedModelStatuses[status]
	return &m, nil
}

// GetLoggedModel returns a logged model with its tags, params and metrics. Deleted models are not found
// unless allowDeleted.
func (s *Store) GetLoggedModel(ctx context.Context, id string, allowDeleted bool) (*LoggedModel, error) {
	m, err := scanLoggedModel(s.db.SQL.QueryRowContext(ctx, `SELECT `+loggedModelCols+` FROM mlflow_logged_models WHERE model_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !allowDeleted && m.Info.LifecycleStage != StageActive {
		return nil, notFoundf("Logged model with ID '%s' not found.", id)
	}
	if err != nil {
		return nil, err
	}
	return m, s.loadModelData(ctx, []*LoggedModel{m})
}

// LoggedModelLocation returns where a (not deleted) logged model keeps its artifacts and the run that
// produced it ("" if none), without loading its data. An unknown or deleted model is ErrNotFound.
func (s *Store) LoggedModelLocation(ctx context.Context, id string) (artifactURI, sourceRunID string, err error) {
	m, err := scanLoggedModel(s.db.SQL.QueryRowContext(ctx, `SELECT `+loggedModelCols+` FROM mlflow_logged_models WHERE model_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && m.Info.LifecycleStage != StageActive {
		return "", "", notFoundf("Logged model with ID '%s' not found.", id)
	}
	if err != nil {
		return "", "", err
	}
	return m.Info.ArtifactURI, m.Info.SourceRunID, nil
}

func (s *Store) loadModelData(ctx context.Context, models []*LoggedModel) error {
	if len(models) == 0 {
		return nil
	}
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = m.Info.ModelID
	}
	var a mlflowapi.SQLArgs
	in := a.List(ids)
	tags, err := keyValues(ctx, s.db.SQL, `SELECT model_id, key, value FROM mlflow_logged_model_tags WHERE model_id IN `+in+` ORDER BY key`, a...)
	if err != nil {
		return err
	}
	params, err := keyValues(ctx, s.db.SQL, `SELECT model_id, key, value FROM mlflow_logged_model_params WHERE model_id IN `+in+` ORDER BY key`, a...)
	if err != nil {
		return err
	}
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT model_id, key, value, is_nan, ts, step, run_id, COALESCE(dataset_name, ''),
		COALESCE(dataset_digest, '') FROM mlflow_metrics WHERE model_id IN `+in+` ORDER BY key, ts, step`, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	metrics := map[string][]Metric{}
	for rows.Next() {
		var m Metric
		var v float64
		var isNaN int
		if err := rows.Scan(&m.ModelID, &m.Key, &v, &isNaN, &m.Timestamp, &m.Step, &m.RunID, &m.DatasetName, &m.DatasetDigest); err != nil {
			return err
		}
		m.Value = Float(v)
		if isNaN != 0 {
			m.Value = Float(nan())
		}
		metrics[m.ModelID] = append(metrics[m.ModelID], m)
	}
	for _, m := range models {
		m.Info.Tags, m.Data.Params, m.Data.Metrics = tags[m.Info.ModelID], params[m.Info.ModelID], metrics[m.Info.ModelID]
	}
	return rows.Err()
}

func (s *Store) touchModel(ctx context.Context, tx *sql.Tx, id string) error {
	var stage string
	err := tx.QueryRowContext(ctx, `SELECT lifecycle_stage FROM mlflow_logged_models WHERE model_id = $1`, id).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) || err == nil && stage != StageActive {
		return notFoundf("Logged model with ID '%s' not found.", id)
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE mlflow_logged_models SET last_updated_time = $1 WHERE model_id = $2`, meta.NowMillis(), id)
	return err
}

// FinalizeLoggedModel sets a logged model's status (READY or UPLOAD_FAILED).
func (s *Store) FinalizeLoggedModel(ctx context.Context, id, status string) (*LoggedModel, error) {
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.touchModel(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE mlflow_logged_models SET status = $1 WHERE model_id = $2`, loggedModelNumbers[status], id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetLoggedModel(ctx, id, false)
}

// DeleteLoggedModel marks a logged model deleted.
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.touchModel(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE mlflow_logged_models SET lifecycle_stage = 'deleted' WHERE model_id = $1`, id)
		return err
	})
}

// SetLoggedModelTags sets tags on a logged model.
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []KeyValue) error {
	for _, t := range tags {
		if err := validateTag(t); err != nil {
			return err
		}
	}
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.touchModel(ctx, tx, id); err != nil {
			return err
		}
		for _, t := range lastWins(tags) {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_logged_model_tags", []string{"model_id"}, []any{id}, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteLoggedModelTag removes a tag from a logged model.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, key string) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.touchModel(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM mlflow_logged_model_tags WHERE model_id = $1 AND key = $2`, id, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFoundf("No tag with key '%s' found for model with ID '%s'.", key, id)
		}
		return nil
	})
}

// LogLoggedModelParams adds params to a logged model (immutable like run params).
func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []KeyValue) error {
	for _, p := range params {
		if err := validateParam(p); err != nil {
			return err
		}
	}
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.touchModel(ctx, tx, id); err != nil {
			return err
		}
		for _, p := range lastWins(params) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_logged_model_params (model_id, key, value) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, id, p.Key, p.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

// SearchLoggedModelsInput are the parameters of SearchLoggedModels.
type SearchLoggedModelsInput struct {
	ExperimentIDs []string
	Filter        string
	MaxResults    int64
	OrderBy       []ModelOrder
	PageToken     string
}

// ModelOrder is one order_by entry of a logged-model search.
type ModelOrder struct {
	Field     string
	Ascending bool
}

var modelAttrColumns = map[string]struct {
	col     string
	numeric bool
}{
	"name": {"lm.name", false}, "model_id": {"lm.model_id", false}, "model_type": {"lm.model_type", false},
	"source_run_id": {"lm.source_run_id", false}, "status": {"lm.status", false},
	"creation_timestamp": {"lm.creation_time", true}, "creation_time": {"lm.creation_time", true},
	"last_updated_timestamp": {"lm.last_updated_time", true}, "last_updated_time": {"lm.last_updated_time", true},
}

// SearchLoggedModels finds active logged models in the experiments by attributes, tags, params and metrics.
func (s *Store) SearchLoggedModels(ctx context.Context, in SearchLoggedModelsInput) ([]*LoggedModel, string, error) {
	if in.MaxResults <= 0 || in.MaxResults > 1000 {
		in.MaxResults = 100
	}
	srch, err := mlflowapi.NewSearch(in.Filter, in.PageToken, in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	var a mlflowapi.SQLArgs
	var exps []string
	for _, id := range in.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, "", err
		}
		exps = append(exps, a.P(n))
	}
	if len(exps) == 0 {
		return nil, "", mlflowapi.MissingParam("experiment_ids")
	}
	where := []string{"lm.experiment_id IN (" + strings.Join(exps, ", ") + ")", "lm.lifecycle_stage = 'active'"}
	for _, c := range srch.Clauses {
		w, err := s.modelClause(in.Filter, c, &a)
		if err != nil {
			return nil, "", err
		}
		where = append(where, w)
	}
	var order []string
	for _, o := range in.OrderBy {
		attr, ok := modelAttrColumns[o.Field]
		if !ok {
			return nil, "", invalidf("Invalid order by field '%s'", o.Field)
		}
		order = append(order, attr.col+mlflowapi.Dir(o.Ascending))
	}
	order = append(order, "lm.creation_time DESC", "lm.model_id")
	q := fmt.Sprintf(`SELECT %s FROM mlflow_logged_models lm WHERE %s ORDER BY %s %s`,
		loggedModelColsLM, strings.Join(where, " AND "), strings.Join(order, ", "), srch.LimitOffset(&a))
	rows, err := s.db.SQL.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", err
	}
	var out []*LoggedModel
	for rows.Next() {
		m, err := scanLoggedModel(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := mlflowapi.Paginate(srch, out)
	return out, next, s.loadModelData(ctx, out)
}

func (s *Store) modelClause(filter string, c mlflowapi.Clause, a *mlflowapi.SQLArgs) (string, error) {
	d := s.db.Dialect
	switch c.Type {
	case "attribute":
		attr, ok := modelAttrColumns[c.Key]
		if !ok {
			return "", mlflowapi.ClauseError(filter, c, "invalid attribute key '%s' for logged models", c.Key)
		}
		if attr.numeric {
			if !c.IsNum || !mlflowapi.IsComparison(c.Op) {
				return "", mlflowapi.ClauseError(filter, c, "'%s' takes a number and one of = != < <= > >=", c.Key)
			}
			return mlflowapi.Compare(d, attr.col, c, int64(c.Num), a), nil
		}
		if c.Key == "status" {
			st, err := ParseLoggedModelStatus(c.Str)
			if err != nil || (c.Op != "=" && c.Op != "!=") {
				return "", mlflowapi.ClauseError(filter, c, "status takes = or != and a status name")
			}
			return fmt.Sprintf("lm.status %s %s", c.Op, a.P(loggedModelNumbers[st])), nil
		}
		if c.IsNum || (!mlflowapi.IsStringOp(c.Op) && c.Op != "IN" && c.Op != "NOT IN") {
			return "", mlflowapi.ClauseError(filter, c, "'%s' takes a quoted string and one of = != LIKE ILIKE IN NOT IN", c.Key)
		}
		return mlflowapi.Compare(d, attr.col, c, c.Str, a), nil
	case "tag":
		return mlflowapi.TagClause(d, filter, c, "mlflow_logged_model_tags t", "t.model_id = lm.model_id", a, false)
	case "parameter":
		return mlflowapi.TagClause(d, filter, c, "mlflow_logged_model_params t", "t.model_id = lm.model_id", a, false)
	case "metric":
		if !c.IsNum || !mlflowapi.IsComparison(c.Op) {
			return "", mlflowapi.ClauseError(filter, c, "metric '%s' takes a number and one of = != < <= > >=", c.Key)
		}
		return fmt.Sprintf("EXISTS (SELECT 1 FROM mlflow_metrics m WHERE m.model_id = lm.model_id AND m.key = %s AND m.is_nan = 0 AND m.value %s %s)",
			a.P(c.Key), c.Op, a.P(c.Num)), nil
	}
	return "", mlflowapi.ClauseError(filter, c, "invalid entity type '%s' for logged models", c.Type)
}
