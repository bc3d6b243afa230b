package feastapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
)

// TestPushOfflineToAggregatedView: a view with window aggregations is fed by its source table's rows: a push
// `to: offline` carries the columns the view reads from its table (join keys, event and created time, the
// aggregations' input columns and plain features), never the computed aggregates, and appends them to the
// table; the next materialisation computes the aggregates.
func TestPushOfflineToAggregatedView(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.createUserStats(t)
	d, err := features.Parse("features/a.yaml", []byte(aggDefs))
	require.NoError(t, err)
	_, err = f.reg.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	status, body := f.post(t, "/push?env=dev", `{"push_source_name":"user_spend","to":"offline",
		"df":{"user_id":[7],"event_ts":["2026-11-24T11:00:00Z"],"created_ts":[null],"total":[1.5]}}`)
	require.Equal(t, 200, status, body)
	require.Equal(t, []string{"7,1.5"}, f.tableRows(t, "dev", "SELECT user_id, total FROM clean.user_stats"))
}

// aggDefs adds views with window aggregations over clean.user_stats: user_spend (created time, sum of total)
// and user_mix (no created time; a plain feature beside a sum and a count of rows).
var aggDefs = strings.Replace(defs, "feature_services:", `  - name: user_spend
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    created_time: created_ts
    ttl: 0
    online: true
    features:
      - {name: total_7d, type: double, aggregation: {function: sum, column: total, window: 7d}}
  - name: user_mix
    entities: [user]
    source: {table: clean.user_stats}
    event_time: event_ts
    ttl: 0
    online: true
    features:
      - {name: country, type: string}
      - {name: total_1d, type: double, aggregation: {function: sum, column: total, window: 1d}}
      - {name: orders_1d, type: long, aggregation: {function: count, window: 1d}}
feature_services:`, 1)

// TestPushAggregatedViewShapes: offline, a view with window aggregations takes its table's columns (plain
// features and aggregation inputs, created time optional), typed by the table; online its aggregates; both at
// once, aggregates offline, a missing input, an unknown column or a value of another type is a 400 naming it,
// and nothing is written.
func TestPushAggregatedViewShapes(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.createUserStats(t)
	d, err := features.Parse("features/a.yaml", []byte(aggDefs))
	require.NoError(t, err)
	_, err = f.reg.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)

	cases := []struct {
		name, body string
		want       []string
	}{
		{"both", `{"push_source_name":"user_spend","to":"online_and_offline","df":{"user_id":[8],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5]}}`,
			[]string{"feature view user_spend has window aggregations", "online the view's features (total_7d)",
				"offline a row of its table clean.user_stats (user_id, event_ts, created_ts, total)", `push the table's rows with "to": "offline"`}},
		{"aggregate offline", `{"push_source_name":"user_spend","to":"offline","df":{"user_id":[8],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5],"total_7d":[1.5]}}`,
			[]string{"df has columns feature view user_spend does not read from its table clean.user_stats: total_7d",
				"the aggregates total_7d are computed from the table's rows by `strata materialize`"}},
		{"missing input", `{"push_source_name":"user_mix","to":"offline","df":{"user_id":[8],"event_ts":["2026-11-24T11:00:00Z"],"country":["fr"]}}`,
			[]string{"df lacks columns feature view user_mix reads from its table clean.user_stats: total"}},
		{"other table column", `{"push_source_name":"user_mix","to":"offline","df":{"user_id":[8],"event_ts":["2026-11-24T11:00:00Z"],"country":["fr"],"total":[1],"note":["x"]}}`,
			[]string{"does not read from its table clean.user_stats: note"}},
		{"wrong types", `{"push_source_name":"user_mix","to":"offline","df":{"user_id":["8"],"event_ts":["2026-11-24T11:00:00Z"],"country":[1],"total":["1.5"]}}`,
			[]string{`df.user_id[0] is "8": not a long`, `df.country[0] is 1: not a string`, `df.total[0] is "1.5": not a double`, "nothing was written"}},
		{"online lacks aggregates", `{"push_source_name":"user_mix","df":{"user_id":[8],"event_ts":["2026-11-24T11:00:00Z"],"country":["fr"],"total":[1]}}`,
			[]string{"df lacks columns of feature view user_mix: total_1d, orders_1d", "does not declare: total"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.post(t, "/push?env=dev", c.body)
			require.Equal(t, 400, status, body)
			for _, w := range c.want {
				require.Contains(t, message(t, body), w)
			}
		})
	}
	require.Empty(t, f.tableRows(t, "dev", "SELECT * FROM clean.user_stats"), "no refused push wrote offline")
	_, body := f.post(t, "/get-online-features?env=dev", `{"features":["user_spend:total_7d","user_mix:country"],"entities":{"user_id":[8]}}`)
	require.Equal(t, 2, strings.Count(body, `"NOT_FOUND"`), "no refused push wrote online: %s", body)

	// The good shapes: offline a table row (created time left out, count has no input), online the aggregates.
	status, body := f.post(t, "/push?env=dev", `{"push_source_name":"user_mix","to":"offline",
		"df":{"user_id":[8,9],"event_ts":["2026-11-24T11:00:00Z","2026-11-24 10:00:00"],"country":["fr",null],"total":[2,2.5]}}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"offline_table":"clean.user_stats"`)
	require.Equal(t, []string{"8,2026-11-24T11:00:00Z,(null),2,fr,(null)", "9,2026-11-24T10:00:00Z,(null),2.5,(null),(null)"},
		f.tableRows(t, "dev", "SELECT user_id, event_ts, created_ts, total, country, n FROM clean.user_stats ORDER BY user_id"))
	status, body = f.post(t, "/push?env=dev", `{"push_source_name":"user_mix","df":{"user_id":[8],"event_ts":["2026-11-24T11:00:00Z"],"country":["fr"],"total_1d":[4.5],"orders_1d":[2]}}`)
	require.Equal(t, 200, status, body)
	_, body = f.post(t, "/get-online-features?env=dev", `{"features":["user_mix:total_1d","user_mix:orders_1d"],"entities":{"user_id":[8]}}`)
	require.Contains(t, compact(t, body), `{"values":[4.5],"statuses":["PRESENT"]`)
	require.Contains(t, compact(t, body), `{"values":[2],"statuses":["PRESENT"]`)
}
