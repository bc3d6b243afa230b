package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

// commandPaths lists every runnable command of the CLI without "strata " (cobra's help and completion aside).
func commandPaths() []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.Runnable() {
				out = append(out, strings.TrimPrefix(sub.CommandPath(), "strata "))
			}
			walk(sub)
		}
	}
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{}, nil)
	walk(a.rootCmd())
	sort.Strings(out)
	return out
}

// TestOutputEveryCommand runs every command with -o json (and the read-only ones with -o yaml): a command that
// prints data prints it parseable; a command that prints none refuses -o with a usage error before doing
// anything.
func TestOutputEveryCommand(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	orders := c.file("orders.csv", ordersCSV)
	c.ok("table", "import", "--env", "dev", "raw.orders", orders)
	c.ok("table", "import", "--env", "dev", "raw.users", c.file("users.csv", usersCSV))
	runID := seedTracking(t, c)
	spineFile := c.file("spine.csv", "customer_id,event_timestamp\n1,2024-01-02 00:00:00\n")
	moveJob := c.file("move.yaml", "name: copy_orders\nsource: {type: files, path: '"+orders+"'}\ntarget: {type: lake, table: raw.moved}\n")

	// In order: later commands rely on what earlier ones did (releases before diff and rollback).
	cases := []struct {
		path     string
		args     []string
		readOnly bool               // also run with -o yaml
		after    func(t *testing.T) // checks that a refused command changed nothing
	}{
		{"version", []string{"version"}, true, nil},
		{"init", []string{"init", filepath.Join(c.dir, "other")}, false, func(t *testing.T) {
			require.NoDirExists(t, filepath.Join(c.dir, "other"))
		}},
		{"demo", []string{"demo"}, false, func(t *testing.T) {
			c.fail(exitNotFound, "table", "show", "clean.orders")
		}},
		{"serve", []string{"serve", "--addr", "127.0.0.1:0"}, false, nil},
		{"sql", []string{"sql", "SELECT order_id FROM raw.orders ORDER BY 1"}, false, nil},
		{"table import", []string{"table", "import", "--env", "dev", "raw.fresh", orders}, false, func(t *testing.T) {
			c.fail(exitNotFound, "table", "show", "raw.fresh")
		}},
		{"table list", []string{"table", "list"}, true, nil},
		{"table show", []string{"table", "show", "raw.orders"}, true, nil},
		{"table snapshots", []string{"table", "snapshots", "raw.orders"}, true, nil},
		{"table schema", []string{"table", "schema", "raw.orders"}, true, nil},
		{"table preview", []string{"table", "preview", "raw.orders"}, false, nil},
		{"table expire", []string{"table", "expire", "raw.orders"}, false, nil},
		{"table remove-orphans", []string{"table", "remove-orphans", "raw.orders"}, false, nil},
		{"env list", []string{"env", "list"}, true, nil},
		{"env create", []string{"env", "create", "staging"}, false, func(t *testing.T) {
			require.NotContains(t, c.ok("env", "list"), "staging")
		}},
		{"env clone", []string{"env", "clone", "dev", "prod", "--force"}, false, nil},
		{"env audit", []string{"env", "audit"}, true, nil},
		{"release publish", []string{"release", "publish", "--env", "prod"}, false, nil},
		{"release list", []string{"release", "list"}, true, nil},
		{"release show", []string{"release", "show", "1"}, true, nil},
		{"release diff", []string{"release", "diff", "1", "2"}, true, nil},
		{"release diff", []string{"release", "diff", "1", "1"}, true, nil}, // no differences: [], not null
		{"release rollback", []string{"release", "rollback", "1"}, false, nil},
		{"runs list", []string{"runs", "list"}, true, nil},
		{"runs show", []string{"runs", "show", runID}, true, nil},
		{"models list", []string{"models", "list"}, true, nil},
		{"models show", []string{"models", "show", "churn"}, true, nil},
		{"plan", []string{"plan"}, true, nil},
		{"apply", []string{"apply"}, false, nil},
		{"features list", []string{"features", "list"}, true, nil},
		{"features describe", []string{"features", "describe", "customer"}, true, nil},
		{"features versions", []string{"features", "versions", "customer"}, true, nil},
		{"dataset build", []string{"dataset", "build", "train", "--spine", spineFile, "--features", "customer_stats:amount"}, false, nil},
		{"dataset list", []string{"dataset", "list"}, true, nil},
		{"dataset show", []string{"dataset", "show", "train"}, true, nil},
		{"dataset export", []string{"dataset", "export", "train", "--out", filepath.Join(c.dir, "train.parquet")}, false, nil},
		{"dataset cache", []string{"dataset", "cache"}, true, nil},
		{"dataset cache warm", []string{"dataset", "cache", "warm", "customer_stats:amount"}, false, nil},
		{"materialize", []string{"materialize"}, false, nil},
		{"materialize runs", []string{"materialize", "runs"}, true, nil},
		{"lineage", []string{"lineage", "models:/churn/1"}, true, nil},
		{"move plan", []string{"move", "plan", moveJob}, true, nil},
		{"move run", []string{"move", "run", moveJob}, false, nil},
		{"move runs", []string{"move", "runs"}, true, nil},
		{"move show", []string{"move", "show", firstMoveRun(t, c)}, true, nil},
		{"user add", []string{"user", "add", "ana", "--role", "developer", "--env", "dev", "--password-stdin"}, false, nil},
		{"user list", []string{"user", "list"}, true, nil},
		{"user grant", []string{"user", "grant", "ana", "--env", "prod", "--role", "viewer"}, false, nil},
		{"user revoke", []string{"user", "revoke", "ana", "--env", "prod"}, false, nil},
		{"user passwd", []string{"user", "passwd", "ana", "--password-stdin"}, false, nil},
		{"token create", []string{"token", "create", "--user", "ana"}, false, nil},
		{"token list", []string{"token", "list"}, true, nil},
		{"token revoke", []string{"token", "revoke"}, false, nil}, // + the id of the token just created
		{"user rm", []string{"user", "rm", "ana"}, false, nil},
		{"table rm", []string{"table", "rm", "raw.users"}, false, func(t *testing.T) {
			c.ok("table", "show", "raw.users")
		}},
	}
	var tested []string
	for _, tc := range cases {
		tested = append(tested, tc.path)
		if tc.path == "release diff" && tc.args[3] == "2" { // a second release to compare with
			c.ok("table", "import", "--env", "prod", "raw.orders", orders, "--force")
			c.ok("release", "publish", "--env", "prod", "raw.orders")
		}
		if tc.path == "plan" { // a feature definition to plan and apply
			require.NoError(t, os.MkdirAll(filepath.Join(c.dir, "features"), 0o755))
			c.file("features/e.yaml", "entities:\n  - name: customer\n    join_keys: [{name: customer_id, type: long}]\n"+
				"feature_views:\n  - name: customer_stats\n    entities: [customer]\n    source: {table: clean.customer_stats}\n"+
				"    event_time: event_ts\n    features: [{name: amount, type: double}]\n")
			c.ok("table", "import", "--env", "dev", "clean.customer_stats",
				c.file("stats.csv", "customer_id,event_ts,amount\n1,2024-01-01 00:00:00,2.5\n"))
		}
		if tc.path == "token revoke" {
			tc.args = append(tc.args, firstToken(t, c))
		}
		if slices.Contains(tc.args, "--password-stdin") {
			pipeStdin(t, "a-long-password\n")
		}
		kind, ok := outputs[tc.path]
		require.True(t, ok, "%s is not classified in outputs", tc.path)
		formats := []string{"json"}
		if tc.readOnly {
			formats = append(formats, "yaml")
		}
		for _, format := range formats {
			args := append(append([]string{}, tc.args...), "-o", format)
			if kind == outRefused || (kind == outRows && format == "yaml") {
				errs := c.fail(exitUsage, args...)
				require.Regexp(t, `prints no data|no YAML form`, errs, tc.path)
				if tc.after != nil {
					tc.after(t)
				}
				continue
			}
			out := c.ok(args...)
			var v any
			if format == "json" {
				require.NoError(t, json.Unmarshal([]byte(out), &v), "strata %s -o json printed:\n%s", tc.path, out)
			} else {
				require.NoError(t, yaml.Unmarshal([]byte(out), &v), "strata %s -o yaml printed:\n%s", tc.path, out)
			}
			require.NotNil(t, v, "strata %s -o %s printed nothing", tc.path, format)
		}
	}
	sort.Strings(tested)
	require.Equal(t, commandPaths(), slices.Compact(tested), "every command is tested here")

	var all []string
	for p := range outputs {
		all = append(all, p)
	}
	sort.Strings(all)
	require.Equal(t, commandPaths(), all, "outputs classifies exactly the commands that exist")
}

