package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/tracking"
)

func newStore(t testing.TB, b testenv.Backend) *tracking.Store {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, b.DSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := tracking.NewStore(ctx, db, "")
	require.NoError(t, err)
	return s
}

func forBackends(t *testing.T, fn func(t *testing.T, s *tracking.Store)) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, newStore(t, b)) })
	}
}

func requireKind(t *testing.T, err error, kind error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, kind), "want %v, got %v", kind, err)
}

func TestExperiments(t *testing.T) {
	forBackends(t, func(t *testing.T, s *tracking.Store) {
		ctx := context.Background()
		def, err := s.GetExperiment(ctx, "0")
		require.NoError(t, err)
		require.Equal(t, "Default", def.Name)
		require.Equal(t, "mlflow-artifacts:/0", def.ArtifactLocation)

		id, err := s.CreateExperiment(ctx, "exp-a", "", []tracking.KeyValue{{Key: "team", Value: "ml"}})
		require.NoError(t, err)
		require.Equal(t, "1", id)
		_, err = s.CreateExperiment(ctx, "exp-a", "", nil)
		requireKind(t, err, tracking.ErrAlreadyExists)
		_, err = s.CreateExperiment(ctx, "", "", nil)
		requireKind(t, err, tracking.ErrInvalid)
		_, err = s.GetExperiment(ctx, "42")
		requireKind(t, err, tracking.ErrNotFound)
		_, err = s.GetExperimentByName(ctx, "nope")
		requireKind(t, err, tracking.ErrNotFound)

		id2, err := s.CreateExperiment(ctx, "exp-b", "", nil)
		require.NoError(t, err)
		require.NoError(t, s.SetExperimentLifecycle(ctx, id2, tracking.StageDeleted))
		_, err = s.CreateExperiment(ctx, "exp-b", "", nil)
		requireKind(t, err, tracking.ErrAlreadyExists)
		e, err := s.GetExperimentByName(ctx, "exp-b")
		require.NoError(t, err)
		require.Equal(t, tracking.StageDeleted, e.LifecycleStage)

		exps, tok, err := s.SearchExperiments(ctx, tracking.SearchExperimentsInput{ViewType: tracking.AllViews, OrderBy: []string{"name DESC"}})
		require.NoError(t, err)
		require.Empty(t, tok)
		require.Equal(t, []string{"exp-b", "exp-a", "Default"}, expNames(exps))

		exps, _, err = s.SearchExperiments(ctx, tracking.SearchExperimentsInput{Filter: "tags.team = 'ml' AND name LIKE 'exp%'"})
		require.NoError(t, err)
		require.Equal(t, []string{"exp-a"}, expNames(exps))
		require.Equal(t, []tracking.KeyValue{{Key: "team", Value: "ml"}}, exps[0].Tags)

		exps, tok, err = s.SearchExperiments(ctx, tracking.SearchExperimentsInput{MaxResults: 1, ViewType: tracking.ActiveOnly, OrderBy: []string{"name"}})
		require.NoError(t, err)
		require.Equal(t, []string{"Default"}, expNames(exps))
		exps, tok, err = s.SearchExperiments(ctx, tracking.SearchExperimentsInput{MaxResults: 1, OrderBy: []string{"name"}, PageToken: tok})
		require.NoError(t, err)
		require.Equal(t, []string{"exp-a"}, expNames(exps))
		require.Empty(t, tok)

		require.NoError(t, s.RenameExperiment(ctx, id, "exp-renamed"))
		require.NoError(t, s.DeleteExperimentTag(ctx, id, "team"))
		requireKind(t, s.DeleteExperimentTag(ctx, id, "team"), tracking.ErrNotFound)
		_, _, err = s.SearchExperiments(ctx, tracking.SearchExperimentsInput{Filter: "name = 'x' OR name = 'y'"})
		requireKind(t, err, errs.Invalid)
	})
}

