package features

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

const typedParamsView = `  - name: typed
    entities: [user]
    source:
      sql: SELECT user_id, event_ts, created_ts, total * {{ ratio }} AS scaled, {{ label }} AS tag, total + {{ n }} AS plus
           FROM clean.user_stats WHERE {{ keep }} OR user_id = 1
      params:
        ratio: {type: float, default: 1.5}
        label: {type: string, default: "a'b"}
        n: {type: int, default: 0}
        keep: {type: bool, default: true}
    event_time: event_ts
    created_time: created_ts
    ttl: 0
    features: [{name: scaled, type: double}, {name: tag, type: string}, {name: plus, type: long}]
`

// TestEveryParamTypeReachesSQL: parameters of each declared type (int, float, string, bool) reach DuckDB as
// literals of that type and compute what they say in a dataset build; values spelled differently but equal
// (0.50 and .5, True and true, 007 and 7) name one instance; a value of another type, or SQL in any of them, is
// refused naming the parameter, and only a string parameter may hold arbitrary text (as a quoted literal).
func TestEveryParamTypeReachesSQL(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	d := mustParse(t, strings.Replace(datasetDefs, "  - name: empty_view", typedParamsView+"  - name: empty_view", 1))
	_, err := f.b.Registry.Apply(f.ctx, "dev", d, "ann")
	require.NoError(t, err)
	var v *View
	for i := range d.Views {
		if d.Views[i].Name == "typed" {
			v = &d.Views[i]
		}
	}
	sql, used, err := v.RenderSQL(map[string]string{"ratio": "0.25", "label": "x", "n": "7", "keep": "false"})
	require.NoError(t, err)
	require.Contains(t, sql, "total * CAST(0.25 AS DOUBLE)")
	require.Contains(t, sql, "'x' AS tag")
	require.Contains(t, sql, "total + 7 AS plus")
	require.Contains(t, sql, "WHERE FALSE OR user_id = 1")
	require.Equal(t, map[string]any{"ratio": 0.25, "label": "x", "n": int64(7), "keep": false}, used)

	a, err := v.Instance(map[string]string{"ratio": "0.50", "keep": "True", "n": "007"})
	require.NoError(t, err)
	b, err := v.Instance(map[string]string{"ratio": ".5", "keep": "true", "n": "7"})
	require.NoError(t, err)
	require.Equal(t, a.Name, b.Name, "equal values name one instance")
	def, err := v.Instance(map[string]string{"ratio": "1.50", "keep": "1", "label": "a'b"})
	require.NoError(t, err)
	require.Equal(t, "typed", def.Name, "default values, however spelled, name the view's own instance")

	for _, bad := range [][2]string{{"ratio", "1.5; DROP TABLE clean.user_stats"}, {"n", "1 OR 1=1"}, {"keep", "true OR 1=1"},
		{"ratio", "NaN"}, {"n", "1.5"}, {"keep", "yes"}} {
		name := bad[0]
		_, _, err := v.RenderSQL(map[string]string{name: bad[1]})
		require.ErrorIs(t, err, ErrInvalid, "%s=%s", name, bad)
		require.ErrorContains(t, err, "parameter "+name, "%s=%s", name, bad)
	}

	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n2,2024-01-11 00:00:00\n1,2024-01-06 00:00:00\n")
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "typed", Spine: spine, FullNames: true,
		Features: []string{"typed:*", "typed(ratio=0.5, label='it''s; --', n=100, keep=false):*"}})
	require.NoError(t, err)
	rows := f.rows(t, "dev", "SELECT * EXCLUDE (user_id, event_timestamp, spine_row) FROM datasets.typed ORDER BY spine_row")
	require.Equal(t, []string{
		"15,a'b,10,NULL,NULL,NULL", // user 2: keep=false drops user 2's rows in the second instance
		"9,a'b,6,3,it's; --,106",   // user 1 on 01-06: the 01-05 tie goes to created 01-06 (total 6): 6×1.5, 6+0; 6×0.5, 6+100
	}, rows)
}
