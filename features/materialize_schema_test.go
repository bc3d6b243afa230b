package features

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// TestMaterializeFullDropsRemovedFeature: after a feature is removed from a view and the view re-applied, a
// range or incremental run keeps the table's column (the rows it keeps have values) and says so in the run; a
// full run drops the column from the table and from the rows the online store gets, and the table's older
// snapshot still reads with it.
func TestMaterializeFullDropsRemovedFeature(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	sink := &recordingSink{}
	m := materializer(t, f, sink)
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}})
	require.NoError(t, err)
	first := runs[0]
	require.Empty(t, first.DroppedColumns)
	require.Empty(t, first.Note)
	sink.take("user_on")

	aggLine := "      - {name: total_7d, type: long, aggregation: {function: sum, column: total, window: 7d}}\n"
	require.Contains(t, onlineDefs, aggLine)
	_, err = f.b.Registry.Apply(f.ctx, "dev", mustParse(t, strings.Replace(onlineDefs, aggLine, "", 1)), "ann")
	require.NoError(t, err)

	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Start: ts("2024-01-01"), End: ts("2024-01-06")})
	require.NoError(t, err)
	r := runs[0]
	require.Equal(t, "range", r.Mode)
	require.Equal(t, []string{"total_7d"}, r.StaleColumns)
	require.Equal(t, "features.user_on still has column(s) total_7d, which user_on@2 no longer declares: this range run wrote them as NULL; "+
		"a full materialisation of the instance (without --incremental, --start or --end) drops them", r.Note)
	require.Equal(t, []string{"1,2024-01-01,NULL", "1,2024-01-05,NULL", "1,2024-01-05,NULL", "1,2024-01-05,NULL", "2,2024-01-10,10", "3,2023-01-01,300"},
		f.rows(t, "dev", "SELECT user_id, strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%d'), total_7d FROM features.user_on ORDER BY ALL"))

	f.importCSV(t, "dev", "clean.user_stats", statsCSV+"1,2024-02-01 00:00:00,2024-02-01 00:00:00,7\n")
	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Incremental: true})
	require.NoError(t, err)
	require.Equal(t, "incremental", runs[0].Mode)
	require.Equal(t, int64(1), runs[0].Rows)
	require.Equal(t, []string{"total_7d"}, runs[0].StaleColumns)
	require.Contains(t, runs[0].Note, "this incremental run wrote them as NULL")
	sink.take("user_on")
	sink.calls = nil

	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}})
	require.NoError(t, err)
	r = runs[0]
	require.Equal(t, "full", r.Mode)
	require.Equal(t, []string{"total_7d"}, r.DroppedColumns)
	require.Empty(t, r.StaleColumns)
	require.Equal(t, "dropped column(s) total_7d of features.user_on, which user_on@2 no longer declares (older snapshots keep them)", r.Note)
	require.Equal(t, []string{"user_id", "event_ts", "created_ts", "total"},
		f.rows(t, "dev", "SELECT column_name FROM (DESCRIBE features.user_on)"))
	require.Equal(t, []string{"user_on keys=[user_id] cols=[user_id:int64 event_ts:timestamp[us, tz=UTC] created_ts:timestamp[us, tz=UTC] total:int64]"},
		sink.calls, "the online rows have the view's features only")

	// The first run's snapshot still has the column, with its values.
	old, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: FeaturesZone, Name: "user_on"}, lake.SnapshotRef{ID: first.SnapshotID})
	require.NoError(t, err)
	res, err := f.eng.Query(f.ctx, "SELECT string_agg(total_7d::VARCHAR, ',' ORDER BY user_id, event_ts, created_ts) FROM features.user_on", []engine.Table{envs.EngineTable(old)})
	require.NoError(t, err)
	defer res.Close()
	require.True(t, res.Next())
	require.Equal(t, "1,16,16,16,10,300", res.RecordBatch().Column(0).ValueStr(0))

	// Nothing stale: no note.
	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Incremental: true})
	require.NoError(t, err)
	require.Empty(t, runs[0].StaleColumns)
	require.Empty(t, runs[0].Note)
}

// TestMaterializeFullTypeChange: a full run after a feature's type changed keeps the column (its field id)
// when the new type fits in it (long declared int stays long), and fails, changing nothing, with what to do
// when it does not (long to string).
func TestMaterializeFullTypeChange(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	m := materializer(t, f, nil)
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}})
	require.NoError(t, err)
	retype := func(typ string) error {
		d := strings.Replace(onlineDefs, "      - {name: total, type: long}\n    ", "      - {name: total, type: "+typ+"}\n    ", 1)
		d = strings.Replace(d, "      - {name: total_7d, type: long, aggregation: {function: sum, column: total, window: 7d}}\n", "", 1)
		_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, d), "ann")
		require.NoError(t, err)
		_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}})
		return err
	}
	require.NoError(t, retype("int"))
	require.Equal(t, []string{"user_id,BIGINT", "event_ts,TIMESTAMP WITH TIME ZONE", "created_ts,TIMESTAMP WITH TIME ZONE", "total,BIGINT"},
		f.rows(t, "dev", "SELECT column_name, column_type FROM (DESCRIBE features.user_on)"))
	current := mustResolve(t, f, "dev", "features.user_on")
	require.NotEqual(t, runs[0].SnapshotID, current)

	err = retype("string")
	require.ErrorIs(t, err, errs.Invalid)
	require.ErrorContains(t, err, `column "total" has type long in the table but string in the data`)
	require.ErrorContains(t, err, "rename the feature, or remove the table with `strata table rm features.user_on --env dev` and materialise again")
	require.Equal(t, current, mustResolve(t, f, "dev", "features.user_on"), "nothing written")
}

// TestMaterializeRunsKeepSchemaNotes: the columns a run dropped or kept and its note are stored with the run,
// so the run history (MaterializeRuns) shows them as the run reported them; a run without any has none.
func TestMaterializeRunsKeepSchemaNotes(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	m := materializer(t, f, nil)
	_, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}})
	require.NoError(t, err)
	aggLine := "      - {name: total_7d, type: long, aggregation: {function: sum, column: total, window: 7d}}\n"
	_, err = f.b.Registry.Apply(f.ctx, "dev", mustParse(t, strings.Replace(onlineDefs, aggLine, "", 1)), "ann")
	require.NoError(t, err)
	ranged, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Start: ts("2024-01-01"), End: ts("2024-01-06")})
	require.NoError(t, err)
	full, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}})
	require.NoError(t, err)

	hist, err := f.b.Registry.MaterializeRuns(f.ctx, "dev", "user_on", 0)
	require.NoError(t, err)
	require.Len(t, hist, 3)
	byID := map[string]MaterializeRun{}
	for _, r := range hist {
		byID[r.ID] = r
	}
	gotFull, gotRange := byID[full[0].ID], byID[ranged[0].ID]
	require.Equal(t, []string{"total_7d"}, gotFull.DroppedColumns)
	require.Empty(t, gotFull.StaleColumns)
	require.Equal(t, full[0].Note, gotFull.Note)
	require.Contains(t, gotFull.Note, "dropped column(s) total_7d")
	require.Equal(t, []string{"total_7d"}, gotRange.StaleColumns)
	require.Empty(t, gotRange.DroppedColumns)
	require.Equal(t, ranged[0].Note, gotRange.Note)
	require.Contains(t, gotRange.Note, "this range run wrote them as NULL")
	for _, r := range hist {
		if r.ID != full[0].ID && r.ID != ranged[0].ID {
			require.Empty(t, r.DroppedColumns)
			require.Empty(t, r.StaleColumns)
			require.Empty(t, r.Note)
		}
	}
}
