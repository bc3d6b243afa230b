package features

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const goodDefs = `entities:
  - name: user
    join_keys:
      - {name: user_id, type: long}
feature_views:
  - name: user_stats
    entities: [user]
    source:
      table: clean.users
    event_time: event_ts
    created_time: created_ts
    ttl: 30d
    online: true
    owner: growth
    tags: {team: growth}
    features:
      - name: total
        type: double
        description: money spent
      - {name: country, type: string}
  - name: orders_agg
    entities: [user]
    source:
      sql: SELECT user_id, event_ts, count(*) AS n FROM raw.orders WHERE amount > {{ min_amount }} AND kind = {{ kind }} GROUP BY ALL
      params:
        min_amount: {type: int, default: 30}
        kind: {type: string, default: "web"}
    event_time: event_ts
    ttl: 0
    features:
      - {name: n, type: long}
feature_services:
  - name: churn
    features: [user_stats:total, orders_agg]
`

func TestParseGood(t *testing.T) {
	d, err := Parse("features/a.yaml", []byte(goodDefs))
	require.NoError(t, err)
	require.Len(t, d.Entities, 1)
	require.Equal(t, []JoinKey{{"user_id", "long"}}, d.Entities[0].JoinKeys)
	require.Len(t, d.Views, 2)
	v := d.Views[0]
	require.Equal(t, "clean.users", v.Source.Table)
	require.Equal(t, Duration(30*24*3600e9), v.TTL)
	require.True(t, v.Online)
	require.Equal(t, map[string]string{"team": "growth"}, v.Tags)
	require.Equal(t, Param{Type: ParamInt, Default: int64(30)}, d.Views[1].Source.Params["min_amount"])
	require.Equal(t, Duration(0), d.Views[1].TTL)
	require.Equal(t, []string{"user_stats:total", "orders_agg"}, d.Services[0].Features)
}

// TestParseErrors: each invalid definition fails naming the file, the line and the field.
func TestParseErrors(t *testing.T) {
	view := func(extra string) string {
		return "entities:\n  - name: user\n    join_keys: [{name: user_id, type: long}]\nfeature_views:\n  - name: v\n    entities: [user]\n" +
			"    event_time: ts\n" + extra
	}
	src := "    source: {table: clean.users}\n"
	feats := "    features: [{name: x, type: long}]\n"
	cases := []struct{ name, text, want string }{
		{"unknown key", "entities:\n  - name: user\n    joinkeys: []\n", "f.yaml:3: entities[0].joinkeys: unknown key"},
		{"bad ttl", view(src + feats + "    ttl: 3 days\n"), `f.yaml:10: feature_views[0].ttl: bad TTL "3 days"`},
		{"negative ttl", view(src + feats + "    ttl: -1h\n"), `f.yaml:10: feature_views[0].ttl: bad TTL`},
		{"param without type", view("    source:\n      sql: SELECT {{ w }} AS x\n      params:\n        w: {default: 3}\n" + feats),
			"f.yaml:11: feature_views[0].source.params.w.type: a parameter needs a type"},
		{"undeclared placeholder", view("    source:\n      sql: SELECT {{ w }} AS x\n" + feats),
			"f.yaml:9: feature_views[0].source.sql: {{ w }} is not a declared parameter"},
		{"default of wrong type", view("    source:\n      sql: SELECT {{ w }} AS x\n      params:\n        w: {type: int, default: abc}\n" + feats),
			`f.yaml:11: feature_views[0].source.params.w.default: "abc" is not a int`},
		{"bad feature type", view(src + "    features: [{name: x, type: varchar}]\n"), `f.yaml:9: feature_views[0].features[0].type: type "varchar" is not one of`},
		{"duplicate feature", view(src + "    features:\n      - {name: x, type: long}\n      - {name: x, type: long}\n"),
			`f.yaml:11: feature_views[0].features[1].name: duplicate feature "x"`},
		{"unknown entity", "entities: []\nfeature_views:\n  - name: v\n    entities: [user]\n    event_time: ts\n" + src + feats,
			`f.yaml:3: entities: unknown entity "user"`},
		{"duplicate view", view(src+feats) + "  - name: v\n    entities: [user]\n    event_time: ts\n" + src + feats,
			`f.yaml:10: name: duplicate feature view "v" (also declared at f.yaml:5)`},
		{"cycle", view(src+feats) + "feature_services:\n  - name: a\n    include: [b]\n  - name: b\n    include: [a]\n",
			"f.yaml:11: include: cycle: a -> b -> a"},
		{"unknown feature in service", view(src+feats) + "feature_services:\n  - name: a\n    features: [v:y]\n",
			`f.yaml:12: features[0]: service a: view v has no feature "y"`},
		{"service entry's own line", view(src+feats) + "feature_services:\n  - name: a\n    features:\n      - v:x\n      - v:y\n",
			`f.yaml:14: features[1]: service a: view v has no feature "y"`},
		{"unknown view in service", view(src+feats) + "feature_services:\n  - name: a\n    features:\n      - v:x\n\n      - w\n",
			`f.yaml:15: features[1]: service a: unknown feature view "w"`},
		{"unknown include", view(src+feats) + "feature_services:\n  - name: a\n    features: [v:x]\n    include:\n      - b\n",
			`f.yaml:14: include[0]: unknown feature service "b"`},
		{"both sources", view("    source: {table: a.b, sql: SELECT 1}\n" + feats), "f.yaml:8: feature_views[0].source: give exactly one"},
		{"no source", view(feats), "f.yaml:5: feature_views[0].source: missing"},
		{"bad yaml", "entities: [\n", "f.yaml:1: not valid YAML"},
		{"duplicate key", "entities: []\nentities: []\n", "f.yaml:2: entities: given twice"},
		{"bad name", "entities:\n  - name: User-1\n    join_keys: [{name: k, type: long}]\n", `f.yaml:2: entities[0].name: "User-1" is not a valid name`},
		{"online not bool", view(src + feats + "    online: yes please\n"), "f.yaml:10: feature_views[0].online: must be true or false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.text))
			require.Error(t, err)
			var de *DefError
			require.True(t, errors.As(err, &de), "%v", err)
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoadDirAcrossFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "features")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(goodDefs), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yml"), []byte("entities:\n  - name: user\n    join_keys: [{name: k, type: long}]\n"), 0o644))
	_, err := LoadDir(dir)
	require.ErrorContains(t, err, `features/b.yml:2: name: duplicate entity "user" (also declared at features/a.yaml:2)`)
	require.NoError(t, os.Remove(filepath.Join(dir, "b.yml")))
	d, err := LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, d.Views, 2)
	_, err = LoadDir(filepath.Join(dir, "nope"))
	require.ErrorIs(t, err, ErrNotFound)
}

