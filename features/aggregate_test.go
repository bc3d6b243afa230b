package features

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

const ordersCSV = `user_id,event_ts,created_ts,amount,item
1,2024-01-01 00:00:00,2024-01-01 00:00:00,10,a
1,2024-01-02 00:00:00,2024-01-02 00:00:00,20,b
1,2024-01-08 00:00:00,2024-01-08 00:00:00,5,a
1,2024-01-08 00:00:00,2024-01-08 00:00:09,7,c
1,2024-01-08 01:00:00,2024-01-08 01:00:00,,a
2,2024-01-05 00:00:00,2024-01-05 00:00:00,100,z
`

const aggDefs = `feature_views:
  - name: orders_agg
    entities: [user]
    source: {table: clean.orders}
    event_time: event_ts
    created_time: created_ts
    features:
      - {name: amount, type: long}
      - {name: amount_sum_7d, type: long, aggregation: {function: sum, column: amount, window: 7d}}
      - {name: n_7d, type: long, aggregation: {function: count, window: 7d}}
      - {name: amount_n_7d, type: long, aggregation: {function: count, column: amount, window: 7d}}
      - {name: amount_mean_7d, type: double, aggregation: {function: mean, column: amount, window: 7d}}
      - {name: amount_min_1h, type: long, aggregation: {function: min, column: amount, window: 1h}}
      - {name: amount_max_7d, type: long, aggregation: {function: max, column: amount, window: 7d}}
      - {name: items_7d, type: long, aggregation: {function: count_distinct, column: item, window: 7d}}
      - {name: last_amount_1d, type: long, aggregation: {function: last, column: amount, window: 1d}}
`

