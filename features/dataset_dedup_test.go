package features

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/internal/testenv"
)

// pointInTimeWindow is the plan pointInTime replaced (kept here as the reference its output is compared with, and
// as the benchmarks' peer): the wide fetch deduplicates every matched row with a window ordered by a hash of its
// features, exact ties or not.
func pointInTimeWindow(v *View, keys []JoinKey, feats []string, i int, src, spineTime string) (*pitSQL, error) {
	created := "CAST(NULL AS TIMESTAMPTZ)"
	if v.CreatedTime != "" {
		created = "CAST(" + ident(v.CreatedTime) + " AS TIMESTAMPTZ)"
	}
	var fKeys, sKeys, part, aKeys, on, semi, notNull []string
	for n, k := range keys {
		dt, err := engine.IcebergToDuckDB(k.Type)
		if err != nil {
			return nil, err
		}
		kn := fmt.Sprintf("__strata_k%d", n)
		fKeys = append(fKeys, fmt.Sprintf("CAST(%s AS %s) AS %s", ident(k.Name), dt, kn))
		sKeys = append(sKeys, fmt.Sprintf("CAST(%s AS %s)", ident(k.Name), dt))
		notNull = append(notNull, ident(k.Name)+" IS NOT NULL")
		part = append(part, kn)
		aKeys = append(aKeys, "m."+kn)
		on = append(on, fmt.Sprintf("j%d.%s = a%d.%s", i, kn, i, kn))
		semi = append(semi, fmt.Sprintf("x.%s = CAST(s.%s AS %s)", kn, ident(k.Name), dt))
	}
	ts := "CAST(" + ident(v.EventTime) + " AS TIMESTAMPTZ)"
	semi = append(semi, "x.__strata_ts = CAST(s."+ident(v.EventTime)+" AS TIMESTAMPTZ)")
	if v.CreatedTime != "" {
		semi = append(semi, "x.__strata_cts IS NOT DISTINCT FROM CAST(s."+ident(v.CreatedTime)+" AS TIMESTAMPTZ)")
	}
	inTTL := "m.__strata_m IS NOT NULL"
	if v.TTL > 0 {
		inTTL = fmt.Sprintf("m.__strata_m.t >= m.__strata_t - to_microseconds(%d)", time.Duration(v.TTL).Microseconds())
	}
	fcols := make([]string, len(feats))
	for n, f := range feats {
		fcols[n] = ident(f)
	}
	p := strings.Join(part, ", ")
	pit := &pitSQL{ctes: []string{
		fmt.Sprintf("s%d AS NOT MATERIALIZED (%s)", i, src),
		fmt.Sprintf("u%d AS (SELECT %s, %s AS __strata_t, 0 AS __strata_side, %s AS __strata_c, CAST(NULL AS BIGINT) AS __strata_r FROM s%d WHERE %s IS NOT NULL AND %s\n"+
			"  UNION ALL SELECT %s, CAST(%s AS TIMESTAMPTZ), 1, NULL, __strata_row FROM spine)",
			i, strings.Join(fKeys, ", "), ts, created, i, ident(v.EventTime), strings.Join(notNull, " AND "), strings.Join(sKeys, ", "), ident(spineTime)),
		fmt.Sprintf("m%d AS (SELECT __strata_r, %s, __strata_t, last_value(CASE WHEN __strata_side = 0 THEN {'t': __strata_t, 'c': __strata_c} END IGNORE NULLS) "+
			"OVER (PARTITION BY %s ORDER BY __strata_t, __strata_side, __strata_c NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __strata_m "+
			"FROM u%d QUALIFY __strata_side = 1)", i, p, p, i),
		fmt.Sprintf("a%d AS (SELECT m.__strata_r, %s, m.__strata_m.t AS __strata_ts, m.__strata_m.c AS __strata_cts FROM m%d AS m WHERE m.__strata_t IS NOT NULL AND %s)",
			i, strings.Join(aKeys, ", "), i, inTTL),
		fmt.Sprintf("w%d AS (SELECT %s, %s AS __strata_ts, %s AS __strata_cts, %s FROM s%d AS s\n"+
			"  WHERE EXISTS (SELECT 1 FROM a%d AS x WHERE %s)\n"+
			"  QUALIFY row_number() OVER (PARTITION BY %s, __strata_ts, __strata_cts ORDER BY hash(%s)) = 1)",
			i, strings.Join(fKeys, ", "), ts, created, strings.Join(fcols, ", "), i, i, strings.Join(semi, " AND "), p, strings.Join(fcols, ", ")),
	}}
	pit.join = fmt.Sprintf("LEFT JOIN a%d ON a%d.__strata_r = spine.__strata_row", i, i)
	on = append(on, fmt.Sprintf("j%d.__strata_ts = a%d.__strata_ts", i, i), fmt.Sprintf("j%d.__strata_cts IS NOT DISTINCT FROM a%d.__strata_cts", i, i))
	pit.backJoin = fmt.Sprintf("LEFT JOIN w%d AS j%d ON %s", i, i, strings.Join(on, " AND "))
	return pit, nil
}

