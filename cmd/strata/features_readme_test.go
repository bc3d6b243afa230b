package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

// TestReadmeFeatures: a newcomer follows README.md's feature store sections in a fresh project. The YAML
// definitions are copied as written (and the commented-out SQL source, uncommented, as a second view), every
// command line of the section's command block runs in each of its spelled-out forms ([optional] parts with and
// without, a|b alternatives each), and the online section's curl bodies (push, then get) are sent as written to
// a real `strata serve`, answered in the shape the README shows. A line added to the block fails this test
// until it is given its forms here.
func TestReadmeFeatures(t *testing.T) {
	yaml := readmeBlock(t, "### Features: definitions", "yaml")
	commands := readmeBlock(t, "### Features: definitions", "sh")
	online := readmeBlock(t, "### Online features", "sh")
	c := newCLI(t)
	t.Chdir(c.dir) // relative paths (spine.parquet, --out) are the working directory's, as in a shell
	c.ok("init")
	c.ok("table", "import", "--env", "dev", "clean.users", c.file("users.csv", "user_id,event_ts,created_ts,total,country\n"+
		"1,2024-01-01 00:00:00,2024-01-01 00:00:00,10.5,fr\n2,2024-01-02 00:00:00,2024-01-02 00:00:00,3.25,de\n"+
		"1,2024-01-05 00:00:00,2024-01-05 00:00:00,4,fr\n"))
	day := func(ago int) string { return time.Now().UTC().AddDate(0, 0, -ago).Format("2006-01-02 15:04:05") }
	c.ok("table", "import", "--env", "dev", "raw.orders", c.file("orders.csv", "user_id,event_ts,amount\n1,"+day(1)+",3\n1,"+day(20)+",4\n"))
	c.file("features/users.yaml", yaml)

	// The commented-out SQL source, uncommented, as a view of its own.
	var sqlSource []string
	for _, l := range strings.Split(yaml, "\n") {
		if strings.HasPrefix(l, "    # ") {
			sqlSource = append(sqlSource, "    "+strings.TrimPrefix(l, "    # "))
		}
	}
	require.Len(t, sqlSource, 4, "source:, sql:, its second line, params:")
	c.file("features/orders.yaml", "feature_views:\n  - name: orders_n\n    entities: [user]\n"+strings.Join(sqlSource, "\n")+
		"\n    event_time: event_ts\n    ttl: 0\n    features: [{name: n, type: long}]\n")
	c.ok("sql", "COPY (SELECT * FROM (VALUES (1, TIMESTAMP '2024-01-06', 'a'), (2, TIMESTAMP '2024-01-03', 'b'), "+
		"(1, TIMESTAMP '2024-01-02', 'a'), (3, TIMESTAMP '2024-01-03', 'b')) t(user_id, event_timestamp, label)) TO 'spine.parquet'")

	runID := seedTracking(t, c)
	ctx := context.Background()
	db, err := meta.Open(ctx, filepath.Join(c.dir, "strata-data", "meta.db"))
	require.NoError(t, err)
	ts, err := tracking.NewStore(ctx, db, "")
	require.NoError(t, err)
	require.NoError(t, registry.NewStore(ts).SetAlias(ctx, "churn", "champion", 1))
	require.NoError(t, db.Close())

	w7 := sha256.Sum256([]byte("window_days=7"))
	instance7 := "orders_n__p" + hex.EncodeToString(w7[:])[:10]
	forms := map[string][][]string{
		"strata plan --env dev":  {{"plan", "--env", "dev"}},
		"strata apply --env dev": {{"apply", "--env", "dev"}},
		"strata features list|versions user_stats|describe user_stats@1 [-o json]": {
			{"features", "list"}, {"features", "list", "-o", "json"}, {"features", "versions", "user_stats"},
			{"features", "versions", "user_stats", "-o", "json"}, {"features", "describe", "user_stats@1"},
			{"features", "describe", "user_stats@1", "-o", "json"}},
		"strata dataset build churn_train --spine spine.parquet --features user_stats:total --env dev [--full-names]": {
			{"dataset", "build", "churn_train", "--spine", "spine.parquet", "--features", "user_stats:total", "--env", "dev"},
			{"dataset", "build", "churn_train", "--spine", "spine.parquet", "--features", "user_stats:total", "--env", "dev", "--full-names"}},
		"strata dataset build churn_train --spine spine.parquet --features churn --sample 0.1 --seed 7 --stratify label": {
			{"dataset", "build", "churn_train", "--spine", "spine.parquet", "--features", "churn", "--sample", "0.1", "--seed", "7", "--stratify", "label"}},
		"strata dataset show churn_train": {{"dataset", "show", "churn_train"}},
		"strata dataset list":             {{"dataset", "list"}},
		"strata dataset export churn_train --out churn_train.parquet": {
			{"dataset", "export", "churn_train", "--out", "churn_train.parquet"}, {"dataset", "export", "churn_train", "--out", "churn_train.csv"},
			{"dataset", "export", "churn_train", "--out", "v1.csv", "--version", "1"}},
		"strata materialize --env dev [VIEW|'VIEW(param=value)']... [--incremental | --start T --end T]": {
			{"materialize", "--env", "dev"}, {"materialize", "--env", "dev", "user_stats", "orders_n(window_days=7)"},
			{"materialize", "--env", "dev", "--incremental"}, {"materialize", "--env", "dev", "user_stats", "--start", "2024-01-01", "--end", "2024-01-03"}},
		"strata materialize runs [--view VIEW] [-o json]": {
			{"materialize", "runs"}, {"materialize", "runs", "--view", "user_stats"}, {"materialize", "runs", "-o", "json"}},
		"strata dataset build churn_train ... --run RUN_ID": {
			{"dataset", "build", "churn_train", "--spine", "spine.parquet", "--features", "user_stats:total", "--env", "dev", "--run", runID}},
		"strata lineage models:/churn@champion [-o json]": {{"lineage", "models:/churn@champion"}, {"lineage", "models:/churn@champion", "-o", "json"}},
	}
	out := map[string]string{}
	for _, line := range strings.Split(commands, "\n") {
		if i := strings.Index(line, "  #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		runs, ok := forms[line]
		require.True(t, ok, "README line %q has no forms in TestReadmeFeatures: add them", line)
		for _, args := range runs {
			out[strings.Join(args, " ")] = c.ok(args...)
		}
		delete(forms, line)
	}
	require.Empty(t, forms, "lines no longer in the README")

	require.Contains(t, out["apply --env dev"], "stored 5 change(s) in dev")
	require.Contains(t, out["features describe user_stats@1"], "view user_stats@1")
	require.Contains(t, out["dataset build churn_train --spine spine.parquet --features user_stats:total --env dev --full-names"], "4 rows")
	v1, err := os.ReadFile(filepath.Join(c.dir, "v1.csv"))
	require.NoError(t, err)
	require.Equal(t, "user_id,event_timestamp,label,total\n1,2024-01-06T00:00:00,a,4\n2,2024-01-03T00:00:00,b,3.25\n"+
		"1,2024-01-02T00:00:00,a,10.5\n3,2024-01-03T00:00:00,b,\n", string(v1), "version 1, in spine order")
	require.Contains(t, out["dataset show churn_train"], "sample 0.1 seed 7 stratified by label")
	require.Contains(t, out["materialize --env dev user_stats orders_n(window_days=7)"], "features."+instance7)
	require.Equal(t, "n\n1\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM features."+instance7),
		"the 7-day instance holds the order of yesterday only")
	require.Equal(t, "n\n2\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM features.orders_n"), "the default 30 days hold both")
	require.Contains(t, out["lineage models:/churn@champion"], "user_stats@1")
	var lin map[string]any
	require.NoError(t, json.Unmarshal([]byte(out["lineage models:/churn@champion -o json"]), &lin))

	// The online section's curl bodies, as written, against a real server: the push first, then the get.
	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR="}, "--addr", "127.0.0.1:0")
	curls := regexp.MustCompile(`(?s)curl -s (\S+) -d '(.*?)'`).FindAllStringSubmatch(online, -1)
	require.Len(t, curls, 2, "the section shows a get and a push")
	// No wait for the server's first load: a push made while it loads is kept (TestPushDuringLoadIsKept).
	status, body := p.post(t, "/"+strings.SplitN(curls[1][1], "/", 2)[1], curls[1][2])
	require.Equal(t, 200, status, "push: %s", body)
	status, body = p.post(t, "/"+strings.SplitN(curls[0][1], "/", 2)[1], curls[0][2])
	require.Equal(t, 200, status, "get: %s", body)
	var resp onlineAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	require.Equal(t, []string{"user_id", "total", "country"}, resp.Metadata.FeatureNames, "the README's answer")
	require.Equal(t, []any{float64(1001), float64(1002)}, resp.Results[0].Values)
	require.Equal(t, []any{1.0, nil}, resp.Results[1].Values)
	require.Equal(t, []any{"fr", nil}, resp.Results[2].Values)
	pushed := time.Date(2026, 11, 24, 10, 59, 42, 0, time.UTC)
	want := "PRESENT"
	if time.Since(pushed) > 30*24*time.Hour { // the README's ttl: 30d
		want = "OUTSIDE_MAX_AGE"
	}
	require.Equal(t, []string{want, "NOT_FOUND"}, resp.Results[1].Statuses)
	require.Equal(t, "n\n1\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM clean.users WHERE user_id = 1001"),
		"to: online_and_offline appended the row to the view's table")
}