func expNames(es []*tracking.Experiment) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestRunLifecycleAndLogging(t *testing.T) {
	forBackends(t, func(t *testing.T, s *tracking.Store) {
		ctx := context.Background()
		run, err := s.CreateRun(ctx, tracking.CreateRunInput{ExperimentID: "0", StartTime: 100,
			Tags: []tracking.KeyValue{{Key: "mlflow.user", Value: "ann"}}})
		require.NoError(t, err)
		id := run.Info.RunID
		require.NotEmpty(t, run.Info.RunName)
		require.Equal(t, "RUNNING", run.Info.Status)
		require.Nil(t, run.Info.EndTime)
		require.Equal(t, "mlflow-artifacts:/0/"+id+"/artifacts", run.Info.ArtifactURI)

		err = s.LogBatch(ctx, id, []tracking.Metric{
			{Key: "loss", Value: 0.5, Timestamp: 10, Step: 1},
			{Key: "loss", Value: 0.4, Timestamp: 11, Step: 2},
			{Key: "loss", Value: 0.4, Timestamp: 11, Step: 2}, // identical: stored once
			{Key: "loss", Value: 0.9, Timestamp: 5, Step: 0},
			{Key: "nan", Value: tracking.Float(math.NaN()), Timestamp: 1},
			{Key: "inf", Value: tracking.Float(math.Inf(1)), Timestamp: 1},
		}, []tracking.KeyValue{{Key: "lr", Value: "0.1"}}, []tracking.KeyValue{{Key: "t", Value: "a"}, {Key: "t", Value: "b"}})
		require.NoError(t, err)

		// Changing a param fails and writes nothing of the batch.
		err = s.LogBatch(ctx, id, []tracking.Metric{{Key: "other", Value: 1, Timestamp: 1}},
			[]tracking.KeyValue{{Key: "lr", Value: "0.2"}}, []tracking.KeyValue{{Key: "t2", Value: "x"}})
		requireKind(t, err, tracking.ErrInvalid)
		require.NoError(t, s.LogBatch(ctx, id, nil, []tracking.KeyValue{{Key: "lr", Value: "0.1"}}, nil))
		requireKind(t, s.LogBatch(ctx, id, nil, []tracking.KeyValue{{Key: "a", Value: "1"}, {Key: "a", Value: "1"}}, nil), tracking.ErrInvalid)
		requireKind(t, s.LogBatch(ctx, "0123456789abcdef0123456789abcdef", nil, []tracking.KeyValue{{Key: "a", Value: "1"}}, nil), tracking.ErrNotFound)

		got, err := s.GetRun(ctx, id)
		require.NoError(t, err)
		metrics := map[string]tracking.Metric{}
		for _, m := range got.Data.Metrics {
			metrics[m.Key] = m
		}
		require.Len(t, metrics, 3)
		require.Equal(t, tracking.Float(0.4), metrics["loss"].Value)
		require.EqualValues(t, 2, metrics["loss"].Step)
		require.True(t, math.IsNaN(float64(metrics["nan"].Value)))
		require.Equal(t, tracking.Float(math.MaxFloat64), metrics["inf"].Value)
		require.Equal(t, []tracking.KeyValue{{Key: "lr", Value: "0.1"}}, got.Data.Params)
		require.Contains(t, got.Data.Tags, tracking.KeyValue{Key: "t", Value: "b"})
		require.NotContains(t, got.Data.Tags, tracking.KeyValue{Key: "t2", Value: "x"})

		hist, tok, err := s.GetMetricHistory(ctx, id, "loss", 0, "")
		require.NoError(t, err)
		require.Empty(t, tok)
		require.Len(t, hist, 3)
		require.EqualValues(t, []int64{5, 10, 11}, []int64{hist[0].Timestamp, hist[1].Timestamp, hist[2].Timestamp})
		page, tok, err := s.GetMetricHistory(ctx, id, "loss", 2, "")
		require.NoError(t, err)
		require.Len(t, page, 2)
		page, tok, err = s.GetMetricHistory(ctx, id, "loss", 2, tok)
		require.NoError(t, err)
		require.Len(t, page, 1)
		require.Empty(t, tok)

		end := int64(200)
		info, err := s.UpdateRun(ctx, tracking.UpdateRunInput{RunID: id, Status: "FINISHED", EndTime: &end, RunName: "renamed"})
		require.NoError(t, err)
		require.Equal(t, "FINISHED", info.Status)
		require.NoError(t, s.SetRunLifecycle(ctx, id, tracking.StageDeleted))
		requireKind(t, s.LogBatch(ctx, id, nil, nil, []tracking.KeyValue{{Key: "x", Value: "y"}}), tracking.ErrInvalid)
		require.NoError(t, s.SetRunLifecycle(ctx, id, tracking.StageActive))
		require.NoError(t, s.DeleteTag(ctx, id, "t"))
		requireKind(t, s.DeleteTag(ctx, id, "t"), tracking.ErrNotFound)

		err = s.LogInputs(ctx, id, []tracking.DatasetInput{{Tags: []tracking.KeyValue{{Key: tracking.TagContext, Value: "train"}},
			Dataset: tracking.Dataset{Name: "churn", Digest: "abc123", SourceType: "strata", Source: `{"table":"datasets.churn"}`}}}, nil)
		require.NoError(t, err)
		got, err = s.GetRun(ctx, id)
		require.NoError(t, err)
		require.Len(t, got.Inputs.DatasetInputs, 1)
		require.Equal(t, "abc123", got.Inputs.DatasetInputs[0].Dataset.Digest)
		require.Equal(t, []tracking.KeyValue{{Key: tracking.TagContext, Value: "train"}}, got.Inputs.DatasetInputs[0].Tags)
	})
}

