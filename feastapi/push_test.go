package feastapi_test

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/lake"
)

func (f *fixture) createUserStats(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts},
		{Name: "created_ts", Type: ts, Nullable: true}, {Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rdr, err := array.NewRecordReader(sc, nil)
	require.NoError(t, err)
	id, _ := lake.ParseIdent("clean.user_stats")
	_, err = f.envs.Write(f.ctx, "dev", id, rdr, envs.WriteOptions{CreateIfMissing: true, Actor: "test"})
	require.NoError(t, err)
}

func (f *fixture) tableRows(t *testing.T, env, query string) []string {
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
				cells = append(cells, rec.Column(c).ValueStr(r))
			}
			out = append(out, strings.Join(cells, ","))
		}
	}
	require.NoError(t, res.Err())
	return out
}

const pushDF = `"df": {"user_id": [7, 8], "event_ts": ["2026-11-24 11:59:42+00:00", "2026-11-24T11:30:00Z"],
	"created_ts": ["2026-11-24 11:59:42", null], "total": [1.0, null], "country": ["fr", "de"], "n": [1000, 3]}`

// TestPush: Feast's push request writes online (served at once, newer wins) and offline through the write gate
// (the view's source table gets a snapshot, audited).
func TestPush(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.createUserStats(t)
	status, body := f.post(t, "/push?env=dev", `{"push_source_name": "user_stats", `+pushDF+`, "to": "online_and_offline",
		"allow_registry_cache": true, "transform_on_write": true}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"rows":2`)
	status, body = f.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total","user_stats:n"],"entities":{"user_id":[7,8]}}`)
	require.Equal(t, 200, status, body)
	require.Contains(t, compact(t, body), `{"values":[1,null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2026-11-24T11:59:42Z","2026-11-24T11:30:00Z"]}`)
	require.Contains(t, compact(t, body), `{"values":[1000,3],`)
	require.Equal(t, []string{"7,1000,fr,(null)", "8,3,de,(null)"}, f.tableRows(t, "dev", "SELECT user_id, n, country, note FROM clean.user_stats ORDER BY user_id"))

	// An older push does not replace the served row; the default "to" is online only.
	status, body = f.post(t, "/push?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[7],"event_ts":["2026-11-01T00:00:00Z"],"total":[9.5],"country":["x"],"n":[1]}}`)
	require.Equal(t, 200, status, body)
	_, body = f.post(t, "/get-online-features?env=dev", `{"features":["user_stats:n"],"entities":{"user_id":[7]}}`)
	require.Contains(t, compact(t, body), `{"values":[1000],`)
	require.Len(t, f.tableRows(t, "dev", "SELECT * FROM clean.user_stats"), 2, "to=online wrote nothing offline")
}

// TestPushBadInput: a push with missing or unknown columns, wrong types, an unknown view, a prod environment or a
// SQL-sourced view offline is refused whole: nothing is written online or offline.
func TestPushBadInput(t *testing.T) {
	f := newFixture(t, feastapi.Options{MaxBodyBytes: 4096})
	f.createUserStats(t)
	cases := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"missing columns", "?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[7],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5]},"to":"online_and_offline"}`, 400, "df lacks columns of feature view user_stats: country, n"},
		{"unknown column", "?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[7],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5],"country":["fr"],"n":[1],"extra":[1]}}`, 400, "does not declare: extra"},
		{"wrong types", "?env=dev", `{"push_source_name":"user_stats","df":{"user_id":["7"],"event_ts":["yesterday"],"total":["1.5"],"country":[3],"n":[1.5]},"to":"online_and_offline"}`, 400, `df.user_id[0] is "7": not a long`},
		{"null key", "?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[null],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5],"country":["fr"],"n":[1]}}`, 400, "df.user_id[0] is null"},
		{"lengths differ", "?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[7,8],"event_ts":["2026-11-24T11:00:00Z"],"total":[1.5],"country":["fr"],"n":[1]}}`, 400, "different lengths"},
		{"unknown view", "?env=dev", `{"push_source_name":"driver_stats_push_source","df":{"user_id":[7]}}`, 400, `push_source_name "driver_stats_push_source": no such feature view in dev`},
		{"bad to", "?env=dev", `{"push_source_name":"user_stats",` + pushDF + `,"to":"both"}`, 400, `"to" is "both"`},
		{"prod", "", `{"push_source_name":"user_stats",` + pushDF + `}`, 403, "prod is a prod environment"},
		{"sql view offline", "?env=dev", `{"push_source_name":"orders_agg","df":{"user_id":[7],"event_ts":["2026-11-24T11:00:00Z"],"n":[1]},"to":"offline"}`, 400, "computed by a SQL query"},
		{"too large", "?env=dev", `{"push_source_name":"user_stats","df":{"user_id":[` + strings.Repeat("1,", 3000) + `1]}}`, 413, "serving.max_body_bytes"},
		{"unknown env", "?env=qa", `{"push_source_name":"user_stats",` + pushDF + `}`, 404, "qa"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.post(t, "/push"+c.path, c.body)
			require.Equal(t, c.status, status, body)
			require.Contains(t, message(t, body), c.want)
		})
	}
	wrong := message(t, func() string {
		_, b := f.post(t, "/push?env=dev", cases[2].body)
		return b
	}())
	for _, w := range []string{`df.event_ts[0] is "yesterday": not a time`, `df.total[0] is "1.5": not a double`, `df.country[0] is 3: not a string`, `df.n[0] is 1.5: not a long`, "nothing was written"} {
		require.Contains(t, wrong, w, "every wrong value is named")
	}
	_, body := f.post(t, "/get-online-features?env=dev", `{"features":["user_stats:n"],"entities":{"user_id":[7]}}`)
	require.Contains(t, body, `"NOT_FOUND"`, "no refused push wrote online")
	require.Empty(t, f.tableRows(t, "dev", "SELECT * FROM clean.user_stats"), "no refused push wrote offline")
}
