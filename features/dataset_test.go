package features

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

const statsCSV = `user_id,event_ts,created_ts,total
1,2024-01-01 00:00:00,2024-01-01 00:00:00,1
1,2024-01-05 00:00:00,2024-01-05 00:00:00,5
1,2024-01-05 00:00:00,2024-01-06 00:00:00,6
1,2024-01-05 00:00:00,2024-01-04 00:00:00,4
2,2024-01-10 00:00:00,2024-01-10 00:00:00,10
3,2023-01-01 00:00:00,2023-01-01 00:00:00,300
`

// The spine's rows, in order, with what each must get (user_stats: TTL 30d; user_all: TTL 0, factor 2).
const spineCSV = `user_id,event_timestamp,label
2,2024-01-11 00:00:00,a
1,2024-01-04 00:00:00,b
1,2024-01-05 00:00:00,c
1,2024-01-05 00:00:00,d
2,2024-01-09 00:00:00,e
9,2024-01-05 00:00:00,f
3,2024-01-05 00:00:00,g
1,2024-02-10 00:00:00,h
`

const datasetDefs = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: user_stats
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    created_time: created_ts
    ttl: 30d
    features: [{name: total, type: long}]
  - name: user_all
    entities: [user]
    source:
      sql: SELECT user_id, event_ts, created_ts, total * {{ factor }} AS scaled FROM clean.user_stats
      params: {factor: {type: int, default: 2}}
    event_time: event_ts
    created_time: created_ts
    ttl: 0
    features: [{name: scaled, type: long}]
  - name: empty_view
    entities: [user]
    source: {table: clean.empty}
    event_time: event_ts
    features: [{name: total, type: long}]
