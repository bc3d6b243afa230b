package tracking

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/strata-data/strata/mlflowapi"
)

func (h *Handler) runRoutes(r chi.Router) {
	h.api.Mount(r, "/runs/create", h.createRun, post)
	h.api.Mount(r, "/runs/get", h.getRun, get)
	h.api.Mount(r, "/runs/update", h.updateRun, post)
	h.api.Mount(r, "/runs/delete", h.lifecycleRun(StageDeleted), post)
	h.api.Mount(r, "/runs/restore", h.lifecycleRun(StageActive), post)
	h.api.Mount(r, "/runs/search", h.searchRuns, post, get)
	h.api.Mount(r, "/runs/log-metric", h.logMetric, post)
	h.api.Mount(r, "/runs/log-parameter", h.logParam, post)
	h.api.Mount(r, "/runs/set-tag", h.setTag, post)
	h.api.Mount(r, "/runs/delete-tag", h.deleteTag, post)
	h.api.Mount(r, "/runs/log-batch", h.logBatch, post)
	h.api.Mount(r, "/runs/log-inputs", h.logInputs, post)
	h.api.Mount(r, "/runs/outputs", h.logOutputs, post)
	h.api.Mount(r, "/runs/log-model", h.logModelHistory, post)
	h.api.Mount(r, "/metrics/get-history", h.getMetricHistory, get)
	h.api.Mount(r, "/metrics/get-history-bulk-interval", h.getMetricHistoryBulkInterval, get)
	h.api.Mount(r, "/metrics/get-history-bulk", h.getMetricHistoryBulk, get)
}

// runID reads run_id, falling back to the legacy run_uuid.
func runID(req *mlflowapi.Request) (string, error) {
	for _, f := range []string{"run_id", "run_uuid"} {
		if req.Has(f) {
			id, err := req.String(f)
			if err != nil {
				return "", err
			}
			if id != "" {
				return id, validateRunID(id)
			}
		}
	}
	return "", mlflowapi.MissingParam("run_id")
}

func (h *Handler) createRun(r *http.Request, req *mlflowapi.Request) (any, error) {
	var in CreateRunInput
	var err error
	if in.ExperimentID, err = req.String("experiment_id"); err != nil {
		return nil, err
	}
	if in.UserID, err = req.String("user_id"); err != nil {
		return nil, err
	}
	if in.RunName, err = req.String("run_name"); err != nil {
		return nil, err
	}
	if in.StartTime, _, err = req.Int64("start_time"); err != nil {
		return nil, err
	}
	if in.Tags, err = req.KeyValues("tags"); err != nil {
		return nil, err
	}
	run, err := h.store.CreateRun(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": run}, nil
}

func (h *Handler) getRun(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": run}, nil
}

func (h *Handler) updateRun(r *http.Request, req *mlflowapi.Request) (any, error) {
	var in UpdateRunInput
	var err error
	if in.RunID, err = runID(req); err != nil {
		return nil, err
	}
	if req.Has("status") {
		s, _ := req.Text("status")
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			s = runStatusByNumber[n]
		}
		in.Status = s
		if !runStatuses[s] {
			raw, _ := req.Raw("status")
			return nil, mlflowapi.InvalidValue("status", raw)
		}
	}
	if end, ok, err := req.Int64("end_time"); err != nil {
		return nil, err
	} else if ok {
		in.EndTime = &end
	}
	if in.RunName, err = req.String("run_name"); err != nil {
		return nil, err
	}
	info, err := h.store.UpdateRun(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run_info": info}, nil
}

func (h *Handler) lifecycleRun(stage string) mlflowapi.Call {
	return func(r *http.Request, req *mlflowapi.Request) (any, error) {
		id, err := runID(req)
		if err != nil {
			return nil, err
		}
		return nil, h.store.SetRunLifecycle(r.Context(), id, stage)
	}
}

func (h *Handler) searchRuns(r *http.Request, req *mlflowapi.Request) (any, error) {
	ids, err := req.Strings("experiment_ids")
	if err != nil {
		return nil, err
	}
	p, err := req.SearchPage()
	if err != nil {
		return nil, err
	}
	in := SearchRunsInput{ExperimentIDs: ids, Filter: p.Filter, PageToken: p.PageToken, OrderBy: p.OrderBy, MaxResults: p.MaxResults}
	if in.ViewType, err = viewType(req, "run_view_type"); err != nil {
		return nil, err
	}
	runs, next, err := h.store.SearchRuns(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return struct {
		Runs          []*Run `json:"runs,omitempty"`
		NextPageToken string `json:"next_page_token,omitempty"`
	}{runs, next}, nil
}

// metricFrom reads one metric message; timestamp and value are required, step defaults to 0.
func metricFrom(o *mlflowapi.Request) (Metric, error) {
	var m Metric
	var err error
	if m.Key, err = o.RequiredString("key"); err != nil {
		return m, err
	}
	v, ok, err := o.Float("value")
	if err != nil {
		return m, err
	}
	if !ok {
		return m, mlflowapi.MissingParam("value")
	}
	m.Value = Float(v)
	ts, ok, err := o.Int64("timestamp")
	if err != nil {
		return m, err
	}
	if !ok {
		return m, mlflowapi.MissingParam("timestamp")
	}
	m.Timestamp = ts
	if m.Step, _, err = o.Int64("step"); err != nil {
		return m, err
	}
	if m.ModelID, err = o.String("model_id"); err != nil {
		return m, err
	}
	if m.DatasetName, err = o.String("dataset_name"); err != nil {
		return m, err
	}
	if m.DatasetDigest, err = o.String("dataset_digest"); err != nil {
		return m, err
	}
	return m, nil
}

func (h *Handler) logMetric(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	m, err := metricFrom(req)
	if err != nil {
		return nil, err
	}
	return nil, h.store.LogBatch(r.Context(), id, []Metric{m}, nil, nil)
}

func (h *Handler) logParam(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	key, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	value, err := req.Text("value")
	if err != nil {
		return nil, err
	}
	return nil, h.store.LogBatch(r.Context(), id, nil, []KeyValue{{Key: key, Value: value}}, nil)
}

func (h *Handler) setTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	key, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	value, err := req.String("value")
	if err != nil {
		return nil, err
	}
	return nil, h.store.LogBatch(r.Context(), id, nil, nil, []KeyValue{{Key: key, Value: value}})
}

func (h *Handler) deleteTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	key, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteTag(r.Context(), id, key)
}

