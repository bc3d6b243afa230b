package features

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// noCreatedDefs is onlineDefs with one more view, user_nc, over the same table without a created time.
var noCreatedDefs = strings.Replace(onlineDefs, "feature_services:", `  - name: user_nc
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    ttl: 10d
    features: [{name: total, type: long}]
feature_services:`, 1)

// recordingSink is an OnlineSink that keeps what it was given, as text rows per key space.
type recordingSink struct {
	mu     sync.Mutex
	calls  []string            // "space keys=[...] cols=[...]"
	spaces map[string][]string // space -> rows "v1|v2|..."
}

func (s *recordingSink) WriteRecomputed(_ context.Context, space string, keys []string, rdr array.RecordReader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spaces == nil {
		s.spaces = map[string][]string{}
	}
	var cols []string
	for _, f := range rdr.Schema().Fields() {
		cols = append(cols, f.Name+":"+f.Type.String())
	}
	s.calls = append(s.calls, fmt.Sprintf("%s keys=%v cols=%v", space, keys, cols))
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			var cells []string
			for c := 0; c < int(rec.NumCols()); c++ {
				if rec.Column(c).IsNull(r) {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, strings.Clone(rec.Column(c).ValueStr(r)))
				}
			}
			s.spaces[space] = append(s.spaces[space], strings.Join(cells, "|"))
		}
	}
	sort.Strings(s.spaces[space])
	return rdr.Err()
}

func (s *recordingSink) take(space string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.spaces[space]
	delete(s.spaces, space)
	return out
}

const onlineDefs = datasetDefs + `  - name: user_on
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    created_time: created_ts
    online: true
    features:
      - {name: total, type: long}
      - {name: total_7d, type: long, aggregation: {function: sum, column: total, window: 7d}}
feature_services:
  - name: svc
    features: ["user_all(factor=10):scaled"]
`