// TestDatasetDedupMatchesWindowPlan: on random rows full of exact ties (same key, event time and created time,
// NULL created times included, features equal or not), the plan that sends only ties through the hash window
// gives the same dataset, row for row, as the plan that sent every matched row through it.
func TestDatasetDedupMatchesWindowPlan(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	r := rand.New(rand.NewPCG(9, 15))
	day := func(d int) string {
		return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d).Format("2006-01-02 15:04:05")
	}
	val := func() string {
		if r.IntN(6) == 0 {
			return ""
		}
		return strconv.Itoa(r.IntN(4))
	}
	var rows strings.Builder
	rows.WriteString("user_id,event_ts,created_ts,a,b\n")
	for n := 0; n < 3000; n++ {
		created := ""
		if r.IntN(3) > 0 {
			created = day(r.IntN(3))
		}
		user := strconv.Itoa(r.IntN(40))
		if r.IntN(50) == 0 {
			user = ""
		}
		key := fmt.Sprintf("%s,%s,%s", user, day(r.IntN(20)), created)
		a, b := val(), val()
		for k := r.IntN(3); k >= 0; k-- { // exact ties: the same row again, or the same triple with other features
			fmt.Fprintf(&rows, "%s,%s,%s\n", key, a, b)
			if r.IntN(2) == 0 {
				a, b = val(), val()
			}
		}
	}
	f.importCSV(t, "dev", "clean.ties", rows.String())
	var spine strings.Builder
	spine.WriteString("user_id,event_timestamp\n")
	for n := 0; n < 2000; n++ {
		spine.WriteString(fmt.Sprintf("%d,%s\n", r.IntN(45), day(r.IntN(25))))
	}
	spineFile := f.file(t, "ties_spine.csv", spine.String())
	d := mustParse(t, `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: tie_created
    entities: [user]
    source: {table: clean.ties}
    event_time: event_ts
    created_time: created_ts
    ttl: 5d
    features: [{name: a, type: long}, {name: b, type: long}]
  - name: tie_event
    entities: [user]
    source: {table: clean.ties}
    event_time: event_ts
    features: [{name: a, type: long}, {name: b, type: long}]
`)
	_, err := f.b.Registry.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	build := func(name string, plan func(*View, []JoinKey, []string, int, string, string) (*pitSQL, error)) []string {
		pitPlan = plan
		defer func() { pitPlan = pointInTime }()
		ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: name, Spine: spineFile, Features: []string{"tie_created:*", "tie_event:*"}, FullNames: true})
		require.NoError(t, err)
		require.Equal(t, int64(2000), ds.Rows)
		return f.rows(t, "dev", "SELECT * FROM datasets."+name+" ORDER BY spine_row")
	}
	old, got := build("ties_window", pointInTimeWindow), build("ties_dedup", pointInTime)
	require.Len(t, got, 2000)
	require.Equal(t, old, got)
	matched := 0
	for _, row := range got {
		if !strings.Contains(row, "NULL,NULL,NULL,NULL") {
			matched++
		}
	}
	require.Greater(t, matched, 1000, "most spine rows should match feature rows")
}
