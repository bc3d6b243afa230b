package features

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// TestProdEveryFeatureReadSeesReleasesOnly: in prod, every read of the feature store goes through the current
// release's pins, never through newer staged snapshots: a SQL view's tables (dataset build and materialize), a
// table view, and a spine that is a lake table. A spine table no release pins is refused, never read. Staged
// rows hold 99 / 990; released rows hold 10 / 100.
func TestProdEveryFeatureReadSeesReleasesOnly(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spineRows := "user_id,event_timestamp,label\n2,2024-01-11 00:00:00,a\n"
	f.importCSV(t, "prod", "clean.user_stats", statsCSV)
	f.importCSV(t, "prod", "raw.spine", spineRows)
	rel, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "clean", Name: "user_stats"}, {Zone: "raw", Name: "spine"}},
		envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	pins := map[string]int64{}
	for _, p := range rel.Pins {
		pins[p.Table] = p.SnapshotID
	}
	// Staged, never released: a new value for user 2 and a new spine row.
	f.importCSV(t, "prod", "clean.user_stats", strings.ReplaceAll(statsCSV, ",10\n", ",99\n"))
	f.importCSV(t, "prod", "raw.spine", spineRows+"1,2024-01-05 00:00:00,LEAKED\n")
	f.importCSV(t, "prod", "raw.staged_spine", spineRows) // a table no release pins
	d := mustParse(t, datasetDefs)
	d.Views = d.Views[:2]
	require.NoError(t, Validate(f.ctx, d, &EnvCatalog{Envs: f.envs, Engine: f.eng, Env: "prod"}))
	_, err = f.b.Registry.Apply(f.ctx, "prod", d, "ann")
	require.NoError(t, err)

	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "prod", Name: "train", Spine: "raw.spine", Force: true,
		Features: []string{"user_stats:total", "user_all(factor=10):scaled"}})
	require.NoError(t, err)
	require.Equal(t, int64(1), ds.Rows, "the staged spine row is not read")
	require.Equal(t, &Input{Table: "raw.spine", SnapshotID: pins["raw.spine"]}, ds.Lineage.SpineInput)
	for _, v := range ds.Lineage.Views {
		require.Equal(t, []Input{{"clean.user_stats", pins["clean.user_stats"]}}, v.Inputs, v.View)
	}
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "datasets", Name: "train"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"a,10,100"}, f.rows(t, "prod", "SELECT label, total, scaled FROM datasets.train ORDER BY spine_row"),
		"the released 10 (table view) and 10 × 10 (SQL view), not the staged 99")

	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "prod", Name: "train2", Spine: "raw.staged_spine", Force: true,
		Features: []string{"user_stats:total"}})
	require.ErrorIs(t, err, lake.ErrNotFound, "a spine table no release pins is not read: %v", err)
	_, err = f.b.Registry.Dataset(f.ctx, "prod", "train2")
	require.ErrorIs(t, err, ErrNotFound)

	// materialize of a SQL view instance in prod: reads the pins, stages its table.
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng, Online: &recordingSink{}}
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "prod", Views: []string{"user_all(factor=10)"}, Force: true})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, []Input{{"clean.user_stats", pins["clean.user_stats"]}}, runs[0].Inputs)
	table := strings.TrimPrefix(runs[0].Table, "features.")
	_, err = f.envs.Resolve(f.ctx, "prod", lake.Ident{Zone: "features", Name: table}, lake.SnapshotRef{})
	require.Error(t, err, "a staged materialisation is not readable in prod before a release")
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "features", Name: table}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"100"}, f.rows(t, "prod", "SELECT scaled FROM features."+table+" WHERE user_id = 2"))
}