func (h *Handler) logBatch(r *http.Request, req *mlflowapi.Request) (any, error) {
	if req.Size() > maxBatchRequestBytes {
		return nil, invalidf("Batched logging API requests must be at most %d bytes, got a request of size %d.", maxBatchRequestBytes, req.Size())
	}
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	metrics, ok := fastMetrics(req)
	if !ok {
		if metrics, err = batchMetrics(req); err != nil {
			return nil, err
		}
	}
	params, err := req.KeyValues("params")
	if err != nil {
		return nil, err
	}
	tags, err := req.KeyValues("tags")
	if err != nil {
		return nil, err
	}
	return nil, h.store.LogBatch(r.Context(), id, metrics, params, tags)
}

// batchMetrics reads log-batch metrics field by field, with MLflow's error for each kind of bad value.
func batchMetrics(req *mlflowapi.Request) ([]Metric, error) {
	objs, err := req.Objects("metrics")
	if err != nil {
		return nil, err
	}
	metrics := make([]Metric, 0, len(objs))
	for _, o := range objs {
		m, err := metricFrom(o)
		if err != nil {
			return nil, err
		}
		metrics = append(metrics, m)
	}
	return metrics, nil
}

// wireMetric is a log-batch metric as the client sends it in the common case: numbers as JSON numbers.
type wireMetric struct {
	Key           *string  `json:"key"`
	Value         *float64 `json:"value"`
	Timestamp     *int64   `json:"timestamp"`
	Step          *int64   `json:"step"`
	ModelID       string   `json:"model_id"`
	DatasetName   string   `json:"dataset_name"`
	DatasetDigest string   `json:"dataset_digest"`
}

// fastMetrics decodes the metrics of a well-formed batch in one pass (the field-by-field path was a fifth of a
// 1000-metric log-batch). Anything unusual — NaN/Infinity strings, int64s as strings, missing or mistyped
// fields — returns ok=false, and batchMetrics then produces MLflow's exact result or error.
func fastMetrics(req *mlflowapi.Request) ([]Metric, bool) {
	raw, ok := req.Raw("metrics")
	if !ok {
		return nil, false
	}
	var in []wireMetric
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, false
	}
	out := make([]Metric, len(in))
	for i, w := range in {
		if w.Key == nil || w.Value == nil || w.Timestamp == nil {
			return nil, false
		}
		out[i] = Metric{Key: *w.Key, Value: Float(*w.Value), Timestamp: *w.Timestamp, ModelID: w.ModelID,
			DatasetName: w.DatasetName, DatasetDigest: w.DatasetDigest}
		if w.Step != nil {
			out[i].Step = *w.Step
		}
	}
	return out, true
}

func (h *Handler) logInputs(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	if !req.Has("datasets") && !req.Has("models") {
		return nil, mlflowapi.MissingParam("datasets")
	}
	objs, err := req.Objects("datasets")
	if err != nil {
		return nil, err
	}
	var datasets []DatasetInput
	for _, o := range objs {
		var d DatasetInput
		if d.Tags, err = o.KeyValues("tags"); err != nil {
			return nil, err
		}
		ds, err := o.Object("dataset")
		if err != nil {
			return nil, err
		}
		if ds == nil {
			return nil, mlflowapi.MissingParam("dataset")
		}
		for field, dst := range map[string]*string{"name": &d.Dataset.Name, "digest": &d.Dataset.Digest, "source_type": &d.Dataset.SourceType,
			"source": &d.Dataset.Source, "schema": &d.Dataset.Schema, "profile": &d.Dataset.Profile} {
			if *dst, err = ds.String(field); err != nil {
				return nil, err
			}
		}
		datasets = append(datasets, d)
	}
	mobjs, err := req.Objects("models")
	if err != nil {
		return nil, err
	}
	var models []ModelInput
	for _, o := range mobjs {
		mid, err := o.RequiredString("model_id")
		if err != nil {
			return nil, err
		}
		models = append(models, ModelInput{ModelID: mid})
	}
	return nil, h.store.LogInputs(r.Context(), id, datasets, models)
}