func TestSearchRuns(t *testing.T) {
	forBackends(t, func(t *testing.T, s *tracking.Store) {
		ctx := context.Background()
		exp, err := s.CreateExperiment(ctx, "search", "", nil)
		require.NoError(t, err)
		ids := make([]string, 6)
		for i := range ids {
			r, err := s.CreateRun(ctx, tracking.CreateRunInput{ExperimentID: exp, StartTime: 1000, RunName: fmt.Sprintf("run-%d", i)})
			require.NoError(t, err)
			ids[i] = r.Info.RunID
			var metrics []tracking.Metric
			if i < 5 {
				metrics = append(metrics, tracking.Metric{Key: "acc", Value: tracking.Float(float64(i) / 10), Timestamp: 1})
			}
			model := "rf"
			if i%2 == 1 {
				model = "GBM"
			}
			require.NoError(t, s.LogBatch(ctx, ids[i], metrics, []tracking.KeyValue{{Key: "model", Value: model}}, nil))
		}
		search := func(filter string, order ...string) []string {
			t.Helper()
			runs, _, err := s.SearchRuns(ctx, tracking.SearchRunsInput{ExperimentIDs: []string{exp}, Filter: filter, OrderBy: order})
			require.NoError(t, err)
			var names []string
			for _, r := range runs {
				names = append(names, r.Info.RunName)
			}
			return names
		}
		require.Equal(t, []string{"run-4", "run-2"}, search("metrics.acc >= 0.2 and params.model = 'rf'", "metrics.acc DESC"))
		require.Equal(t, []string{"run-1", "run-3", "run-5"}, search("params.model ILIKE 'gbm'", "attributes.run_name"))
		require.Empty(t, search("params.model LIKE 'gbm'"))
		require.Equal(t, []string{"run-0", "run-1", "run-2", "run-3", "run-4", "run-5"}, search("", "metrics.acc ASC"))
		require.Equal(t, []string{"run-4", "run-3", "run-2", "run-1", "run-0", "run-5"}, search("", "metrics.acc DESC"))
		require.Equal(t, []string{"run-2"}, search(fmt.Sprintf("attributes.run_id IN ('%s') and run_name != 'x'", ids[2])))
		require.Equal(t, []string{"run-5"}, search("tags.`mlflow.runName` = 'run-5'"))
		require.Len(t, search("attributes.created >= 1000"), 6)

		// Equal start times page in run_id order.
		var seen []string
		tok := ""
		for pages := 0; ; pages++ {
			runs, next, err := s.SearchRuns(ctx, tracking.SearchRunsInput{ExperimentIDs: []string{exp}, MaxResults: 4, PageToken: tok})
			require.NoError(t, err)
			for _, r := range runs {
				seen = append(seen, r.Info.RunID)
			}
			if next == "" {
				require.Equal(t, 1, pages)
				break
			}
			tok = next
		}
		require.IsIncreasing(t, seen)
		require.Len(t, seen, 6)

		for _, bad := range []string{"metrics.acc > 'x'", "params.model > 'x'", "params.model IN ('a')", "foo.bar = 1", "metrics.acc >", "status = 'x' OR status = 'y'"} {
			_, _, err := s.SearchRuns(ctx, tracking.SearchRunsInput{ExperimentIDs: []string{exp}, Filter: bad})
			requireKind(t, err, errs.Invalid)
		}
		_, _, err = s.SearchRuns(ctx, tracking.SearchRunsInput{ExperimentIDs: []string{exp}, MaxResults: 123456789})
		requireKind(t, err, tracking.ErrInvalid)
	})
}

