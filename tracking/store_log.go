package tracking

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
)

// validateBatch applies MLflow's log-batch rules before anything is written.
func validateBatch(metrics []Metric, params, tags []KeyValue) error {
	for _, b := range []struct {
		name  string
		limit int
		n     int
	}{{"metrics", maxMetricsPerBatch, len(metrics)}, {"params", maxParamsTagsPerBatch, len(params)},
		{"tags", maxParamsTagsPerBatch, len(tags)}, {"metrics, params, and tags", maxEntitiesPerBatch, len(metrics) + len(params) + len(tags)}} {
		if b.n > b.limit {
			return invalidf("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.",
				b.limit, b.name, b.n, b.name, b.name)
		}
	}
	for _, m := range metrics {
		if err := validateKey("name", m.Key); err != nil {
			return err
		}
		if m.Timestamp < 0 {
			return invalidf("Invalid value %d for parameter 'timestamp' supplied: metric '%s'. Timestamp must be a nonnegative long (64-bit integer)", m.Timestamp, m.Key)
		}
	}
	seen := map[string]bool{}
	var dupes []string
	for _, p := range params {
		if err := validateParam(p); err != nil {
			return err
		}
		if seen[p.Key] {
			dupes = append(dupes, "'"+p.Key+"'")
		}
		seen[p.Key] = true
	}
	if len(dupes) > 0 {
		return invalidf("Duplicate parameter keys have been submitted: [%s]. Please ensure the request contains only one param value per param key.", strings.Join(dupes, ", "))
	}
	for _, t := range tags {
		if err := validateTag(t); err != nil {
			return err
		}
	}
	return nil
}