// seedTracking logs a run and registers a model through the stores, for the runs and models commands.
func seedTracking(t *testing.T, c *cli) (runID string) {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, filepath.Join(c.dir, "strata-data", "meta.db"))
	require.NoError(t, err)
	defer db.Close()
	ts, err := tracking.NewStore(ctx, db, "")
	require.NoError(t, err)
	run, err := ts.CreateRun(ctx, tracking.CreateRunInput{ExperimentID: "0", RunName: "train"})
	require.NoError(t, err)
	reg := registry.NewStore(ts)
	_, err = reg.CreateRegisteredModel(ctx, "churn", "", nil)
	require.NoError(t, err)
	_, err = reg.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "churn", Source: "runs:/" + run.Info.RunID + "/model"})
	require.NoError(t, err)
	return run.Info.RunID
}

// TestOutputFlag: -o is checked before any work; rows follow -o json; -o and --format must agree.
func TestOutputFlag(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	orders := c.file("orders.csv", ordersCSV)
	// An unknown -o fails before the import runs.
	require.Contains(t, c.fail(exitUsage, "table", "import", "raw.orders", orders, "-o", "xml"), "table, json or yaml")
	c.fail(exitNotFound, "table", "show", "raw.orders")
	c.ok("table", "import", "raw.orders", orders)

	const q = "SELECT order_id, status FROM raw.orders ORDER BY order_id LIMIT 2"
	want := `[{"order_id":1,"status":"paid"},{"order_id":2,"status":"shipped"}]`
	require.JSONEq(t, want, c.ok("sql", q, "-o", "json"))
	require.JSONEq(t, want, c.ok("sql", q, "-o", "json", "--format", "json"))
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("table", "preview", "raw.orders", "-o", "json")), &rows))
	require.Len(t, rows, 3)
	require.Equal(t, "paid", rows[0]["status"])

	require.Contains(t, c.fail(exitUsage, "sql", q, "-o", "json", "--format", "csv"), "disagree")
	require.Contains(t, c.fail(exitUsage, "table", "preview", "raw.orders", "-o", "json", "--format", "csv"), "disagree")
	require.Contains(t, c.fail(exitUsage, "sql", q, "-o", "yaml"), "no YAML form")
}