func TestConcurrentLogging(t *testing.T) {
	forBackends(t, func(t *testing.T, s *tracking.Store) {
		ctx := context.Background()
		r, err := s.CreateRun(ctx, tracking.CreateRunInput{})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					require.NoError(t, s.LogBatch(ctx, r.Info.RunID, []tracking.Metric{{Key: "m", Value: tracking.Float(w*100 + i), Timestamp: 1, Step: int64(w*100 + i)}},
						[]tracking.KeyValue{{Key: fmt.Sprintf("p%d-%d", w, i), Value: "v"}}, nil))
				}
			}(w)
		}
		wg.Wait()
		hist, _, err := s.GetMetricHistory(ctx, r.Info.RunID, "m", 0, "")
		require.NoError(t, err)
		require.Len(t, hist, 80)
		got, err := s.GetRun(ctx, r.Info.RunID)
		require.NoError(t, err)
		require.Len(t, got.Data.Params, 80)
		require.EqualValues(t, 709, got.Data.Metrics[0].Step)
	})
}

func TestLoggedModels(t *testing.T) {
	forBackends(t, func(t *testing.T, s *tracking.Store) {
		ctx := context.Background()
		r, err := s.CreateRun(ctx, tracking.CreateRunInput{})
		require.NoError(t, err)
		m, err := s.CreateLoggedModel(ctx, tracking.CreateLoggedModelInput{ExperimentID: "0", Name: "model", SourceRunID: r.Info.RunID,
			Params: []tracking.KeyValue{{Key: "alpha", Value: "1"}}})
		require.NoError(t, err)
		require.Regexp(t, `^m-[0-9a-f]{32}$`, m.Info.ModelID)
		require.Equal(t, tracking.ModelPending, m.Info.Status)
		require.Equal(t, "mlflow-artifacts:/0/models/"+m.Info.ModelID+"/artifacts", m.Info.ArtifactURI)
		require.NoError(t, s.SetLoggedModelTags(ctx, m.Info.ModelID, []tracking.KeyValue{{Key: "k", Value: "v"}}))
		// The client links a run's metrics to a model by re-logging the same points with model_id.
		require.NoError(t, s.LogBatch(ctx, r.Info.RunID, []tracking.Metric{{Key: "acc", Value: 0.9, Timestamp: 1}}, nil, nil))
		require.NoError(t, s.LogBatch(ctx, r.Info.RunID, []tracking.Metric{{Key: "acc", Value: 0.9, Timestamp: 1, ModelID: m.Info.ModelID},
			{Key: "acc", Value: 0.9, Timestamp: 1, ModelID: m.Info.ModelID}}, nil, nil))
		hist, _, err := s.GetMetricHistory(ctx, r.Info.RunID, "acc", 0, "")
		require.NoError(t, err)
		require.Len(t, hist, 1)
		m, err = s.FinalizeLoggedModel(ctx, m.Info.ModelID, tracking.ModelReady)
		require.NoError(t, err)
		require.Equal(t, tracking.ModelReady, m.Info.Status)
		require.Equal(t, []tracking.KeyValue{{Key: "k", Value: "v"}}, m.Info.Tags)
		require.Len(t, m.Data.Metrics, 1)
		found, _, err := s.SearchLoggedModels(ctx, tracking.SearchLoggedModelsInput{ExperimentIDs: []string{"0"}, Filter: "name = 'model' AND metrics.acc > 0.5"})
		require.NoError(t, err)
		require.Len(t, found, 1)
		require.NoError(t, s.DeleteLoggedModel(ctx, m.Info.ModelID))
		_, err = s.GetLoggedModel(ctx, m.Info.ModelID, false)
		requireKind(t, err, tracking.ErrNotFound)
	})
}