func materializer(t *testing.T, f *fixture, sink OnlineSink) *Materializer {
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, onlineDefs), "ann")
	require.NoError(t, err)
	return &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng, Online: sink}
}

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestMaterializeFullIncrementalRange: a full run writes every row of the view (keys, event_ts, created_ts,
// features, window aggregations) into features.<instance> and the latest row per entity to the online sink;
// an incremental run appends only rows after the watermark (one snapshot); a range run replaces the rows of its
// range and keeps the others; every run is recorded.
func TestMaterializeFullIncrementalRange(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t))
			sink := &recordingSink{}
			m := materializer(t, f, sink)
			runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Actor: "ann"})
			require.NoError(t, err)
			require.Len(t, runs, 1)
			r := runs[0]
			require.Equal(t, "full", r.Mode)
			require.Equal(t, "features.user_on", r.Table)
			require.Equal(t, int64(6), r.Rows)
			require.Equal(t, ts("2023-01-01"), *r.MinEvent)
			require.Equal(t, ts("2024-01-10"), *r.Watermark)
			stats, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "clean", Name: "user_stats"}, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Equal(t, []Input{{"clean.user_stats", stats.SnapshotID}}, r.Inputs)
			require.Equal(t, []string{
				"1,2024-01-01 00:00:00Z,2024-01-01 00:00:00Z,1,1",
				"1,2024-01-05 00:00:00Z,2024-01-04 00:00:00Z,4,16", // 1 + the three 01-05 rows
				"1,2024-01-05 00:00:00Z,2024-01-05 00:00:00Z,5,16",
				"1,2024-01-05 00:00:00Z,2024-01-06 00:00:00Z,6,16",
				"2,2024-01-10 00:00:00Z,2024-01-10 00:00:00Z,10,10",
				"3,2023-01-01 00:00:00Z,2023-01-01 00:00:00Z,300,300",
			}, f.rows(t, "dev", "SELECT user_id, strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%SZ'), strftime(created_ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%SZ'), total, total_7d FROM features.user_on ORDER BY ALL"))
			require.Equal(t, []string{"user_on keys=[user_id] cols=[user_id:int64 event_ts:timestamp[us, tz=UTC] created_ts:timestamp[us, tz=UTC] total:int64 total_7d:int64]"}, sink.calls)
			require.Equal(t, []string{
				"1|2024-01-05T00:00:00Z|2024-01-06T00:00:00Z|6|16", // the latest created row of the latest event time
				"2|2024-01-10T00:00:00Z|2024-01-10T00:00:00Z|10|10",
				"3|2023-01-01T00:00:00Z|2023-01-01T00:00:00Z|300|300",
			}, sink.take("user_on"))

			// New rows: two after the watermark, one late (before it), which an incremental run does not see.
			f.importCSV(t, "dev", "clean.user_stats", statsCSV+"1,2024-02-01 00:00:00,2024-02-01 00:00:00,7\n4,2024-01-20 00:00:00,,40\n2,2024-01-01 00:00:00,2024-01-01 00:00:00,2\n")
			runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Incremental: true})
			require.NoError(t, err)
			r2 := runs[0]
			require.Equal(t, "incremental", r2.Mode)
			require.Equal(t, int64(2), r2.Rows)
			require.Equal(t, ts("2024-02-01"), *r2.Watermark)
			require.NotEqual(t, r.SnapshotID, r2.SnapshotID)
			require.Equal(t, []string{"8"}, f.rows(t, "dev", "SELECT count(*) FROM features.user_on"))
			require.Equal(t, []string{"1|2024-02-01T00:00:00Z|2024-02-01T00:00:00Z|7|7", "4|2024-01-20T00:00:00Z|NULL|40|40"}, sink.take("user_on"))
			tv, err := f.envs.Describe(f.ctx, "dev", lake.Ident{Zone: "features", Name: "user_on"})
			require.NoError(t, err)
			require.Len(t, tv.Snapshots, 2, "one snapshot per run")

			runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Incremental: true})
			require.NoError(t, err)
			require.Equal(t, int64(0), runs[0].Rows)
			require.Equal(t, ts("2024-02-01"), *runs[0].Watermark)

			// A range run recomputes [01-01, 01-06): the late row appears, the rows outside stay.
			runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_on"}, Start: ts("2024-01-01"), End: ts("2024-01-06")})
			require.NoError(t, err)
			require.Equal(t, "range", runs[0].Mode)
			require.Equal(t, []string{"9"}, f.rows(t, "dev", "SELECT count(*) FROM features.user_on"))
			require.Equal(t, []string{"2,2"}, f.rows(t, "dev", "SELECT user_id, total FROM features.user_on WHERE event_ts = TIMESTAMPTZ '2024-01-01 00:00:00+00' AND user_id = 2"))

			list, err := m.Registry.MaterializeRuns(f.ctx, "dev", "user_on", 0)
			require.NoError(t, err)
			var modes []string
			for _, l := range list {
				modes = append(modes, fmt.Sprintf("%s:%d:%s", l.Mode, l.Rows, l.Status))
			}
			require.Equal(t, []string{"range:9:succeeded", "incremental:0:succeeded", "incremental:2:succeeded", "full:6:succeeded"}, modes)
			require.Equal(t, ts("2024-02-01"), *list[0].Watermark)
			require.Equal(t, r.Inputs, list[3].Inputs)
		})
	}
}

// TestMaterializeIncrementalLateRows: a row whose event time is before the watermark but that arrives later is
// appended by --incremental: for a view with a created time when it was created at or after the latest created
// time the table holds, for one without within the view's TTL before the watermark; rows the table has are not
// appended again.
func TestMaterializeIncrementalLateRows(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng}
	defs := noCreatedDefs
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, defs), "ann")
	require.NoError(t, err)
	views := []string{"user_stats", "user_nc"}
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: views})
	require.NoError(t, err)
	require.Equal(t, ts("2024-01-10"), *runs[0].Watermark)

	// Late: user 2 at 01-05 (before the 01-10 watermark), created 03-01; user 3 at 2023-06-01, before the
	// watermark by more than user_nc's TTL and created long ago: neither view takes it.
	f.importCSV(t, "dev", "clean.user_stats", statsCSV+"2,2024-01-05 00:00:00,2024-03-01 00:00:00,7\n3,2023-06-01 00:00:00,2023-06-01 00:00:00,9\n")
	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: views, Incremental: true})
	require.NoError(t, err)
	for _, r := range runs {
		require.Equal(t, "incremental", r.Mode, r.View)
		require.Equal(t, int64(1), r.Rows, r.View)
		require.Equal(t, ts("2024-01-10"), *r.Watermark, r.View)
	}
	require.Equal(t, []string{"2,2024-01-05,7", "2,2024-01-10,10"},
		f.rows(t, "dev", "SELECT user_id, strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%d'), total FROM features.user_stats WHERE user_id = 2 ORDER BY ALL"))
	require.Equal(t, []string{"7", "7"}, f.rows(t, "dev", "SELECT count(*) FROM features.user_stats UNION ALL SELECT count(*) FROM features.user_nc"))

	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: views, Incremental: true})
	require.NoError(t, err)
	for _, r := range runs {
		require.Equal(t, int64(0), r.Rows, "nothing new: %s", r.View)
	}
}

