package features

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// lateAggView is a view over clean.orders with window aggregations of several functions and windows; it is
// declared twice, NAME_inc (materialised incrementally) and NAME_full (materialised in full), to compare.
const lateAggView = `  - name: %[1]s
    entities: [user]
%[2]s    event_time: event_ts
    features:
      - {name: amount, type: long}
      - {name: sum_1h, type: long, aggregation: {function: sum, column: amount, window: 1h}}
      - {name: n_1d, type: long, aggregation: {function: count, window: 1d}}
      - {name: mean_7d, type: double, aggregation: {function: mean, column: amount, window: 7d}}
      - {name: items_30d, type: long, aggregation: {function: count_distinct, column: item, window: 30d}}
%[3]s`

func lateAggDefs() string {
	last := "      - {name: last_2d, type: long, aggregation: {function: last, column: amount, window: 2d}}\n"
	created := "    source: {table: clean.orders}\n    created_time: created_ts\n"
	var b strings.Builder
	b.WriteString(datasetDefs[:strings.Index(datasetDefs, "feature_views:")] + "feature_views:\n")
	for _, name := range []string{"orders_inc", "orders_full"} {
		fmt.Fprintf(&b, lateAggView, name, created, last)
	}
	// Without a created time, late rows are those within the TTL before the watermark (every row with TTL 0),
	// found by (keys, event time) where the source has more rows than the table, so the row of item e (a late
	// row tied with an existing event time) is one; last is left out, as event times may tie.
	for _, name := range []string{"orders_nc_inc", "orders_nc_full"} {
		fmt.Fprintf(&b, lateAggView, name, "    source: {sql: \"SELECT * FROM clean.orders\"}\n    ttl: 0\n", "")
	}
	return b.String()
}

// orderRows generates n rows of orders for users 1..users at random minutes of January 2024, created a few
// minutes after their event time plus createdAt (unique created times, so `last` has no ties), amounts with
// some nulls, items a to d.
func orderRows(r *rand.Rand, n, users int, createdAt time.Duration, seq *int) string {
	var b strings.Builder
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for range n {
		*seq++
		ev := jan.Add(time.Duration(r.IntN(31*24*60)) * time.Minute)
		cr := ev.Add(createdAt + time.Duration(*seq)*time.Second)
		amount := fmt.Sprint(r.IntN(100))
		if r.IntN(10) == 0 {
			amount = ""
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s,%c\n", 1+r.IntN(users), ev.Format("2006-01-02 15:04:05"), cr.Format("2006-01-02 15:04:05"),
			amount, 'a'+rune(r.IntN(4)))
	}
	return b.String()
}