// LogBatch writes metrics, params and tags to an active run in one transaction: nothing is written if any
// part is rejected. Params are immutable (re-logging the same value is a no-op), tags are last-write-wins,
// identical metric points are stored once.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []Metric, params, tags []KeyValue) error {
	if err := validateBatch(metrics, params, tags); err != nil {
		return err
	}
	if len(metrics)+len(params)+len(tags) == 0 {
		_, err := s.runInfo(ctx, s.db.SQL, runID)
		return err
	}
	tags = lastWins(tags)
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		if err := s.logParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := s.logMetrics(ctx, tx, runID, metrics); err != nil {
			return err
		}
		for _, t := range tags {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_tags", []string{"run_id"}, []any{runID}, t); err != nil {
				return err
			}
			if t.Key == TagRunName {
				if _, err := tx.ExecContext(ctx, `UPDATE mlflow_runs SET name = $1 WHERE run_id = $2`, t.Value, runID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Store) logParams(ctx context.Context, tx *sql.Tx, runID string, params []KeyValue) error {
	if len(params) == 0 {
		return nil
	}
	keys := make([]string, len(params))
	for i, p := range params {
		keys[i] = p.Key
	}
	a := mlflowapi.SQLArgs{runID}
	existing, err := keyValues(ctx, tx, `SELECT run_id, key, value FROM mlflow_params WHERE run_id = $1 AND key IN `+a.List(keys), a...)
	if err != nil {
		return err
	}
	old := map[string]string{}
	for _, kv := range existing[runID] {
		old[kv.Key] = kv.Value
	}
	var changed []string
	var fresh []KeyValue
	for _, p := range params {
		v, ok := old[p.Key]
		switch {
		case !ok:
			fresh = append(fresh, p)
		case v != p.Value:
			changed = append(changed, fmt.Sprintf("{'key': '%s', 'old_value': '%s', 'new_value': '%s'}", p.Key, v, p.Value))
		}
	}
	if len(changed) > 0 {
		return invalidf("Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.", strings.Join(changed, ", "), runID)
	}
	return s.insertRows(ctx, tx, "mlflow_params (run_id, key, value)", "", len(fresh), func(i int, a *mlflowapi.SQLArgs) []string {
		return []string{a.P(runID), a.P(fresh[i].Key), a.P(fresh[i].Value)}
	})
}

// insertRows inserts n rows with multi-row VALUES statements of up to 500 rows. On SQLite the placeholders
// are rewritten to plain "?": SQLite resolves "$N" names by a linear search per parameter, which made a
// 1000-metric batch spend half its time parsing (profile of BenchmarkLogBatchStore).
func (s *Store) insertRows(ctx context.Context, tx queryer, into, suffix string, n int, row func(i int, a *mlflowapi.SQLArgs) []string) error {
	for start := 0; start < n; start += 500 {
		end := min(n, start+500)
		var a mlflowapi.SQLArgs
		vals := make([]string, 0, end-start)
		for i := start; i < end; i++ {
			vals = append(vals, "("+strings.Join(row(i, &a), ", ")+")")
		}
		q := "INSERT INTO " + into + " VALUES " + strings.Join(vals, ", ") + suffix
		if s.db.Dialect == meta.SQLite {
			q = questionParams(q)
		}
		if _, err := tx.ExecContext(ctx, q, a...); err != nil {
			return err
		}
	}
	return nil
}

type storedPoint struct {
	key   string
	ts    int64
	step  int64
	value float64
	isNaN int
}

// newer reports whether p is "later" than q in MLflow's sense: higher step, then timestamp, then value.
func (p storedPoint) newer(q storedPoint) bool {
	if p.step != q.step {
		return p.step > q.step
	}
	if p.ts != q.ts {
		return p.ts > q.ts
	}
	return p.value > q.value
}

func (s *Store) logMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	// Identical points are stored once (also within one batch: PostgreSQL refuses to upsert a row twice in one
	// statement). Re-logging a point with a model_id links it to that logged model, which is how the client
	// attaches a run's metrics to a model it just logged.
	var points []storedPoint
	var extra []Metric
	seen := map[storedPoint]int{}
	latest := map[string]storedPoint{}
	for _, m := range metrics {
		v, isNaN := storedMetric(float64(m.Value))
		p := storedPoint{key: m.Key, ts: m.Timestamp, step: m.Step, value: v, isNaN: isNaN}
		if i, ok := seen[p]; ok {
			if extra[i].ModelID == "" {
				extra[i].ModelID = m.ModelID
			}
			continue
		}
		seen[p] = len(points)
		points, extra = append(points, p), append(extra, m)
		if l, ok := latest[m.Key]; !ok || p.newer(l) {
			latest[m.Key] = p
		}
	}
	err := s.insertRows(ctx, tx, "mlflow_metrics (run_id, key, ts, step, value, is_nan, model_id, dataset_name, dataset_digest)",
		` ON CONFLICT (run_id, key, ts, step, value, is_nan) DO UPDATE SET model_id = COALESCE(mlflow_metrics.model_id, excluded.model_id),
		dataset_name = COALESCE(mlflow_metrics.dataset_name, excluded.dataset_name),
		dataset_digest = COALESCE(mlflow_metrics.dataset_digest, excluded.dataset_digest)`,
		len(points), func(i int, a *mlflowapi.SQLArgs) []string {
			p, m := points[i], extra[i]
			return []string{a.P(runID), a.P(p.key), a.P(p.ts), a.P(p.step), a.P(p.value), a.P(p.isNaN),
				a.P(nullStr(m.ModelID)), a.P(nullStr(m.DatasetName)), a.P(nullStr(m.DatasetDigest))}
		})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// The condition lives in the upsert, not in a prior read, so concurrent batches cannot regress it.
	return s.insertRows(ctx, tx, "mlflow_latest_metrics (run_id, key, ts, step, value, is_nan)",
		` ON CONFLICT (run_id, key) DO UPDATE SET ts = excluded.ts, step = excluded.step, value = excluded.value, is_nan = excluded.is_nan
		WHERE excluded.step > mlflow_latest_metrics.step
		OR (excluded.step = mlflow_latest_metrics.step AND excluded.ts > mlflow_latest_metrics.ts)
		OR (excluded.step = mlflow_latest_metrics.step AND excluded.ts = mlflow_latest_metrics.ts AND excluded.value > mlflow_latest_metrics.value)`,
		len(keys), func(i int, a *mlflowapi.SQLArgs) []string {
			p := latest[keys[i]]
			return []string{a.P(runID), a.P(p.key), a.P(p.ts), a.P(p.step), a.P(p.value), a.P(p.isNaN)}
		})
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DeleteTag removes a tag from an active run.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM mlflow_tags WHERE run_id = $1 AND key = $2`, runID, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFoundf("No tag with name: %s in run with id %s", key, runID)
		}
		return nil
	})
}

func validateDatasetInput(d DatasetInput) error {
	ds := d.Dataset
	for _, c := range []struct {
		field string
		n     int
		limit int
	}{{"name", len(ds.Name), maxDatasetName}, {"digest", len(ds.Digest), maxDatasetDigest}, {"source", len(ds.Source), maxDatasetSource},
		{"schema", len(ds.Schema), maxDatasetSchema}, {"profile", len(ds.Profile), maxDatasetProfile}} {
		if c.n > c.limit {
			return invalidf("'%s' exceeds the maximum length of %d characters", c.field, c.limit)
		}
	}
	if ds.Name == "" || ds.Digest == "" || ds.SourceType == "" || ds.Source == "" {
		return invalidf("A dataset needs a name, digest, source_type and source.")
	}
	for _, t := range d.Tags {
		if t.Key == "" {
			return mlflowapi.MissingParam("key")
		}
		if len(t.Key) > maxInputTagKey {
			return invalidf("'key' exceeds the maximum length of %d characters", maxInputTagKey)
		}
		if len(t.Value) > maxInputTagValue {
			return invalidf("'value' exceeds the maximum length of %d characters", maxInputTagValue)
		}
	}
	return nil
}

// LogInputs records the datasets (with input tags such as mlflow.data.context) and logged models a run used.
// A dataset is stored once per experiment by (name, digest): the digest is what names the exact data.
func (s *Store) LogInputs(ctx context.Context, runID string, datasets []DatasetInput, models []ModelInput) error {
	for _, d := range datasets {
		if err := validateDatasetInput(d); err != nil {
			return err
		}
	}
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		info, err := s.activeRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		for _, d := range datasets {
			if err := s.logDatasetInput(ctx, tx, info, d); err != nil {
				return err
			}
		}
		for _, m := range models {
			if m.ModelID == "" {
				return mlflowapi.MissingParam("model_id")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_inputs (input_id, source_type, source_id, run_id, step)
				VALUES ($1, 'MODEL', $2, $3, 0) ON CONFLICT DO NOTHING`, newID(), m.ModelID, runID); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) logDatasetInput(ctx context.Context, tx *sql.Tx, info RunInfo, d DatasetInput) error {
	ds := d.Dataset
	exp := mustInt(info.ExperimentID)
	var dsID string
	err := tx.QueryRowContext(ctx, `SELECT dataset_id FROM mlflow_datasets WHERE experiment_id = $1 AND name = $2 AND digest = $3`,
		exp, ds.Name, ds.Digest).Scan(&dsID)
	if err == sql.ErrNoRows {
		dsID = newID()
		_, err = tx.ExecContext(ctx, `INSERT INTO mlflow_datasets (dataset_id, experiment_id, name, digest, source_type, source,
			schema_json, profile) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, dsID, exp, ds.Name, ds.Digest, ds.SourceType, ds.Source,
			nullStr(ds.Schema), nullStr(ds.Profile))
	}
	if err != nil {
		return err
	}
	var inputID string
	err = tx.QueryRowContext(ctx, `SELECT input_id FROM mlflow_inputs WHERE source_type = 'DATASET' AND source_id = $1 AND run_id = $2`,
		dsID, info.RunID).Scan(&inputID)
	if err == sql.ErrNoRows {
		inputID = newID()
		_, err = tx.ExecContext(ctx, `INSERT INTO mlflow_inputs (input_id, source_type, source_id, run_id, step) VALUES ($1, 'DATASET', $2, $3, 0)`,
			inputID, dsID, info.RunID)
	}
	if err != nil {
		return err
	}
	for _, t := range lastWins(d.Tags) {
		if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_input_tags", []string{"input_id"}, []any{inputID}, t); err != nil {
			return err
		}
	}
	return nil
}

// LogOutputs records logged models a run produced.
func (s *Store) LogOutputs(ctx context.Context, runID string, outputs []ModelOutput) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		for _, o := range outputs {
			if o.ModelID == "" {
				return mlflowapi.MissingParam("model_id")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_run_outputs (run_id, model_id, step) VALUES ($1, $2, $3)
				ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step`, runID, o.ModelID, o.Step); err != nil {
				return err
			}
		}
		return nil
	})
}