// TestSQLOutFile: the file's format comes from --format or its extension; an unknown extension is an error that
// writes nothing; -o json prints a summary of the file.
func TestSQLOutFile(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "raw.orders", c.file("orders.csv", ordersCSV))
	const q = "SELECT order_id FROM raw.orders ORDER BY 1"

	for _, name := range []string{"report.xlsx", "report", "report.txt"} {
		p := filepath.Join(c.dir, name)
		errs := c.fail(exitUsage, "sql", q, "--out", p)
		require.Contains(t, errs, "--format csv, json, jsonl, parquet, arrow or table", name)
		require.NoFileExists(t, p)
	}
	// --format names the format whatever the extension.
	p := filepath.Join(c.dir, "report.txt")
	_, stderr, code := c.run("sql", q, "--out", p, "--format", "csv")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "wrote 3 rows to "+p+"\n", stderr)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "order_id\n1\n2\n3\n", string(b))

	cases := map[string]string{"o.csv": "csv", "o.json": "json", "o.jsonl": "jsonl", "o.NDJSON": "jsonl",
		"o.parquet": "parquet", "o.arrow": "arrow"}
	for name, format := range cases {
		p := filepath.Join(c.dir, name)
		var sum sqlExport
		require.NoError(t, json.Unmarshal([]byte(c.ok("sql", q, "--out", p, "-o", "json")), &sum))
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, sqlExport{File: p, Format: format, Rows: 3, Bytes: st.Size()}, sum)
	}
	n := c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM read_parquet('"+filepath.Join(c.dir, "o.parquet")+"')")
	require.Equal(t, "n\n3\n", n)
	require.Contains(t, c.ok("sql", q, "--out", filepath.Join(c.dir, "o.json"), "-o", "yaml"), "rows: 3")
}

// TestPrintEmptyList: an empty result is [] in JSON and YAML, never null.
func TestPrintEmptyList(t *testing.T) {
	t.Parallel()
	for format, want := range map[string]string{"json": "[]\n", "yaml": "[]\n"} {
		var out bytes.Buffer
		a := newApp(&out, &bytes.Buffer{}, nil)
		a.output = format
		var none []versionInfo
		require.NoError(t, a.print(none, nil))
		require.Equal(t, want, out.String(), format)
	}
}

// firstMoveRun runs a small move job and returns its run id.
func firstMoveRun(t *testing.T, c *cli) string {
	t.Helper()
	job := c.file("move_seed.yaml", "name: seed_orders\nsource: {type: files, path: '"+c.file("seed.csv", ordersCSV)+"'}\ntarget: {type: lake, table: raw.move_seed}\n")
	var rec struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", job, "-o", "json")), &rec))
	return rec.ID
}