// TestMaterializeIncrementalLateAggregations: an incremental run that picks up late rows recomputes the window
// aggregations (sum, count, mean, count_distinct, last over 1h, 1d, 7d, 30d, 2d) of the rows whose windows
// hold them, so the table is exactly what a full materialisation gives (every row compared), for late rows
// found by created time and by TTL, spread over the month (further apart than the largest window), tied with
// existing event times, and for new entities; the data files that cannot hold those entities are kept.
func TestMaterializeIncrementalLateAggregations(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	r := rand.New(rand.NewPCG(7, 9))
	seq := 0
	// User 1's row late on the 31st is within 30d of a late row of the 31st, not of one of the 1st.
	data := "user_id,event_ts,created_ts,amount,item\n" + orderRows(r, 150, 6, time.Minute, &seq) + "1,2024-01-31 23:30:00,2024-01-31 23:31:00,9,a\n"
	f.importCSV(t, "dev", "clean.orders", data)
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, lateAggDefs()), "ann")
	require.NoError(t, err)
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng}
	pairs := [][2]string{{"orders_inc", "orders_full"}, {"orders_nc_inc", "orders_nc_full"}}
	all := []string{"orders_inc", "orders_full", "orders_nc_inc", "orders_nc_full"}
	_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: all})
	require.NoError(t, err)

	// round materialises the incremental views with --incremental, the others in full, and compares.
	round := func(name string) map[string]MaterializeRun {
		t.Helper()
		var inc, full []string
		for _, p := range pairs {
			inc, full = append(inc, p[0]), append(full, p[1])
		}
		runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: inc, Incremental: true})
		require.NoError(t, err, name)
		_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: full})
		require.NoError(t, err, name)
		byView := map[string]MaterializeRun{}
		for _, run := range runs {
			require.Equal(t, "incremental", run.Mode, name)
			byView[run.View] = run
		}
		for _, p := range pairs {
			got := f.rows(t, "dev", "SELECT * FROM features."+p[0]+" ORDER BY ALL")
			want := f.rows(t, "dev", "SELECT * FROM features."+p[1]+" ORDER BY ALL")
			require.Equal(t, len(want), len(got), "%s: %s", name, p[0])
			require.Equal(t, want, got, "%s: %s has what a full run gives", name, p[0])
		}
		return byView
	}

	// Late rows spread over the month (created after every row the table has), plus rows after the watermark.
	late := orderRows(r, 12, 6, 60*24*time.Hour, &seq)
	data += late + "3,2024-02-02 10:00:00,2024-02-02 10:00:00,5,a\n"
	f.importCSV(t, "dev", "clean.orders", data)
	round("spread late rows")

	// A new entity after the watermark: an append, one data file holding only user 50.
	data += "50,2024-02-03 00:00:00,2024-05-01 00:00:00,1,a\n50,2024-02-03 01:00:00,2024-05-01 00:00:01,2,b\n"
	f.importCSV(t, "dev", "clean.orders", data)
	round("new entity")
	before, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: FeaturesZone, Name: "orders_inc"}, lake.SnapshotRef{})
	require.NoError(t, err)
	nBefore := len(snapshots(t, f, "orders_inc"))

	// Late rows of users 1 and 2 only, one tied with an existing event time, one of a new user 7 in January,
	// two of user 1 further apart than the largest window.
	var tied string
	for _, line := range strings.Split(data, "\n") {
		if strings.HasPrefix(line, "2,") {
			tied = strings.Split(line, ",")[1]
			break
		}
	}
	data += "2," + tied + ",2024-06-01 00:00:00,17,e\n" +
		"1,2024-01-01 00:30:00,2024-06-01 00:00:01,3,c\n1,2024-01-31 23:00:00,2024-06-01 00:00:02,4,d\n" +
		"7,2024-01-15 00:00:00,2024-06-01 00:00:03,70,a\n"
	f.importCSV(t, "dev", "clean.orders", data)
	runs := round("tied and far-apart late rows")
	after, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: FeaturesZone, Name: "orders_inc"}, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Len(t, snapshots(t, f, "orders_inc"), nBefore+1, "one snapshot per run")
	kept := 0
	for _, file := range before.Files {
		if slices.Contains(after.Files, file) {
			kept++
		}
	}
	require.Positive(t, kept, "the file holding only user 50 cannot hold a late entity: kept as it is")
	require.Less(t, runs["orders_inc"].Rows, int64(len(f.rows(t, "dev", "SELECT 1 FROM features.orders_inc"))), "only the files of late entities are rewritten")

	// Nothing new: nothing written.
	runs = round("nothing new")
	require.Zero(t, runs["orders_inc"].Rows)
	require.Zero(t, runs["orders_nc_inc"].Rows)
}

// TestMaterializeLateRowNoLeakage: a late row changes only the aggregations of rows at or after its event time
// within the window; rows before it never see it.
func TestMaterializeLateRowNoLeakage(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	head := "user_id,event_ts,created_ts,amount,item\n"
	rows := "9,2024-01-01 10:00:00,2024-01-01 10:00:00,1,a\n9,2024-01-01 12:00:00,2024-01-01 12:00:00,2,b\n" +
		"9,2024-01-03 11:00:00,2024-01-03 11:00:00,4,a\n8,2024-01-01 11:30:00,2024-01-01 11:30:00,100,z\n"
	f.importCSV(t, "dev", "clean.orders", head+rows)
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, lateAggDefs()), "ann")
	require.NoError(t, err)
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng}
	_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"orders_inc"}})
	require.NoError(t, err)
	q := "SELECT user_id, strftime(event_ts AT TIME ZONE 'UTC', '%d %H:%M'), amount, sum_1h, n_1d, mean_7d, items_30d, last_2d FROM features.orders_inc ORDER BY ALL"
	require.Equal(t, []string{
		"8,01 11:30,100,100,1,100,1,100",
		"9,01 10:00,1,1,1,1,1,1",
		"9,01 12:00,2,2,2,1.5,2,2",
		"9,03 11:00,4,4,1,2.3333333333333335,2,4",
	}, f.rows(t, "dev", q))

	// A late row of user 9 at 11:00 on the 1st.
	f.importCSV(t, "dev", "clean.orders", head+rows+"9,2024-01-01 11:00:00,2024-02-01 00:00:00,8,c\n")
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"orders_inc"}, Incremental: true})
	require.NoError(t, err)
	require.Equal(t, "incremental", runs[0].Mode)
	require.Equal(t, []string{
		"8,01 11:30,100,100,1,100,1,100",          // another entity: untouched
		"9,01 10:00,1,1,1,1,1,1",                  // before the late row: never sees it
		"9,01 11:00,8,8,2,4.5,2,8",                // the late row itself
		"9,01 12:00,2,2,3,3.6666666666666665,3,2", // 11:00 is exactly 1h old: out of sum_1h, in the others
		"9,03 11:00,4,4,1,3.75,3,4",               // in the 7d and 30d windows only
	}, f.rows(t, "dev", q))
}