// TestRenderSQLNeverPastesText: parameter values reach SQL only as checked literals of their declared type.
func TestRenderSQLNeverPastesText(t *testing.T) {
	d, err := Parse("f.yaml", []byte(goodDefs))
	require.NoError(t, err)
	v := &d.Views[1]
	sql, used, err := v.RenderSQL(nil)
	require.NoError(t, err)
	require.Contains(t, sql, "amount > 30 AND kind = 'web'")
	require.Equal(t, map[string]any{"min_amount": int64(30), "kind": "web"}, used)

	sql, _, err = v.RenderSQL(map[string]string{"kind": "x'; DROP TABLE raw.orders; --"})
	require.NoError(t, err)
	require.Contains(t, sql, `kind = 'x''; DROP TABLE raw.orders; --'`)

	for _, bad := range []map[string]string{{"min_amount": "1; DROP TABLE raw.orders"}, {"min_amount": "1 OR 1=1"}, {"nope": "1"}, {"kind": "a\x00b"}} {
		_, _, err = v.RenderSQL(bad)
		require.ErrorIs(t, err, ErrInvalid, "%v", bad)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "30d": "30d", "2w": "14d", "12h": "12h0m0s", "90m": "1h30m0s", "14d": "14d"} {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.String())
	}
	for _, bad := range []string{"", "-1h", "3 days", "d", "99999999999999999999d"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
}

type mapCatalog map[string]map[string]string

func (m mapCatalog) TableColumns(_ context.Context, table string) (map[string]string, error) {
	if c, ok := m[table]; ok {
		return c, nil
	}
	return nil, ErrNotFound
}

func (m mapCatalog) QueryColumns(_ context.Context, sql string) (map[string]string, error) {
	if strings.Contains(sql, "raw.orders") {
		return map[string]string{"user_id": "long", "event_ts": "timestamptz", "n": "long"}, nil
	}
	return nil, errors.New("Catalog Error: Table does not exist")
}

func TestValidateAgainstTables(t *testing.T) {
	users := map[string]string{"user_id": "long", "event_ts": "timestamptz", "created_ts": "timestamptz", "total": "double", "country": "string"}
	with := func(edit func(map[string]string)) mapCatalog {
		c := map[string]string{}
		for k, v := range users {
			c[k] = v
		}
		edit(c)
		return mapCatalog{"clean.users": c}
	}
	d, err := Parse("f.yaml", []byte(goodDefs))
	require.NoError(t, err)
	require.NoError(t, Validate(context.Background(), d, with(func(map[string]string) {})))
	cases := []struct {
		name string
		cat  mapCatalog
		want string
	}{
		{"unknown table", mapCatalog{}, "f.yaml:9: feature_views.user_stats.source.table: unknown table clean.users"},
		{"unknown column", with(func(c map[string]string) { delete(c, "country") }), `f.yaml:20: feature_views.user_stats.features[1].name: unknown column "country"`},
		{"type mismatch", with(func(c map[string]string) { c["total"] = "string" }), "f.yaml:17: feature_views.user_stats.features[0].name: type mismatch: feature total is declared double but the column is string"},
		{"join key type", with(func(c map[string]string) { c["user_id"] = "string" }), "join key of entity user user_id is declared long but the column is string"},
		{"event time type", with(func(c map[string]string) { c["event_ts"] = "long" }), "f.yaml:10: feature_views.user_stats.event_time: type mismatch"},
		{"created time missing", with(func(c map[string]string) { delete(c, "created_ts") }), `f.yaml:11: feature_views.user_stats.created_time: unknown column "created_ts"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(context.Background(), d, tc.cat)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodDefs))
	f.Add([]byte("entities: [\n"))
	f.Add([]byte("feature_views:\n  - name: v\n    source: {sql: 'SELECT {{ x }}', params: {x: {type: int}}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse("f.yaml", b)
		if err != nil {
			var de *DefError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a *DefError: %v", err)
			}
			if de.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for i := range d.Views {
			if _, _, err := d.Views[i].RenderSQL(nil); err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("render: %v", err)
			}
		}
	})
}
