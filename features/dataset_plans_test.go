package features

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// TestDatasetHashAndWindowPlansAgree: the two ways both plans (positional and general) find matches — the hash
// join when keys have few rows, the window otherwise — give the same rows, over two data files with created-time
// ties, NULL created times, NULL features, the TTL, keys without rows and duplicate spine rows; each way is
// forced in turn and compared with the general plan's window.
func TestDatasetHashAndWindowPlansAgree(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.mixed", mixedCSV(600, 40, 0))
	id := lake.Ident{Zone: "clean", Name: "mixed"}
	_, err := f.envs.ImportFile(f.ctx, f.eng, "dev", id, f.file(t, "more.csv", mixedCSV(400, 40, 600)),
		engine.ReadOptions{}, envs.WriteOptions{Actor: "test", Mode: envs.Append})
	require.NoError(t, err)
	_, err = f.b.Registry.Apply(f.ctx, "dev", mustParse(t, positionDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", spineMixed(700, 40))

	defer func(old int) { pitHashFactor = old }(pitHashFactor)
	var want []string
	for _, factor := range []int{-1, 1 << 30} { // no pair fits (the window); every pair does (the hash join)
		pitHashFactor = factor
		for _, view := range []string{"by_sql", "by_table"} {
			_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: view, Spine: spine, Features: []string{view + ":*"}})
			require.NoError(t, err)
			got := f.rows(t, "dev", "SELECT spine_row, user_id, event_timestamp, a, b FROM datasets."+view+" ORDER BY spine_row")
			if want == nil {
				want = got
				require.Len(t, want, 700)
			}
			require.Equal(t, want, got, "%s, factor %d", view, factor)
		}
	}
}

// TestDatasetSkewedKeyTakesWindow: one key with most feature rows and most spine rows (the hash join's pairs
// would be their product) still gives each spine row its latest earlier row, as the general plan does, and two
// views in one build each find their own plan; a spine of keys with one row each takes the hash join.
func TestDatasetSkewedKeyTakesWindow(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	var feats, spine, own strings.Builder
	feats.WriteString("user_id,event_ts,created_ts,a,b\n")
	for i := range 3000 {
		key := 0
		if i%10 == 9 {
			key = i // a key of its own
		}
		fmt.Fprintf(&feats, "%d,%s,,%d,%d.5\n", key, minuteTime((i*7919)%(14*24*60)), i, i)
	}
	spine.WriteString("user_id,event_timestamp\n")
	own.WriteString("user_id,event_timestamp\n")
	for i := range 2000 {
		key := 0
		if i%10 == 9 {
			key = i
			fmt.Fprintf(&own, "%d,%s\n", key, minuteTime((i*104729)%(15*24*60)))
		}
		fmt.Fprintf(&spine, "%d,%s\n", key, minuteTime((i*104729)%(15*24*60)))
	}
	f.importCSV(t, "dev", "clean.mixed", feats.String())
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, positionDefs), "ann")
	require.NoError(t, err)
	sp := f.file(t, "spine.csv", spine.String())
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "both", Spine: sp, Features: []string{"by_table:*", "by_sql:*"}, FullNames: true})
	require.NoError(t, err)
	rows := f.rows(t, "dev", "SELECT count(*), count(by_table__b), count(*) FILTER (by_table__a IS NOT DISTINCT FROM by_sql__a AND by_table__b IS NOT DISTINCT FROM by_sql__b) FROM datasets.both")
	var n, matched, same int
	_, err = fmt.Sscanf(rows[0], "%d,%d,%d", &n, &matched, &same)
	require.NoError(t, err)
	require.Equal(t, 2000, n)
	require.Equal(t, n, same, "both plans pick the same rows")
	require.Greater(t, matched, 1000, "most spine rows of the skewed key match")
	require.False(t, f.hashPlan(t, DatasetRequest{Env: "dev", Name: "x", Spine: sp, SpineTime: "event_timestamp", Features: []string{"by_table:*"}}),
		"the skewed key takes the window")
	ownKeys := f.file(t, "own.csv", own.String())
	require.True(t, f.hashPlan(t, DatasetRequest{Env: "dev", Name: "x", Spine: ownKeys, SpineTime: "event_timestamp", Features: []string{"by_table:*"}}),
		"keys with one row each take the hash join")
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "own", Spine: ownKeys, Features: []string{"by_table:*", "by_sql:*"}, FullNames: true})
	require.NoError(t, err)
	require.Equal(t, []string{"200,200"}, f.rows(t, "dev", "SELECT count(*), count(*) FILTER (by_table__a IS NOT DISTINCT FROM by_sql__a AND by_table__b IS NOT DISTINCT FROM by_sql__b) FROM datasets.own"))
}

// hashPlan says whether the positional plan of a one-view build takes the hash join (its guard, g0).
func (f *fixture) hashPlan(t *testing.T, req DatasetRequest) bool {
	q, _, err := f.b.plan(f.ctx, req)
	require.NoError(t, err)
	if q.digest != nil {
		_, _ = q.digest()
	}
	at := strings.Index(q.sql, "\nSELECT spine.*")
	require.Positive(t, at, q.sql)
	res, err := f.eng.Query(f.ctx, q.sql[:at]+"\nSELECT small FROM g0", q.tables)
	require.NoError(t, err)
	defer res.Close()
	require.True(t, res.Next(), "the guard has a row")
	small := res.RecordBatch().Column(0).ValueStr(0)
	require.NoError(t, res.Err())
	return small == "true"
}

// compositeDefs: an entity with two join keys (a long and a string), as a table view and a SQL view.
const compositeDefs = `entities:
  - name: shop
    join_keys: [{name: shop_id, type: long}, {name: region, type: string}]
feature_views:
  - name: sales_table
    entities: [shop]
    source: {table: clean.sales}
    event_time: event_ts
    features: [{name: v, type: long}]
  - name: sales_sql
    entities: [shop]
    source: {sql: SELECT * FROM clean.sales}
    event_time: event_ts
    features: [{name: v, type: long}]
`

// TestDatasetCompositeKeys: a view whose entity has two join keys matches on both, in both plans and both
// ways of finding matches; a spine row with a NULL key or a key pair without rows gets NULLs.
func TestDatasetCompositeKeys(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.sales", "shop_id,region,event_ts,v\n"+
		"1,eu,2024-01-01 00:00:00,10\n1,us,2024-01-01 00:00:00,20\n1,eu,2024-01-02 00:00:00,11\n2,eu,2024-01-01 00:00:00,30\n")
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, compositeDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", "shop_id,region,event_timestamp\n"+
		"1,eu,2024-01-01 12:00:00\n1,us,2024-01-03 00:00:00\n1,eu,2024-01-03 00:00:00\n2,us,2024-01-03 00:00:00\n1,,2024-01-03 00:00:00\n")
	defer func(old int) { pitHashFactor = old }(pitHashFactor)
	for _, factor := range []int{-1, 1 << 30} {
		pitHashFactor = factor
		for _, view := range []string{"sales_table", "sales_sql"} {
			_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: view, Spine: spine, Features: []string{view + ":v"}})
			require.NoError(t, err)
			require.Equal(t, []string{"1,10", "2,20", "3,11", "4,NULL", "5,NULL"},
				f.rows(t, "dev", "SELECT spine_row, v FROM datasets."+view+" ORDER BY spine_row"), "%s, factor %d", view, factor)
		}
	}
}