func snapshots(t *testing.T, f *fixture, instance string) []lake.Snapshot {
	tv, err := f.envs.Describe(f.ctx, "dev", lake.Ident{Zone: FeaturesZone, Name: instance})
	require.NoError(t, err)
	return tv.Snapshots
}

// TestMaterializeLateRowsProd: in prod, an incremental run compares with and rewrites the staged table (what
// earlier runs wrote, released or not), so a second run before a release adds nothing, and the release shows
// the recomputed rows.
func TestMaterializeLateRowsProd(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	head := "user_id,event_ts,created_ts,amount,item\n"
	rows := "9,2024-01-01 10:00:00,2024-01-01 10:00:00,1,a\n9,2024-01-01 12:00:00,2024-01-01 12:00:00,2,b\n"
	orders := []lake.Ident{{Zone: "clean", Name: "orders"}}
	f.importCSV(t, "prod", "clean.orders", head+rows)
	_, err := f.envs.Publish(f.ctx, "prod", orders, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	_, err = f.b.Registry.Apply(f.ctx, "prod", mustParse(t, lateAggDefs()), "ann")
	require.NoError(t, err)
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng}
	req := MaterializeRequest{Env: "prod", Views: []string{"orders_inc"}, Force: true}
	_, err = m.Materialize(f.ctx, req)
	require.NoError(t, err)

	f.importCSV(t, "prod", "clean.orders", head+rows+"9,2024-01-01 11:00:00,2024-02-01 00:00:00,8,c\n")
	_, err = f.envs.Publish(f.ctx, "prod", orders, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	req.Incremental = true
	runs, err := m.Materialize(f.ctx, req)
	require.NoError(t, err)
	require.Equal(t, "incremental", runs[0].Mode)
	require.Equal(t, int64(3), runs[0].Rows, "the late row and the rows whose windows hold it")
	runs, err = m.Materialize(f.ctx, req)
	require.NoError(t, err)
	require.Zero(t, runs[0].Rows, "the staged table has the late row already")

	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: FeaturesZone, Name: "orders_inc"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"01 10:00,1,1", "01 11:00,8,2", "01 12:00,2,3"},
		f.rows(t, "prod", "SELECT strftime(event_ts AT TIME ZONE 'UTC', '%d %H:%M'), amount, n_1d FROM features.orders_inc ORDER BY ALL"))
}

// TestMaterializeIncrementalTiesWithoutCreatedTime: for a view without a created time, a late row that ties a
// materialised row on keys and event time but has other features is a new row, and an incremental run takes it
// (once); a row equal in every column to one the table has is not taken again.
func TestMaterializeIncrementalTiesWithoutCreatedTime(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng}
	defs := noCreatedDefs
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, defs), "ann")
	require.NoError(t, err)
	_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_nc"}})
	require.NoError(t, err)

	// User 2's 01-10 row again with another total (a tie on key and event time), and user 1's 01-05 row with
	// total 5 again (the same row).
	f.importCSV(t, "dev", "clean.user_stats", statsCSV+"2,2024-01-10 00:00:00,2024-03-01 00:00:00,11\n1,2024-01-05 00:00:00,2024-03-01 00:00:00,5\n")
	runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_nc"}, Incremental: true})
	require.NoError(t, err)
	require.Equal(t, int64(1), runs[0].Rows)
	require.Equal(t, []string{"2,2024-01-10,10", "2,2024-01-10,11"},
		f.rows(t, "dev", "SELECT user_id, strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%d'), total FROM features.user_nc WHERE user_id = 2 ORDER BY ALL"))
	require.Equal(t, []string{"7"}, f.rows(t, "dev", "SELECT count(*) FROM features.user_nc"))

	runs, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: []string{"user_nc"}, Incremental: true})
	require.NoError(t, err)
	require.Equal(t, int64(0), runs[0].Rows, "nothing new")
}