func (h *Handler) logOutputs(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	objs, err := req.Objects("models")
	if err != nil {
		return nil, err
	}
	var outs []ModelOutput
	for _, o := range objs {
		var m ModelOutput
		if m.ModelID, err = o.RequiredString("model_id"); err != nil {
			return nil, err
		}
		if m.Step, _, err = o.Int64("step"); err != nil {
			return nil, err
		}
		outs = append(outs, m)
	}
	return nil, h.store.LogOutputs(r.Context(), id, outs)
}

// logModelHistory is MLflow 2's runs/log-model: it appends the MLmodel JSON to the run's
// mlflow.log-model.history tag.
func (h *Handler) logModelHistory(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	text, err := req.RequiredString("model_json")
	if err != nil {
		return nil, err
	}
	var model map[string]any
	if err := json.Unmarshal([]byte(text), &model); err != nil {
		return nil, invalidf("Malformed model info. \n %s \n is not a valid JSON.", text)
	}
	for _, f := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
		if _, ok := model[f]; !ok {
			return nil, invalidf("Model json is missing mandatory fields: ['%s']", f)
		}
	}
	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	var history []any
	for _, t := range run.Data.Tags {
		if t.Key == "mlflow.log-model.history" {
			_ = json.Unmarshal([]byte(t.Value), &history)
		}
	}
	b, _ := json.Marshal(append(history, model))
	return nil, h.store.LogBatch(r.Context(), id, nil, nil, []KeyValue{{Key: "mlflow.log-model.history", Value: string(b)}})
}

func (h *Handler) getMetricHistory(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	key, err := req.RequiredString("metric_key")
	if err != nil {
		return nil, err
	}
	max, _, err := req.Int64("max_results")
	if err != nil {
		return nil, err
	}
	tok, err := req.String("page_token")
	if err != nil {
		return nil, err
	}
	metrics, next, err := h.store.GetMetricHistory(r.Context(), id, key, max, tok)
	if err != nil {
		return nil, err
	}
	for i := range metrics {
		metrics[i].RunID = ""
	}
	return rawJSON(appendMetricList(nil, metrics, next)), nil
}

func (h *Handler) getMetricHistoryBulkInterval(r *http.Request, req *mlflowapi.Request) (any, error) {
	ids, err := req.Strings("run_ids")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, mlflowapi.MissingParam("run_ids")
	}
	if len(ids) > MaxBulkRuns {
		return nil, invalidf("GetMetricHistoryBulkInterval request must specify at most %d run_ids. Received %d run_ids.", MaxBulkRuns, len(ids))
	}
	key, err := req.RequiredString("metric_key")
	if err != nil {
		return nil, err
	}
	max, ok, err := req.Int64("max_results")
	if err != nil {
		return nil, err
	}
	if !ok {
		max = MaxBulkPoints
	}
	if max < 1 || max > MaxBulkPoints {
		return nil, invalidf("max_results must be between 1 and %d.", MaxBulkPoints)
	}
	start, hasStart, err := req.Int64("start_step")
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := req.Int64("end_step")
	if err != nil {
		return nil, err
	}
	if hasStart != hasEnd {
		return nil, invalidf("If either start step or end step are specified, both must be specified.")
	}
	var sp, ep *int64
	if hasStart {
		if start > end {
			return nil, invalidf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", start, end)
		}
		sp, ep = &start, &end
	}
	metrics, err := h.store.GetMetricHistoryBulkInterval(r.Context(), ids, key, max, sp, ep)
	if err != nil {
		return nil, err
	}
	return rawJSON(appendMetricList(nil, metrics, "")), nil
}

func (h *Handler) getMetricHistoryBulk(r *http.Request, req *mlflowapi.Request) (any, error) {
	ids, err := req.Strings("run_id")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, mlflowapi.MissingParam("run_id")
	}
	if len(ids) > MaxBulkRuns {
		return nil, invalidf("GetMetricHistoryBulk request cannot specify more than %d run_ids. Received %d run_ids.", MaxBulkRuns, len(ids))
	}
	key, err := req.RequiredString("metric_key")
	if err != nil {
		return nil, err
	}
	max, ok, err := req.Int64("max_results")
	if err != nil {
		return nil, err
	}
	if !ok || max <= 0 || max > 25000 {
		max = 25000
	}
	metrics, err := h.store.GetMetricHistoryBulk(r.Context(), ids, key, max)
	if err != nil {
		return nil, err
	}
	return rawJSON(appendMetricList(nil, metrics, "")), nil
}