// DatasetSummary is one (dataset, context) an experiment's runs used.
type DatasetSummary struct {
	ExperimentID string `json:"experiment_id"`
	Name         string `json:"name"`
	Digest       string `json:"digest"`
	Context      string `json:"context,omitempty"`
}

// SearchDatasets lists the distinct datasets (with their context tag) used by runs of the experiments.
func (s *Store) SearchDatasets(ctx context.Context, experimentIDs []string) ([]DatasetSummary, error) {
	var a mlflowapi.SQLArgs
	var ps []string
	for _, id := range experimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, err
		}
		ps = append(ps, a.P(n))
	}
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT DISTINCT d.experiment_id, d.name, d.digest, COALESCE(t.value, '')
		FROM mlflow_datasets d JOIN mlflow_inputs i ON i.source_type = 'DATASET' AND i.source_id = d.dataset_id
		LEFT JOIN mlflow_input_tags t ON t.input_id = i.input_id AND t.key = 'mlflow.data.context'
		WHERE d.experiment_id IN (`+strings.Join(ps, ", ")+`) ORDER BY d.experiment_id, d.name, d.digest LIMIT 1000`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DatasetSummary
	for rows.Next() {
		var d DatasetSummary
		var exp int64
		if err := rows.Scan(&exp, &d.Name, &d.Digest, &d.Context); err != nil {
			return nil, err
		}
		d.ExperimentID = fmt.Sprint(exp)
		out = append(out, d)
	}
	return out, rows.Err()
}

// questionParams rewrites the $N placeholders of generated SQL to "?" (SQLite's positional form). It is a plain
// scan: the regexp it replaced took a fifth of a 1000-metric log-batch (BenchmarkLogBatchStore profile).
func questionParams(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	for i := 0; i < len(q); i++ {
		if q[i] == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			b.WriteByte('?')
			for i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
