package tracking

// The types below are both the store's results and the MLflow wire format: field names are MLflow's proto
// names, int64 values encode as JSON numbers, and unset optional fields are omitted.

import "github.com/strata-data/strata/mlflowapi"

// KeyValue is a param or tag (MLflow's key/value message, shared with the registry).
type KeyValue = mlflowapi.KeyValue

// Float is a metric value: a double that encodes NaN and ±Inf the way MLflow's JSON does.
type Float = mlflowapi.Float

// Experiment is an MLflow experiment.
type Experiment struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	LastUpdateTime   int64      `json:"last_update_time"`
	CreationTime     int64      `json:"creation_time"`
	Tags             []KeyValue `json:"tags,omitempty"`
	Workspace        string     `json:"workspace,omitempty"`
}

// Lifecycle stages.
const (
	StageActive  = "active"
	StageDeleted = "deleted"
)

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// Metric is one point of a metric. RunID is set only by the bulk history endpoints.
type Metric struct {
	Key           string `json:"key"`
	Value         Float  `json:"value"`
	Timestamp     int64  `json:"timestamp"`
	Step          int64  `json:"step"`
	RunID         string `json:"run_id,omitempty"`
	ModelID       string `json:"model_id,omitempty"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
}

// RunData holds a run's latest metrics, params and tags.
type RunData struct {
	Metrics []Metric   `json:"metrics,omitempty"`
	Params  []KeyValue `json:"params,omitempty"`
	Tags    []KeyValue `json:"tags,omitempty"`
}

// Dataset describes data a run used.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// DatasetInput is a dataset with the tags of its use by a run (e.g. mlflow.data.context).
type DatasetInput struct {
	Tags    []KeyValue `json:"tags,omitempty"`
	Dataset Dataset    `json:"dataset"`
}

// ModelInput names a logged model a run consumed.
type ModelInput struct {
	ModelID string `json:"model_id"`
}

// ModelOutput names a logged model a run produced, at a step.
type ModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

// RunInputs are a run's dataset and model inputs.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []ModelInput   `json:"model_inputs,omitempty"`
}

// RunOutputs are a run's logged-model outputs.
type RunOutputs struct {
	ModelOutputs []ModelOutput `json:"model_outputs,omitempty"`
}

// Run is a run with its data.
type Run struct {
	Info    RunInfo     `json:"info"`
	Data    RunData     `json:"data"`
	Inputs  RunInputs   `json:"inputs"`
	Outputs *RunOutputs `json:"outputs,omitempty"`
}

// Run statuses.
var runStatuses = map[string]bool{"RUNNING": true, "SCHEDULED": true, "FINISHED": true, "FAILED": true, "KILLED": true}
var runStatusByNumber = map[int64]string{1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}

// LoggedModel is an MLflow 3 logged model.
type LoggedModel struct {
	Info LoggedModelInfo `json:"info"`
	Data LoggedModelData `json:"data"`
}

// LoggedModelInfo is a logged model's metadata.
type LoggedModelInfo struct {
	ModelID                string         `json:"model_id"`
	ExperimentID           string         `json:"experiment_id"`
	Name                   string         `json:"name"`
	CreationTimestampMs    int64          `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMs int64          `json:"last_updated_timestamp_ms"`
	ArtifactURI            string         `json:"artifact_uri"`
	Status                 string         `json:"status"`
	CreatorID              *int64         `json:"creator_id,omitempty"`
	ModelType              string         `json:"model_type,omitempty"`
	SourceRunID            string         `json:"source_run_id,omitempty"`
	StatusMessage          string         `json:"status_message,omitempty"`
	Tags                   []KeyValue     `json:"tags,omitempty"`
	Registrations          []Registration `json:"registrations,omitempty"`
	LifecycleStage         string         `json:"-"`
}

// Registration names a model version registered from a logged model.
type Registration struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// LoggedModelData holds a logged model's params and metrics.
type LoggedModelData struct {
	Params  []KeyValue `json:"params,omitempty"`
	Metrics []Metric   `json:"metrics,omitempty"`
}

// Logged model statuses, by proto number.
var loggedModelStatuses = map[int64]string{
	0: "LOGGED_MODEL_STATUS_UNSPECIFIED", 1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY", 3: "LOGGED_MODEL_UPLOAD_FAILED",
}