// TestWindowAggregations: each function's exact value per event time t over (t - window, t]: a row exactly one
// window old no longer counts, rows at t (ties) all count, later rows never count (no leakage), last takes the
// latest created row of a tie, nulls are skipped by sum/count(column)/mean/min and kept by last.
func TestWindowAggregations(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.orders", ordersCSV)
	d := mustParse(t, datasetDefs[:strings.Index(datasetDefs, "feature_views:")]+aggDefs)
	require.NoError(t, Validate(f.ctx, d, &EnvCatalog{Envs: f.envs, Engine: f.eng, Env: "dev"}))
	_, err := f.b.Registry.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", `user_id,event_timestamp
1,2024-01-01 00:00:00
1,2024-01-02 00:00:00
1,2024-01-08 00:00:00
1,2024-01-08 00:59:59
1,2024-01-08 01:00:00
2,2024-01-12 00:00:00
1,2023-12-31 00:00:00
`)
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "agg", Spine: spine, Features: []string{"orders_agg:*"}})
	require.NoError(t, err)
	got := f.rows(t, "dev", `SELECT amount, amount_sum_7d, n_7d, amount_n_7d, round(amount_mean_7d, 4), amount_min_1h, amount_max_7d, items_7d,
		last_amount_1d FROM datasets.agg ORDER BY spine_row`)
	require.Equal(t, []string{
		"10,10,1,1,10,10,10,1,10",                      // only itself
		"20,30,2,2,15,20,20,2,20",                      // 01-01 is in the 7d window, not in the 1h one; last over (01-01, 01-02] is 20
		"7,32,3,3,10.6667,5,20,3,7",                    // 01-01 is exactly 7d old: out; both 01-08 rows count; last = latest created
		"7,32,3,3,10.6667,5,20,3,7",                    // the same row, seen 59m59s later
		"NULL,32,4,3,10.6667,NULL,20,3,NULL",           // the 00:00 rows are exactly 1h old: out of the 1h min; last is the null
		"100,100,1,1,100,100,100,1,100",                // user 2's row, 7 days later (no TTL)
		"NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL", // before any event
	}, got)
}

// TestAggregationErrors: bad aggregations fail naming the file, the line and the field.
func TestAggregationErrors(t *testing.T) {
	head := "entities:\n  - name: user\n    join_keys: [{name: user_id, type: long}]\nfeature_views:\n  - name: v\n    entities: [user]\n" +
		"    source: {table: clean.orders}\n    event_time: event_ts\n    features:\n"
	parseCases := map[string]string{
		"      - {name: s, type: long, aggregation: {function: median, column: amount, window: 7d}}\n":                      `f.yaml:10: feature_views[0].features[0].aggregation.function: unknown function "median": use sum, count, mean`,
		"      - {name: s, type: long, aggregation: {function: sum, column: amount, window: 7 days}}\n":                     `f.yaml:10: feature_views[0].features[0].aggregation.window: bad window "7 days"`,
		"      - {name: s, type: long, aggregation: {function: sum, column: amount, window: 0}}\n":                          `f.yaml:10: feature_views[0].features[0].aggregation.window: bad window "0"`,
		"      - {name: s, type: long, aggregation: {function: sum, column: amount, window: -1h}}\n":                        `aggregation.window: bad window "-1h"`,
		"      - {name: s, type: long, aggregation: {function: sum, column: amount}}\n":                                     `f.yaml:10: feature_views[0].features[0].aggregation.window: missing`,
		"      - {name: s, type: long, aggregation: {function: sum, window: 1h}}\n":                                         `f.yaml:10: feature_views[0].features[0].aggregation.column: missing`,
		"      - name: s\n        type: long\n        aggregation: {function: sum, column: amount, window: 1h, every: 2}\n": `f.yaml:12: feature_views[0].features[0].aggregation.every: unknown key`,
	}
	for body, want := range parseCases {
		_, err := Parse("f.yaml", []byte(head+body))
		require.ErrorIs(t, err, ErrInvalid, body)
		require.ErrorContains(t, err, want, body)
	}
	cat := mapCatalog{"clean.orders": {"user_id": "long", "event_ts": "timestamptz", "amount": "long", "item": "string", "price": "double"}}
	validateCases := map[string]string{
		"      - {name: s, type: long, aggregation: {function: sum, column: nope, window: 1h}}\n":        `f.yaml:10: feature_views.v.features[0].aggregation.column: unknown column "nope"`,
		"      - {name: s, type: long, aggregation: {function: sum, column: item, window: 1h}}\n":        `f.yaml:10: feature_views.v.features[0].aggregation.function: sum needs a numeric column, and item is string`,
		"      - {name: s, type: long, aggregation: {function: mean, column: item, window: 1h}}\n":       "mean needs a numeric column, and item is string",
		"      - {name: s, type: string, aggregation: {function: count, window: 1h}}\n":                  `f.yaml:10: feature_views.v.features[0].type: type mismatch: count of rows gives long, but the feature is declared string`,
		"      - {name: s, type: long, aggregation: {function: sum, column: price, window: 1h}}\n":       "type mismatch: sum of price gives double, but the feature is declared long",
		"      - {name: amount, type: long, aggregation: {function: sum, column: amount, window: 1h}}\n": `f.yaml:10: feature_views.v.features[0].name: the aggregated feature amount has the name of a source column`,
	}
	for body, want := range validateCases {
		d, err := Parse("f.yaml", []byte(head+body))
		require.NoError(t, err, body)
		err = Validate(context.Background(), d, cat)
		require.ErrorIs(t, err, ErrInvalid, body)
		require.ErrorContains(t, err, want, body)
	}
	d, err := Parse("f.yaml", []byte(head+"      - {name: s, type: double, aggregation: {function: sum, column: amount, window: 1h}}\n"))
	require.NoError(t, err)
	require.NoError(t, Validate(context.Background(), d, cat), "a long sum may be declared double")
}

// TestLastAggregationExactTies: rows equal in key, event and created time are ordered by their value for last
// (NULL first), so that every run computes the same last — the greatest — whichever order DuckDB reads them in.
func TestLastAggregationExactTies(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.orders", `user_id,event_ts,created_ts,amount,item
1,2024-01-01 00:00:00,2024-01-01 00:00:00,5,a
1,2024-01-01 00:00:00,2024-01-01 00:00:00,9,b
1,2024-01-01 00:00:00,2024-01-01 00:00:00,,c
1,2024-01-01 00:00:00,2024-01-01 00:00:00,7,d
`)
	d := mustParse(t, datasetDefs[:strings.Index(datasetDefs, "feature_views:")]+`feature_views:
  - name: ties
    entities: [user]
    source: {table: clean.orders}
    event_time: event_ts
    created_time: created_ts
    features:
      - {name: last_amount_1d, type: long, aggregation: {function: last, column: amount, window: 1d}}
      - {name: last_item_1d, type: string, aggregation: {function: last, column: item, window: 1d}}
`)
	_, err := f.b.Registry.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n1,2024-01-01 12:00:00\n")
	for i := range 5 {
		name := "ties" + string(rune('a'+i))
		_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: name, Spine: spine, Features: []string{"ties:*"}})
		require.NoError(t, err)
		require.Equal(t, []string{"9,d"}, f.rows(t, "dev", "SELECT last_amount_1d, last_item_1d FROM datasets."+name))
	}
}
