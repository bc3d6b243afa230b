package features

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

const instanceDefs = datasetDefs + `  - name: user_label
    entities: [user]
    source:
      sql: SELECT user_id, event_ts, {{ tag }} AS tag FROM clean.user_stats
      params: {tag: {type: string, default: "x"}}
    event_time: event_ts
    features: [{name: tag, type: string}]
feature_services:
  - name: churn_v2
    features: ["user_all(factor=10):scaled", user_stats]
  - name: churn_v3
    features: [user_all:scaled]
    include: [churn_v2]
`

// TestDatasetInstances: a dataset may hold several instances of one parameterised view, each computed with its
// own checked values and named view__feature (default values) or <instance name>__feature.
func TestDatasetInstances(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, instanceDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", spineCSV)
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "inst", Spine: spine, FullNames: true,
		Features: []string{"user_all:scaled", "user_all(factor=10):scaled", "user_all(factor=2):scaled", "user_all( factor = '3' ):scaled"}})
	require.NoError(t, err)
	require.Equal(t, []string{"a,20,100,30", "b,2,10,3", "c,12,60,18", "d,12,60,18", "e,NULL,NULL,NULL", "f,NULL,NULL,NULL", "g,600,3000,900", "h,12,60,18"},
		f.rows(t, "dev", "SELECT label, user_all__scaled, user_all__pe6f89cd237__scaled, user_all__p26b4a53b97__scaled FROM datasets.inst ORDER BY spine_row"))
	require.Len(t, ds.Lineage.Views, 3, "factor=2 is the default instance: one group")
	require.Equal(t, "", ds.Lineage.Views[0].Instance)
	require.Equal(t, "user_all__pe6f89cd237", ds.Lineage.Views[1].Instance)
	require.Equal(t, map[string]any{"factor": int64(10)}, ds.Lineage.Views[1].Params)

	// Without full names two instances give one column name twice.
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "inst", Spine: spine, Features: []string{"user_all:scaled", "user_all(factor=10):scaled"}})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, `column "scaled" comes from view user_all and from view user_all: ask for view__feature names`)

	// Bad parameters name the view and the parameter, and build nothing.
	for ref, want := range map[string]string{
		"user_all(days=3):scaled":                               `view user_all has no parameter "days" (it has factor)`,
		"user_all(factor=2.5):scaled":                           "view user_all: parameter factor: 2.5 is not a valid int",
		"user_stats(factor=2):total":                            `view user_stats has no parameter "factor" (it has none)`,
		"user_all(factor=1;DROP TABLE clean.user_stats):scaled": "parameter factor: 1;DROP TABLE clean.user_stats is not a valid int",
	} {
		_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "bad", Spine: spine, Features: []string{ref}})
		require.ErrorIs(t, err, ErrInvalid, ref)
		require.ErrorContains(t, err, want, ref)
	}
	_, err = f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "datasets", Name: "bad"}, lake.SnapshotRef{})
	require.ErrorIs(t, err, lake.ErrNotFound)
}

// TestDatasetInstanceInjection: a string parameter reaches SQL as one quoted literal: a value that tries to end
// the literal and add SQL is data, in the column, and the tables are untouched.
func TestDatasetInstanceInjection(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, instanceDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n2,2024-01-11 00:00:00\n")
	evil := `x'); DROP TABLE clean.user_stats; SELECT ('`
	ref := Ref{View: "user_label", Params: map[string]string{"tag": evil}, Feature: "tag"}
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "inj", Spine: spine, Features: []string{ref.String()}, FullNames: true})
	require.NoError(t, err)
	got := f.rows(t, "dev", "SELECT user_label__tag FROM datasets.inj")
	require.Equal(t, []string{evil}, got)
	require.Len(t, f.rows(t, "dev", "SELECT * FROM clean.user_stats"), 6, "the source table is intact")
}

// TestDatasetFromService: a feature service name stands for its features (includes expanded, instances kept),
// and the lineage records the services' versions.
func TestDatasetFromService(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, instanceDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", spineCSV)
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "svc", Spine: spine, Features: []string{"churn_v3"}, FullNames: true})
	require.NoError(t, err)
	require.Equal(t, []EntityRef{{"churn_v3", 1}, {"churn_v2", 1}}, ds.Lineage.Services)
	require.Equal(t, []string{"a,20,100,10", "h,12,60,NULL"},
		f.rows(t, "dev", "SELECT label, user_all__scaled, user_all__pe6f89cd237__scaled, user_stats__total FROM datasets.svc WHERE label IN ('a', 'h') ORDER BY spine_row"))

	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "svc", Spine: spine, Features: []string{"nope"}})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, `"nope" is not a feature service in dev: write view:feature`)
}

// TestDatasetTies: rows equal in keys and event time go to the latest created time, a NULL created time loses
// to any other, and rows equal in keys, event time and created time give one row per spine row (never more).
func TestDatasetTies(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.user_stats", `user_id,event_ts,created_ts,total
1,2024-01-05 00:00:00,,1
1,2024-01-05 00:00:00,2024-01-01 00:00:00,2
1,2024-01-05 00:00:00,,3
2,2024-01-05 00:00:00,2024-01-02 00:00:00,7
2,2024-01-05 00:00:00,2024-01-02 00:00:00,7
3,2024-01-05 00:00:00,,8
3,2024-01-05 00:00:00,,8
`)
	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n1,2024-01-06 00:00:00\n2,2024-01-06 00:00:00\n3,2024-01-06 00:00:00\n2,2024-01-06 00:00:00\n")
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "ties", Spine: spine, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	require.Equal(t, int64(4), ds.Rows)
	require.Equal(t, []string{"1,1,2", "2,2,7", "3,3,8", "4,2,7"}, f.rows(t, "dev", "SELECT spine_row, user_id, total FROM datasets.ties ORDER BY spine_row"))
}
