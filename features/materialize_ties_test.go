package features

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestMaterializeIncrementalTiedLateAggregations: for a view with window aggregations and no created time
// (TTL 0 and a TTL), an incremental run finds a late row that ties a materialised row on keys and event time
// (other amount and item), and a source row that arrives a second time, and leaves the table as a full run
// does (every row compared); a run with nothing new writes nothing.
func TestMaterializeIncrementalTiedLateAggregations(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	var defs strings.Builder
	defs.WriteString(datasetDefs[:strings.Index(datasetDefs, "feature_views:")] + "feature_views:\n")
	for _, v := range []struct{ name, ttl string }{{"nc0", "0"}, {"nc20d", "20d"}} {
		for _, mode := range []string{"_inc", "_full"} {
			fmt.Fprintf(&defs, lateAggView, v.name+mode, "    source: {table: clean.orders}\n    ttl: "+v.ttl+"\n", "")
		}
	}
	head := "user_id,event_ts,created_ts,amount,item\n"
	data := head + "1,2024-01-10 10:00:00,,1,a\n1,2024-01-10 10:30:00,,2,b\n1,2024-01-12 09:00:00,,4,a\n" +
		"2,2024-01-10 10:00:00,,10,a\n2,2024-01-11 10:00:00,,20,b\n2,2024-01-20 10:00:00,,30,c\n"
	f.importCSV(t, "dev", "clean.orders", data)
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, defs.String()), "ann")
	require.NoError(t, err)
	m := &Materializer{Registry: f.b.Registry, Envs: f.envs, Engine: f.eng}
	inc, full := []string{"nc0_inc", "nc20d_inc"}, []string{"nc0_full", "nc20d_full"}
	_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: append(append([]string{}, inc...), full...)})
	require.NoError(t, err)

	round := func(name string) map[string]int64 {
		t.Helper()
		runs, err := m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: inc, Incremental: true})
		require.NoError(t, err, name)
		_, err = m.Materialize(f.ctx, MaterializeRequest{Env: "dev", Views: full})
		require.NoError(t, err, name)
		rows := map[string]int64{}
		for i, v := range inc {
			require.Equal(t, "incremental", runs[i].Mode, name)
			rows[runs[i].View] = runs[i].Rows
			want := f.rows(t, "dev", "SELECT * EXCLUDE (created_ts) FROM features."+full[i]+" ORDER BY ALL")
			got := f.rows(t, "dev", "SELECT * EXCLUDE (created_ts) FROM features."+v+" ORDER BY ALL")
			require.Equal(t, want, got, "%s: %s has what a full run gives", name, v)
		}
		return rows
	}

	// User 2's 01-11 row tied by another amount and item (late: the watermark is 01-20), and user 1's 01-10
	// 10:30 row again, equal in every column.
	data += "2,2024-01-11 10:00:00,,25,d\n1,2024-01-10 10:30:00,,2,b\n"
	f.importCSV(t, "dev", "clean.orders", data)
	rows := round("tied late rows")
	for _, v := range inc {
		require.Positive(t, rows[v], v)
	}
	require.Equal(t, []string{"2024-01-11 10:00,20,45,2", "2024-01-11 10:00,25,45,2"},
		f.rows(t, "dev", "SELECT strftime(event_ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'), amount, sum_1h, n_1d FROM features.nc0_inc WHERE user_id = 2 AND event_ts < '2024-01-12' AND event_ts > '2024-01-10 12:00' ORDER BY ALL"))
	require.Equal(t, []string{"3"}, f.rows(t, "dev", "SELECT count(*) FROM features.nc0_inc WHERE user_id = 1 AND event_ts < '2024-01-11'"),
		"the repeated row is there twice, as in the source")

	rows = round("nothing new")
	for _, v := range inc {
		require.Zero(t, rows[v], v)
	}
}
