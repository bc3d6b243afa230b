package features

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestSQLViewLineageNamesEveryTable: a SQL view over two lake tables records both tables' exact snapshots as
// its inputs, in a dataset's lineage and in a materialisation run; a newer write to either table shows in the
// next build's lineage.
func TestSQLViewLineageNamesEveryTable(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.countries", "user_id,country\n1,fr\n2,de\n")
	d := mustParse(t, `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: joined
    entities: [user]
    source:
      sql: SELECT s.user_id, s.event_ts, s.total, c.country FROM clean.user_stats s JOIN clean.countries c USING (user_id)
    event_time: event_ts
    ttl: 0
    features: [{name: total, type: long}, {name: country, type: string}]
`)
	require.NoError(t, Validate(f.ctx, d, &EnvCatalog{Envs: f.envs, Engine: f.eng, Env: "dev"}))
	_, err := f.b.Registry.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	want := func() []Input {
		in := []Input{{"clean.countries", mustResolve(t, f, "dev", "clean.countries")}, {"clean.user_stats", mustResolve(t, f, "dev", "clean.user_stats")}}
		return in
	}
	sorted := func(in []Input) []Input {
		out := append([]Input(nil), in...)
		sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
		return out
	}
	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n2,2024-01-11 00:00:00\n")
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "j", Spine: spine, Features: []string{"joined:*"}})
	require.NoError(t, err)
	require.Equal(t, want(), sorted(ds.Lineage.Views[0].Inputs))
	require.Equal(t, []string{"10,de"}, f.rows(t, "dev", "SELECT total, country FROM datasets.j"))

	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng, Online: &recordingSink{}}
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"joined"}})
	require.NoError(t, err)
	require.Equal(t, want(), sorted(runs[0].Inputs))

	f.importCSV(t, "dev", "clean.countries", "user_id,country\n1,fr\n2,it\n")
	ds, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "j", Spine: spine, Features: []string{"joined:*"}})
	require.NoError(t, err)
	require.Equal(t, want(), sorted(ds.Lineage.Views[0].Inputs), "the newer countries snapshot")
	require.Equal(t, []string{"10,it"}, f.rows(t, "dev", "SELECT total, country FROM datasets.j"))
}
