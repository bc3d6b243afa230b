package tracking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
)

// Tags with meaning to MLflow.
const (
	TagRunName  = "mlflow.runName"
	TagUser     = "mlflow.user"
	TagParentID = "mlflow.parentRunId"
	TagContext  = "mlflow.data.context"
)

// CreateRunInput are the parameters of CreateRun.
type CreateRunInput struct {
	ExperimentID string
	UserID       string
	RunName      string
	StartTime    int64
	Tags         []KeyValue
}

// CreateRun creates a RUNNING run in an active experiment. Without a name it makes one up
// (adjective-noun-NNN); the run name and tag mlflow.runName are kept equal.
func (s *Store) CreateRun(ctx context.Context, in CreateRunInput) (*Run, error) {
	if in.ExperimentID == "" {
		in.ExperimentID = "0"
	}
	for _, t := range in.Tags {
		if err := validateTag(t); err != nil {
			return nil, err
		}
	}
	tags := lastWins(in.Tags)
	name := in.RunName
	for _, t := range tags {
		if t.Key == TagRunName {
			if name != "" && t.Value != name {
				return nil, invalidf("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", name, t.Value)
			}
			name = t.Value
		}
	}
	if name == "" {
		name = randomRunName()
	}
	tags = lastWins(append(tags, KeyValue{Key: TagRunName, Value: name}))
	user := in.UserID
	if user == "" {
		user = "unknown"
	}
	id := newID()
	var run *Run
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		exp, err := s.getExperiment(ctx, tx, in.ExperimentID)
		if err != nil {
			return err
		}
		if exp.LifecycleStage != StageActive {
			return invalidf("The experiment %s must be in the 'active' state. Current state is %s.", exp.ExperimentID, exp.LifecycleStage)
		}
		info := RunInfo{RunID: id, RunUUID: id, RunName: name, ExperimentID: exp.ExperimentID, UserID: user,
			Status: "RUNNING", StartTime: in.StartTime, ArtifactURI: joinURI(exp.ArtifactLocation, id+"/artifacts"),
			LifecycleStage: StageActive}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlflow_runs (run_id, experiment_id, name, user_id, status,
			start_time, artifact_uri, lifecycle_stage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, mustInt(exp.ExperimentID), name, user, info.Status, info.StartTime, info.ArtifactURI, StageActive); err != nil {
			return err
		}
		for _, t := range tags {
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_tags", []string{"run_id"}, []any{id}, t); err != nil {
				return err
			}
		}
		run = &Run{Info: info, Data: RunData{Tags: tags}}
		return nil
	})
	return run, err
}

// lastWins de-duplicates key/values by key, keeping the last value and the first position.
func lastWins(kvs []KeyValue) []KeyValue {
	idx := map[string]int{}
	var out []KeyValue
	for _, kv := range kvs {
		if i, ok := idx[kv.Key]; ok {
			out[i].Value = kv.Value
			continue
		}
		idx[kv.Key] = len(out)
		out = append(out, kv)
	}
	return out
}

var (
	nameAdjectives = strings.Fields(`able agreeable amazing bold brave bright calm capable carefree caring charming
		clean clever colorful crisp curious dapper defiant delicate dazzling eager efficient enchanting fearless
		funny gentle gifted glamorous gregarious handsome honorable illustrious industrious intelligent judicious
		kindly learned legendary likeable luminous magnificent marvelous merciful mysterious nimble omniscient
		painted placid polite popular resilient rogue rumbling salty secretive selective sedate serious shivering
		silent skillful smiling spiffy stately sincere suave tasteful thoughtful treasured unequaled upbeat useful
		valuable victorious vaunted welcoming whimsical wise worried youthful zealous`)
	nameNouns = strings.Fields(`ant ape asp auk bass bat bear bee bird boar bug calf carp cat chimp cod colt conch
		cow crab crane croc crow cub deer doe dog dolphin donkey dove duck eel elk fawn finch fish flea fly foal fowl
		fox frog gnat gnu goat goose grouse grub gull hare hawk hen hog horse hound jay kit kite koi lamb lark loon
		lynx mare midge mink mole moose moth mouse mule newt owl ox panda penguin perch pig pug quail ram rat ray
		robin roo rook seal shad shark sheep shoat shrew shrike skink skunk sloth slug smelt snail snake snipe sow
		sponge squid squirrel stag steed stoat stork swan tern toad trout turtle vole wasp whale wolf worm wren yak zebra`)
)

func randomRunName() string {
	pick := func(n int) int {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
		return int(v.Int64())
	}
	return fmt.Sprintf("%s-%s-%d", nameAdjectives[pick(len(nameAdjectives))], nameNouns[pick(len(nameNouns))], pick(1000))
}