// TestMaterializeInstancesAndDefaults: without arguments every view's default instance and every instance a
// service names is materialised, each into its own table; a parameterised instance's table is its instance name.
func TestMaterializeInstancesAndDefaults(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	m := materializer(t, f, nil)
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_all(factor=10)", "user_all(factor=2)", "user_all"}})
	require.NoError(t, err)
	require.Len(t, runs, 2, "user_all(factor=2) is user_all")
	require.Equal(t, "features.user_all__pe6f89cd237", runs[0].Table)
	require.Equal(t, map[string]any{"factor": int64(10)}, runs[0].Params)
	require.Equal(t, []string{"100"}, f.rows(t, "dev", "SELECT scaled FROM features.user_all__pe6f89cd237 WHERE user_id = 2"))
	require.Equal(t, []string{"20"}, f.rows(t, "dev", "SELECT scaled FROM features.user_all WHERE user_id = 2"))

	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev"})
	require.ErrorIs(t, err, ErrInvalid, "empty_view's source has no snapshot")
	require.ErrorContains(t, err, "empty_view: view empty_view: source table clean.empty has no snapshot yet in dev")
	var got []string
	for _, r := range runs {
		got = append(got, r.Instance+":"+r.Status)
	}
	sort.Strings(got)
	require.Equal(t, []string{"empty_view:failed", "user_all:succeeded", "user_all__pe6f89cd237:succeeded", "user_on:succeeded", "user_stats:succeeded"}, got)
	list, err := m.Registry.MaterializeRuns(f.ctx, "dev", "empty_view", 0)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Contains(t, list[0].Error, "no snapshot yet")

	for req, want := range map[*MaterializeRequest]string{
		{Env: "dev", Views: []string{"nope"}}:                        `no feature definition "nope" in dev`,
		{Env: "dev", Views: []string{"user_all(factor=x)"}}:          "parameter factor: x is not a valid int",
		{Env: "dev", Views: []string{"user_all:scaled"}}:             "name a view instance",
		{Env: "dev", Start: ts("2024-02-01"), End: ts("2024-01-01")}: "is not before --end",
		{Env: "dev", Start: ts("2024-01-01"), Incremental: true}:     "give --incremental or --start, not both",
	} {
		_, err := m.Materialize(f.ctx, *req)
		require.ErrorContains(t, err, want)
	}
}

// TestMaterializeProd: prod needs --force, reads the release's pins, stages what it writes (prod readers see it
// only after a release) and leaves the online store alone.
func TestMaterializeProd(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "prod", "clean.user_stats", statsCSV)
	_, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "clean", Name: "user_stats"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	f.importCSV(t, "prod", "clean.user_stats", strings.ReplaceAll(statsCSV, ",10\n", ",99\n")) // staged, not released
	d := mustParse(t, onlineDefs)
	d.Views = append(d.Views[:2:2], d.Views[3])
	_, err = f.b.Registry.Apply(f.ctx, "prod", d, "ann")
	require.NoError(t, err)
	sink := &recordingSink{}
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng, Online: sink}
	_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "prod", Views: []string{"user_on"}})
	require.ErrorIs(t, err, envs.ErrForbidden)
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "prod", Views: []string{"user_on"}, Force: true})
	require.NoError(t, err)
	require.Empty(t, sink.calls, "prod's online store is loaded from released tables, not staged runs")
	_, err = f.envs.Resolve(f.ctx, "prod", lake.Ident{Zone: "features", Name: "user_on"}, lake.SnapshotRef{})
	require.Error(t, err, "not in a release yet")
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "features", Name: "user_on"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"10"}, f.rows(t, "prod", "SELECT total FROM features.user_on WHERE user_id = 2"), "the released 10, not the staged 99")
	require.Equal(t, runs[0].SnapshotID, mustResolve(t, f, "prod", "features.user_on"))
}

func mustResolve(t *testing.T, f *fixture, env, table string) int64 {
	id, err := lake.ParseIdent(table)
	require.NoError(t, err)
	p, err := f.envs.Resolve(f.ctx, env, id, lake.SnapshotRef{})
	require.NoError(t, err)
	return p.SnapshotID
}
