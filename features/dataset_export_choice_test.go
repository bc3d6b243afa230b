package features

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// TestExportDefaultIsTheListedBuild: without a version, Export takes the build `dataset list` and `dataset show`
// end with (ReadableDatasets, ReadableDataset): in dev the latest build; in prod the latest released build, also
// while a newer build is staged; none while no build is released.
func TestExportDefaultIsTheListedBuild(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "prod", "clean.user_stats", statsCSV)
	_, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "clean", Name: "user_stats"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	d := mustParse(t, datasetDefs)
	d.Views = d.Views[:2]
	_, err = f.b.Registry.Apply(f.ctx, "prod", d, "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", spineCSV)
	build := func(env, feature string) {
		_, err := f.b.Build(f.ctx, DatasetRequest{Env: env, Name: "train", Spine: spine, Force: env == "prod", Features: []string{feature}})
		require.NoError(t, err)
	}
	publish := func() {
		_, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "datasets", Name: "train"}}, envs.PublishOptions{Actor: "test"})
		require.NoError(t, err)
	}
	// chosen returns the versions Export, list and show choose, and Export's columns.
	chosen := func(env string) (exported, listed, shown int64, cols []string) {
		res, ds, err := f.b.Export(f.ctx, env, "train", 0)
		require.NoError(t, err)
		for _, fl := range res.Schema().Fields() {
			cols = append(cols, fl.Name)
		}
		res.Close()
		list, err := ReadableDatasets(f.ctx, f.b.Registry, f.envs, env)
		require.NoError(t, err)
		require.Len(t, list, 1)
		all, err := ReadableDataset(f.ctx, f.b.Registry, f.envs, env, "train")
		require.NoError(t, err)
		return ds.Version, list[0].Version, all[len(all)-1].Version, cols
	}
	for _, env := range []string{"dev", "prod"} {
		build(env, "user_stats:total")
		if env == "prod" {
			_, _, err := f.b.Export(f.ctx, env, "train", 0)
			require.ErrorIs(t, err, lake.ErrNotFound, "nothing released yet")
			require.ErrorContains(t, err, "no release of prod pins it")
			publish()
		}
		build(env, "user_all:scaled") // version 2: staged in prod
		e, l, s, cols := chosen(env)
		want := map[string]int64{"dev": 2, "prod": 1}[env]
		require.Equal(t, []int64{want, want, want}, []int64{e, l, s}, "%s: export, list and show agree", env)
		wantCol := map[string]string{"dev": "scaled", "prod": "total"}[env]
		require.Contains(t, cols, wantCol, "%s: the rows of version %d", env, want)
		if env == "prod" {
			publish()
			e, l, s, cols = chosen(env)
			require.Equal(t, []int64{2, 2, 2}, []int64{e, l, s}, "once released, version 2")
			require.Contains(t, cols, "scaled")
		}
	}
}