const runCols = `run_id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage`

func scanRunInfo(sc interface{ Scan(...any) error }) (RunInfo, error) {
	var r RunInfo
	var exp int64
	var end sql.NullInt64
	if err := sc.Scan(&r.RunID, &exp, &r.RunName, &r.UserID, &r.Status, &r.StartTime, &end, &r.ArtifactURI, &r.LifecycleStage); err != nil {
		return r, err
	}
	r.RunUUID, r.ExperimentID, r.EndTime = r.RunID, strconv.FormatInt(exp, 10), nullInt(end)
	return r, nil
}

func (s *Store) runInfo(ctx context.Context, q queryer, runID string) (RunInfo, error) {
	info, err := scanRunInfo(q.QueryRowContext(ctx, `SELECT `+runCols+` FROM mlflow_runs WHERE run_id = $1`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return info, notFoundf("Run with id=%s not found", runID)
	}
	return info, err
}

func (s *Store) activeRun(ctx context.Context, q queryer, runID string) (RunInfo, error) {
	info, err := s.runInfo(ctx, q, runID)
	if err == nil && info.LifecycleStage != StageActive {
		err = invalidf("The run %s must be in the 'active' state. Current state is %s.", runID, info.LifecycleStage)
	}
	return info, err
}

// GetRun returns a run with its latest metrics, params, tags, inputs and outputs.
func (s *Store) GetRun(ctx context.Context, runID string) (*Run, error) {
	info, err := s.runInfo(ctx, s.db.SQL, runID)
	if err != nil {
		return nil, err
	}
	runs, err := s.loadRuns(ctx, s.db.SQL, []RunInfo{info})
	if err != nil {
		return nil, err
	}
	return runs[0], nil
}

// RunArtifactURI returns where a run keeps its artifacts (artifact_uri), without loading its data. An unknown
// run is ErrNotFound.
func (s *Store) RunArtifactURI(ctx context.Context, runID string) (string, error) {
	info, err := s.runInfo(ctx, s.db.SQL, runID)
	return info.ArtifactURI, err
}

// loadRuns attaches data, inputs and outputs to run infos with one query per kind.
func (s *Store) loadRuns(ctx context.Context, q queryer, infos []RunInfo) ([]*Run, error) {
	out := make([]*Run, len(infos))
	if len(infos) == 0 {
		return out, nil
	}
	ids := make([]string, len(infos))
	for i, r := range infos {
		ids[i] = r.RunID
	}
	var a mlflowapi.SQLArgs
	in := a.List(ids)
	params, err := keyValues(ctx, q, `SELECT run_id, key, value FROM mlflow_params WHERE run_id IN `+in+` ORDER BY key`, a...)
	if err != nil {
		return nil, err
	}
	tags, err := keyValues(ctx, q, `SELECT run_id, key, value FROM mlflow_tags WHERE run_id IN `+in+` ORDER BY key`, a...)
	if err != nil {
		return nil, err
	}
	metrics, err := s.latestMetrics(ctx, q, in, a)
	if err != nil {
		return nil, err
	}
	inputs, err := s.runInputs(ctx, q, in, a)
	if err != nil {
		return nil, err
	}
	outputs, err := s.runOutputs(ctx, q, in, a)
	if err != nil {
		return nil, err
	}
	for i, info := range infos {
		out[i] = &Run{Info: info, Data: RunData{Metrics: metrics[info.RunID], Params: params[info.RunID], Tags: tags[info.RunID]},
			Inputs: inputs[info.RunID], Outputs: outputs[info.RunID]}
	}
	return out, nil
}

func (s *Store) latestMetrics(ctx context.Context, q queryer, in string, a mlflowapi.SQLArgs) (map[string][]Metric, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_latest_metrics
		WHERE run_id IN `+in+` ORDER BY key`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Metric{}
	for rows.Next() {
		var run string
		var m Metric
		if err := scanMetric(rows, &run, &m); err != nil {
			return nil, err
		}
		out[run] = append(out[run], m)
	}
	return out, rows.Err()
}

func scanMetric(rows *sql.Rows, run *string, m *Metric) error {
	var v float64
	var isNaN int
	if err := rows.Scan(run, &m.Key, &v, &isNaN, &m.Timestamp, &m.Step); err != nil {
		return err
	}
	m.Value = Float(v)
	if isNaN != 0 {
		m.Value = Float(nan())
	}
	return nil
}

func (s *Store) runInputs(ctx context.Context, q queryer, in string, a mlflowapi.SQLArgs) (map[string]RunInputs, error) {
	rows, err := q.QueryContext(ctx, `SELECT i.run_id, i.input_id, d.name, d.digest, d.source_type, d.source,
		COALESCE(d.schema_json, ''), COALESCE(d.profile, '')
		FROM mlflow_inputs i JOIN mlflow_datasets d ON i.source_type = 'DATASET' AND d.dataset_id = i.source_id
		WHERE i.run_id IN `+in+` ORDER BY i.run_id, d.name, d.digest`, a...)
	if err != nil {
		return nil, err
	}
	out := map[string]RunInputs{}
	inputOwner := map[string][2]int{}
	var inputIDs []string
	for rows.Next() {
		var run, inputID string
		var d Dataset
		if err := rows.Scan(&run, &inputID, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile); err != nil {
			rows.Close()
			return nil, err
		}
		ri := out[run]
		inputOwner[inputID] = [2]int{len(ri.DatasetInputs)}
		ri.DatasetInputs = append(ri.DatasetInputs, DatasetInput{Dataset: d})
		out[run] = ri
		inputIDs = append(inputIDs, run+"\x00"+inputID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(inputIDs) > 0 {
		tags, err := keyValues(ctx, q, `SELECT t.input_id, t.key, t.value FROM mlflow_input_tags t
			JOIN mlflow_inputs i ON i.input_id = t.input_id WHERE i.run_id IN `+in+` ORDER BY t.key`, a...)
		if err != nil {
			return nil, err
		}
		for _, ri := range inputIDs {
			run, inputID, _ := strings.Cut(ri, "\x00")
			r := out[run]
			r.DatasetInputs[inputOwner[inputID][0]].Tags = tags[inputID]
		}
	}
	models, err := keyValues(ctx, q, `SELECT run_id, source_id, '' FROM mlflow_inputs WHERE source_type = 'MODEL'
		AND run_id IN `+in+` ORDER BY source_id`, a...)
	if err != nil {
		return nil, err
	}
	for run, ms := range models {
		r := out[run]
		for _, m := range ms {
			r.ModelInputs = append(r.ModelInputs, ModelInput{ModelID: m.Key})
		}
		out[run] = r
	}
	return out, nil
}

func (s *Store) runOutputs(ctx context.Context, q queryer, in string, a mlflowapi.SQLArgs) (map[string]*RunOutputs, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, model_id, step FROM mlflow_run_outputs WHERE run_id IN `+in+` ORDER BY model_id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*RunOutputs{}
	for rows.Next() {
		var run string
		var o ModelOutput
		if err := rows.Scan(&run, &o.ModelID, &o.Step); err != nil {
			return nil, err
		}
		if out[run] == nil {
			out[run] = &RunOutputs{}
		}
		out[run].ModelOutputs = append(out[run].ModelOutputs, o)
	}
	return out, rows.Err()
}

// UpdateRunInput are the parameters of UpdateRun; nil/empty fields are left alone.
type UpdateRunInput struct {
	RunID   string
	Status  string
	EndTime *int64
	RunName string
}

// UpdateRun changes a run's status, end time and name and returns its info.
func (s *Store) UpdateRun(ctx context.Context, in UpdateRunInput) (*RunInfo, error) {
	if in.Status != "" && !runStatuses[in.Status] {
		return nil, invalidf("Invalid value %s for parameter 'status' supplied.", quoteJSON(in.Status))
	}
	var info RunInfo
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if info, err = s.activeRun(ctx, tx, in.RunID); err != nil {
			return err
		}
		if in.Status != "" {
			info.Status = in.Status
		}
		if in.EndTime != nil {
			info.EndTime = in.EndTime
		}
		if in.RunName != "" {
			info.RunName = in.RunName
			if err := mlflowapi.UpsertKV(ctx, tx, "mlflow_tags", []string{"run_id"}, []any{in.RunID}, KeyValue{Key: TagRunName, Value: in.RunName}); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE mlflow_runs SET status = $1, end_time = $2, name = $3 WHERE run_id = $4`,
			info.Status, info.EndTime, info.RunName, in.RunID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// SetRunLifecycle deletes (stage "deleted") or restores (stage "active") a run.
func (s *Store) SetRunLifecycle(ctx context.Context, runID, stage string) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.runInfo(ctx, tx, runID); err != nil {
			return err
		}
		var deleted any
		if stage == StageDeleted {
			deleted = meta.NowMillis()
		}
		_, err := tx.ExecContext(ctx, `UPDATE mlflow_runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_id = $3`,
			stage, deleted, runID)
		return err
	})
}
