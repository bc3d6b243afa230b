package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

func forBackends(t *testing.T, fn func(t *testing.T, s *registry.Store, ts *tracking.Store)) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := meta.Open(ctx, b.DSN(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			ts, err := tracking.NewStore(ctx, db, "")
			require.NoError(t, err)
			fn(t, registry.NewStore(ts), ts)
		})
	}
}

func requireKind(t *testing.T, err error, kind error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, kind), "want %v, got %v", kind, err)
}

func TestModelsVersionsAliases(t *testing.T) {
	forBackends(t, func(t *testing.T, s *registry.Store, ts *tracking.Store) {
		ctx := context.Background()
		run, err := ts.CreateRun(ctx, tracking.CreateRunInput{})
		require.NoError(t, err)
		lm, err := ts.CreateLoggedModel(ctx, tracking.CreateLoggedModelInput{ExperimentID: "0", Name: "model", SourceRunID: run.Info.RunID})
		require.NoError(t, err)

		m, err := s.CreateRegisteredModel(ctx, "churn", "", []tracking.KeyValue{{Key: "team", Value: "ds"}})
		require.NoError(t, err)
		require.Equal(t, "churn", m.Name)
		_, err = s.CreateRegisteredModel(ctx, "churn", "", nil)
		requireKind(t, err, errs.Exists)
		_, err = s.CreateRegisteredModel(ctx, "bad/name", "", nil)
		requireKind(t, err, errs.Invalid)

		v1, err := s.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "churn", Source: "models:/" + lm.Info.ModelID, ModelID: lm.Info.ModelID})
		require.NoError(t, err)
		require.Equal(t, "1", v1.Version)
		require.Equal(t, "READY", v1.Status)
		require.Equal(t, run.Info.RunID, v1.RunID, "run_id is filled from the logged model")
		uri, err := s.DownloadURI(ctx, "churn", 1)
		require.NoError(t, err)
		require.Equal(t, lm.Info.ArtifactURI, uri)
		v2, err := s.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "churn", Source: "runs:/" + run.Info.RunID + "/model"})
		require.NoError(t, err)
		require.Equal(t, "2", v2.Version)
		_, err = s.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "churn", Source: "s3://b/../x"})
		requireKind(t, err, errs.Invalid)
		_, err = s.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "nope", Source: "s3://b/x"})
		requireKind(t, err, errs.NotFound)

		before := time.Now().UnixMilli()
		require.NoError(t, s.SetAlias(ctx, "churn", "champion", 1))
		time.Sleep(5 * time.Millisecond)
		mid := time.Now().UnixMilli()
		time.Sleep(5 * time.Millisecond)
		require.NoError(t, s.SetAlias(ctx, "churn", "champion", 2))
		v, err := s.ResolveAlias(ctx, "churn", "champion")
		require.NoError(t, err)
		require.EqualValues(t, 2, v)
		at, ok, err := s.AliasAt(ctx, "churn", "champion", mid)
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 1, at, "history records where the alias pointed at a given time")
		_, ok, err = s.AliasAt(ctx, "churn", "champion", before-1000)
		require.NoError(t, err)
		require.False(t, ok)
		_, err = s.ResolveAlias(ctx, "churn", "missing")
		requireKind(t, err, errs.Invalid)
		requireKind(t, s.SetAlias(ctx, "churn", "latest", 1), errs.Invalid)
		requireKind(t, s.SetAlias(ctx, "churn", "v3", 1), errs.Invalid)
		requireKind(t, s.SetAlias(ctx, "churn", "x", 9), errs.NotFound)

		got, err := s.GetRegisteredModel(ctx, "churn")
		require.NoError(t, err)
		require.Equal(t, []registry.Alias{{Alias: "champion", Version: "2"}}, got.Aliases)
		require.Len(t, got.LatestVersions, 1)
		require.Equal(t, "2", got.LatestVersions[0].Version)

		_, err = s.TransitionStage(ctx, "churn", 1, "production", false)
		require.NoError(t, err)
		latest, err := s.GetLatestVersions(ctx, "churn", []string{"Production"})
		require.NoError(t, err)
		require.Equal(t, "1", latest[0].Version)

		_, err = s.RenameRegisteredModel(ctx, "churn", "churn2")
		require.NoError(t, err)
		_, err = s.GetRegisteredModel(ctx, "churn")
		requireKind(t, err, errs.NotFound)
		v, err = s.ResolveAlias(ctx, "churn2", "champion")
		require.NoError(t, err)
		require.EqualValues(t, 2, v)

		require.NoError(t, s.DeleteModelVersion(ctx, "churn2", 2))
		_, err = s.ResolveAlias(ctx, "churn2", "champion")
		requireKind(t, err, errs.Invalid)
		v3, err := s.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "churn2", Source: "s3://b/x"})
		require.NoError(t, err)
		require.Equal(t, "3", v3.Version, "version numbers are not reused")
		require.NoError(t, s.DeleteRegisteredModel(ctx, "churn2"))
		_, err = s.CreateRegisteredModel(ctx, "churn2", "", nil)
		require.NoError(t, err)
	})
}

func TestSearch(t *testing.T) {
	forBackends(t, func(t *testing.T, s *registry.Store, _ *tracking.Store) {
		ctx := context.Background()
		for _, n := range []string{"b-model", "a-model", "c-prompt"} {
			var tags []tracking.KeyValue
			if n == "c-prompt" {
				tags = []tracking.KeyValue{{Key: "mlflow.prompt.is_prompt", Value: "true"}}
			}
			_, err := s.CreateRegisteredModel(ctx, n, "", tags)
			require.NoError(t, err)
			_, err = s.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: n, Source: "s3://b/" + n})
			require.NoError(t, err)
		}
		names := func(ms []*registry.RegisteredModel) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.Name)
			}
			return out
		}
		// The client appends this clause to every filter; models without the tag match it.
		ms, tok, err := s.SearchRegisteredModels(ctx, registry.SearchInput{Filter: "tag.`mlflow.prompt.is_prompt` != 'true'"})
		require.NoError(t, err)
		require.Empty(t, tok)
		require.Equal(t, []string{"a-model", "b-model"}, names(ms))
		ms, tok, err = s.SearchRegisteredModels(ctx, registry.SearchInput{Filter: "name LIKE '%model'", MaxResults: 1, OrderBy: []string{"name DESC"}})
		require.NoError(t, err)
		require.Equal(t, []string{"b-model"}, names(ms))
		ms, tok, err = s.SearchRegisteredModels(ctx, registry.SearchInput{Filter: "name LIKE '%model'", MaxResults: 1, OrderBy: []string{"name DESC"}, PageToken: tok})
		require.NoError(t, err)
		require.Equal(t, []string{"a-model"}, names(ms))
		require.Empty(t, tok)
		_, _, err = s.SearchModelVersions(ctx, registry.SearchInput{Filter: "name IN ('a-model', 'b-model')"})
		requireKind(t, err, errs.Invalid)
		vs, _, err := s.SearchModelVersions(ctx, registry.SearchInput{Filter: "source_path = 's3://b/a-model'"})
		require.NoError(t, err)
		require.Len(t, vs, 1)
		_, _, err = s.SearchRegisteredModels(ctx, registry.SearchInput{Filter: "metrics.x > 1"})
		requireKind(t, err, errs.Invalid)
	})
}