`

type fixture struct {
	ctx  context.Context
	envs *envs.Service
	eng  *engine.Engine
	b    *Builder
	dir  string
}

func newFixture(t *testing.T, dsn string) *fixture {
	ctx := context.Background()
	db := openDB(t, dsn)
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 2, TempDir: t.TempDir(), ExternalAccess: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	f := &fixture{ctx: ctx, envs: svc, eng: eng, b: &Builder{Registry: NewRegistry(db), Envs: svc, Engine: eng}, dir: t.TempDir()}
	f.importCSV(t, "dev", "clean.user_stats", statsCSV)
	f.emptyTable(t, "dev", "clean.empty")
	d := mustParse(t, datasetDefs)
	require.NoError(t, Validate(ctx, d, &EnvCatalog{Envs: svc, Engine: eng, Env: "dev"}))
	_, err = f.b.Registry.Apply(ctx, "dev", d, "ann")
	require.NoError(t, err)
	return f
}

func (f *fixture) file(t *testing.T, name, body string) string {
	p := filepath.Join(f.dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func (f *fixture) importCSV(t *testing.T, env, table, body string) {
	id, err := lake.ParseIdent(table)
	require.NoError(t, err)
	_, err = f.envs.ImportFile(f.ctx, f.eng, env, id, f.file(t, strings.ReplaceAll(table, ".", "_")+".csv", body),
		engine.ReadOptions{}, envs.WriteOptions{CreateIfMissing: true, Actor: "test", Mode: envs.Overwrite, Force: true})
	require.NoError(t, err)
}

// emptyTable creates a table with columns but no snapshot.
func (f *fixture) emptyTable(t *testing.T, env, table string) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "total", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rdr, err := array.NewRecordReader(schema, nil)
	require.NoError(t, err)
	id, _ := lake.ParseIdent(table)
	_, err = f.envs.Write(f.ctx, env, id, rdr, envs.WriteOptions{CreateIfMissing: true, Actor: "test"})
	require.NoError(t, err)
	p, err := f.envs.Resolve(f.ctx, env, id, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Zero(t, p.SnapshotID, "the fixture needs a table without a snapshot")
}

// rows reads a table through envs as strings ("NULL" for nulls), in stored order.
func (f *fixture) rows(t *testing.T, env, query string) []string {
	tables, err := f.envs.BindSQL(f.ctx, env, query)
	require.NoError(t, err)
	res, err := f.eng.Query(f.ctx, query, tables)
	require.NoError(t, err)
	defer res.Close()
	var out []string
	for res.Next() {
		rec := res.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			var cells []string
			for c := 0; c < int(rec.NumCols()); c++ {
				col := rec.Column(c)
				if col.IsNull(r) {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, strings.Clone(col.ValueStr(r))) // the batch's buffers are freed on Next
				}
			}
			out = append(out, strings.Join(cells, ","))
		}
	}
	require.NoError(t, res.Err())
	return out
}

// TestDatasetPointInTime: each semantic of the point-in-time join, on SQLite and PostgreSQL metadata.
func TestDatasetPointInTime(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t))
			spine := f.file(t, "spine.csv", spineCSV)
			ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine,
				Features: []string{"user_stats:total", "user_all:scaled"}, Actor: "ann"})
			require.NoError(t, err)
			require.Equal(t, int64(8), ds.Rows)
			require.Equal(t, "datasets.train", ds.Table)
			got := f.rows(t, "dev", "SELECT label, total, scaled FROM datasets.train ORDER BY spine_row")
			require.Equal(t, []string{
				"a,10,20",     // latest row before the spine time
				"b,1,2",       // a later row is not visible yet
				"c,6,12",      // event_ts == spine ts counts; the tie goes to the latest created_ts
				"d,6,12",      // a duplicate spine row stays
				"e,NULL,NULL", // before the entity's first event
				"f,NULL,NULL", // a key without features
				"g,NULL,600",  // outside the 30d TTL; TTL 0 is unbounded
				"h,NULL,12",   // the 01-05 row is 36 days old
			}, got)

			// Lineage: definition versions, parameters, the exact input snapshots, the spine digest.
			stats, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "clean", Name: "user_stats"}, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Len(t, ds.Lineage.Views, 2)
			require.Equal(t, ViewLineage{View: "user_stats", Version: 1, Features: []string{"total"},
				Inputs: []Input{{"clean.user_stats", stats.SnapshotID}}, Entities: []EntityRef{{"user", 1}}}, ds.Lineage.Views[0])
			require.Equal(t, map[string]any{"factor": int64(2)}, ds.Lineage.Views[1].Params)
			require.Regexp(t, `^sha256:[0-9a-f]{64}$`, ds.Lineage.SpineDigest)
			stored, err := f.b.Registry.Dataset(f.ctx, "dev", "train")
			require.NoError(t, err)
			require.Len(t, stored, 1)
			require.Equal(t, ds.SnapshotID, stored[0].SnapshotID)
			require.Equal(t, ds.Lineage.SpineDigest, stored[0].Lineage.SpineDigest)
			require.Equal(t, []Input{{"clean.user_stats", stats.SnapshotID}}, stored[0].Lineage.Views[1].Inputs)

			// Parameters, full names, and a spine that is a lake table; a rebuild is the next version.
			f.importCSV(t, "dev", "raw.spine", spineCSV)
			ds, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: "raw.spine", FullNames: true,
				Features: []string{"user_all:scaled"}, Params: map[string]map[string]string{"user_all": {"factor": "10"}}})
			require.NoError(t, err)
			require.Equal(t, int64(2), ds.Version)
			require.Equal(t, "raw.spine", ds.Lineage.SpineInput.Table)
			got = f.rows(t, "dev", "SELECT label, user_all__scaled FROM datasets.train ORDER BY spine_row")
			require.Equal(t, []string{"a,100", "b,10", "c,60", "d,60", "e,NULL", "f,NULL", "g,3000", "h,60"}, got)
			list, err := f.b.Registry.Datasets(f.ctx, "dev")
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.Equal(t, int64(2), list[0].Version)
		})
	}
}

// TestDatasetErrors: bad requests fail clearly and write nothing.
func TestDatasetErrors(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spine := f.file(t, "spine.csv", spineCSV)
	noKey := f.file(t, "nokey.csv", "customer,event_timestamp\n1,2024-01-01 00:00:00\n")
	clash := f.file(t, "clash.csv", "user_id,event_timestamp,total\n1,2024-01-01 00:00:00,3\n")
	noTS := f.file(t, "nots.csv", "user_id,ts\n1,2024-01-01 00:00:00\n")
	cases := []struct {
		name string
		req  DatasetRequest
		want string
	}{
		{"spine without join key", DatasetRequest{Spine: noKey, Features: []string{"user_stats:total"}}, `spine ` + noKey + ` has no join key column "user_id" of view user_stats`},
		{"spine without timestamp", DatasetRequest{Spine: noTS, Features: []string{"user_stats:total"}}, `has no timestamp column "event_timestamp"`},
		{"source without snapshot", DatasetRequest{Spine: spine, Features: []string{"empty_view:total"}}, "source table clean.empty has no snapshot yet in dev"},
		{"injected parameter", DatasetRequest{Spine: spine, Features: []string{"user_all:scaled"},
			Params: map[string]map[string]string{"user_all": {"factor": "1; DROP TABLE clean.user_stats"}}}, "parameter factor"},
		{"unknown feature", DatasetRequest{Spine: spine, Features: []string{"user_stats:nope"}}, `view user_stats has no feature "nope"`},
		{"unknown view", DatasetRequest{Spine: spine, Features: []string{"nope:x"}}, `no feature definition "nope" in dev`},
		{"name clash", DatasetRequest{Spine: clash, Features: []string{"user_stats:total"}}, `column "total" comes from the spine and from view user_stats`},
		{"unpinnable version", DatasetRequest{Spine: spine, Features: []string{"user_stats@7:total"}}, "has no version 7"},
		{"bad reference", DatasetRequest{Spine: spine, Features: []string{"user_stats"}}, "write view:feature"},
		{"unknown spine", DatasetRequest{Spine: "raw.nope", Features: []string{"user_stats:total"}}, "raw.nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Env, tc.req.Name = "dev", "bad"
			_, err := f.b.Build(f.ctx, tc.req)
			require.ErrorContains(t, err, tc.want)
			_, err = f.b.Registry.Dataset(f.ctx, "dev", "bad")
			require.ErrorIs(t, err, ErrNotFound)
		})
	}
	_, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "datasets", Name: "bad"}, lake.SnapshotRef{})
	require.ErrorIs(t, err, lake.ErrNotFound, "no failed build wrote a table")
}

// TestDatasetProdReadsReleasePins: in prod the views read the current release's pins, not newer staged writes,
// and the lineage names the pinned snapshots; without --force the build is refused.
func TestDatasetProdReadsReleasePins(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "prod", "clean.user_stats", statsCSV)
	rel, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "clean", Name: "user_stats"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	pinned := rel.Pins[0].SnapshotID
	f.importCSV(t, "prod", "clean.user_stats", strings.ReplaceAll(statsCSV, ",10\n", ",99\n")) // staged, not released
	d := mustParse(t, datasetDefs)
	d.Views = d.Views[:2]
	require.NoError(t, Validate(f.ctx, d, &EnvCatalog{Envs: f.envs, Engine: f.eng, Env: "prod"}))
	_, err = f.b.Registry.Apply(f.ctx, "prod", d, "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", spineCSV)
	req := DatasetRequest{Env: "prod", Name: "train", Spine: spine, Features: []string{"user_stats:total"}}
	_, err = f.b.Build(f.ctx, req)
	require.ErrorIs(t, err, envs.ErrForbidden)
	req.Force = true
	ds, err := f.b.Build(f.ctx, req)
	require.NoError(t, err)
	require.Equal(t, []Input{{"clean.user_stats", pinned}}, ds.Lineage.Views[0].Inputs)
	// The dataset itself is staged: prod readers see it once a release pins it.
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "datasets", Name: "train"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, "a,10", f.rows(t, "prod", "SELECT label, total FROM datasets.train ORDER BY spine_row")[0], "the released 10, not the staged 99")
}

// TestDatasetSpineOrderLargeSpine: with a spine of several batches (written in parallel files), spine_row still
// gives every row its position in the spine, for a file and for a lake table spine.
func TestDatasetSpineOrderLargeSpine(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	var sb strings.Builder
	sb.WriteString("user_id,event_timestamp,seq\n")
	const n = 150_000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "%d,2024-01-%02d 00:00:00,%d\n", (i*7)%5, 1+(i*13)%28, i)
	}
	file := f.file(t, "big.csv", sb.String())
	f.importCSV(t, "dev", "raw.bigspine", sb.String())
	// A lake table's own read order is the spine order for a table spine.
	tableOrder := f.rows(t, "dev", "SELECT seq FROM raw.bigspine")
	for spine, want := range map[string][]string{file: nil, "raw.bigspine": tableOrder} {
		_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "ord", Spine: spine, Features: []string{"user_stats:total", "user_all:scaled"}})
		require.NoError(t, err)
		rows := f.rows(t, "dev", "SELECT spine_row, seq FROM datasets.ord ORDER BY spine_row")
		require.Len(t, rows, n)
		for i, r := range rows {
			seq := strconv.Itoa(i + 1)
			if want != nil {
				seq = want[i]
			}
			if r != fmt.Sprintf("%d,%s", i+1, seq) {
				t.Fatalf("%s: row %d is %s, want seq %s", spine, i, r, seq)
			}
		}
	}
}

// TestDatasetPinnedVersion: view@N builds with that version's definition and records it.
func TestDatasetPinnedVersion(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, strings.Replace(datasetDefs, "ttl: 30d", "ttl: 0", 1)), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", spineCSV)
	for ref, want := range map[string]string{"user_stats@1": "h,NULL", "user_stats": "h,6"} {
		ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "pinned", Spine: spine, Features: []string{ref + ":total"}})
		require.NoError(t, err)
		require.Equal(t, want, f.rows(t, "dev", "SELECT label, total FROM datasets.pinned ORDER BY spine_row")[7], ref)
		wantVersion := int64(2)
		if strings.Contains(ref, "@") {
			wantVersion = 1
		}
		require.Equal(t, wantVersion, ds.Lineage.Views[0].Version, ref)
	}
}
