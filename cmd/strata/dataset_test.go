package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/tracking"
)

// TestDatasetInstancesServicesSamplingCLI: --features takes view instances (commas inside the parentheses stay
// in the reference) and service names; --sample/--seed/--stratify are reproducible and shown in the lineage.
func TestDatasetInstancesServicesSamplingCLI(t *testing.T) {
	c := featureProject(t)
	c.file("features/users.yaml", userStatsYAML+"  - name: churn_v2\n    features: [\"user_orders(factor=10, skip='de'):scaled\", user_stats:total]\n")
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n1,2024-01-03 00:00:00,y\n")
	c.ok("dataset", "build", "inst", "--spine", spine, "--full-names",
		"--features", "user_orders:scaled,user_orders(factor=10, skip='de'):scaled", "--features", "user_stats:total")
	require.Equal(t, "label,user_orders__scaled,user_orders__p593370095d__scaled,user_stats__total\nx,6.5,,3.25\ny,21,105,10.5\n",
		c.ok("sql", "SELECT label, COLUMNS('scaled|total') FROM datasets.inst ORDER BY spine_row", "--format", "csv"))
	show := c.ok("dataset", "show", "inst")
	require.Regexp(t, `user_orders@1: scaled \(factor=10 skip=de\) <- clean.users@\d+ \[instance user_orders__p593370095d\]`, show)

	c.ok("dataset", "build", "svc", "--spine", spine, "--features", "churn_v2")
	require.Equal(t, "label,scaled,total\nx,,3.25\ny,105,10.5\n", c.ok("sql", "SELECT label, scaled, total FROM datasets.svc ORDER BY spine_row", "--format", "csv"))
	require.Contains(t, c.ok("dataset", "show", "svc"), "service churn_v2@1")
	require.Contains(t, c.fail(exitUsage, "dataset", "build", "bad", "--spine", spine, "--features", "user_orders(factor=x):scaled"),
		"view user_orders: parameter factor: x is not a valid int")
	require.Contains(t, c.fail(exitUsage, "dataset", "build", "bad", "--spine", spine, "--features", "user_orders(nope=1):scaled"),
		`view user_orders has no parameter "nope" (it has factor, skip)`)

	var big strings.Builder
	big.WriteString("user_id,event_timestamp,label\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&big, "%d,2024-01-03 00:00:00,%c\n", 1+i%2, "ab"[i%4/3])
	}
	bigSpine := c.file("big.csv", big.String())
	sampled := func() string {
		c.ok("dataset", "build", "s", "--spine", bigSpine, "--features", "user_stats:total", "--sample", "0.1", "--seed", "7", "--stratify", "label")
		return c.ok("sql", "SELECT spine_row, label FROM datasets.s ORDER BY spine_row", "--format", "csv")
	}
	first := sampled()
	require.Equal(t, first, sampled(), "the same seed keeps the same rows")
	require.Equal(t, 1+20, strings.Count(first, "\n"))
	require.Equal(t, "label,count_star()\na,15\nb,5\n", c.ok("sql", "SELECT label, count(*) FROM datasets.s GROUP BY label ORDER BY label", "--format", "csv"))
	require.Contains(t, c.ok("dataset", "show", "s"), "sample 0.1 seed 7 stratified by label")
	require.Contains(t, c.fail(exitUsage, "dataset", "build", "s", "--spine", bigSpine, "--features", "user_stats:total", "--sample", "2"),
		"sample 2: give a fraction of the spine's rows above 0 and at most 1")
}

// TestDatasetExportCLI: export writes a version's rows in spine order, without spine_row, as Parquet or CSV.
func TestDatasetExportCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n1,2023-12-01 00:00:00,y\n2,2024-01-03 00:00:00,z\n")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:country")

	csvOut := filepath.Join(c.dir, "train.csv")
	c.ok("dataset", "export", "train", "--out", csvOut)
	b, err := os.ReadFile(csvOut)
	require.NoError(t, err)
	require.Equal(t, "user_id,event_timestamp,label,country\n2,2024-01-03T00:00:00,x,de\n1,2023-12-01T00:00:00,y,\n2,2024-01-03T00:00:00,z,de\n", string(b))

	pq := filepath.Join(c.dir, "v1.parquet")
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "export", "train", "--version", "1", "--format", "parquet", "--out", pq, "-o", "json")), &sum))
	require.Equal(t, float64(3), sum["rows"])
	require.Equal(t, "label,total\nx,3.25\ny,\nz,3.25\n", c.ok("sql", "SELECT label, total FROM read_parquet('"+pq+"')", "--format", "csv"))

	require.Contains(t, c.fail(exitNotFound, "dataset", "export", "train", "--version", "9", "--out", csvOut), "dataset train has no version 9")
	require.Contains(t, c.fail(exitUsage, "dataset", "export", "train"), "--out FILE")
	require.Contains(t, c.fail(exitUsage, "dataset", "export", "train", "--out", filepath.Join(c.dir, "x.xlsx")), "names no format")
}

// TestDatasetProdListsOnlyReleasedBuilds: in prod, dataset list and show see only builds whose snapshot a
// published release pins, as export does: a staged build is absent until `release publish` pins it.
func TestDatasetProdListsOnlyReleasedBuilds(t *testing.T) {
	c := featureProject(t)
	c.ok("table", "import", "--env", "prod", "clean.users", c.file("users.csv", featureUsersCSV), "--force")
	c.ok("release", "publish", "--env", "prod", "clean.users")
	c.ok("apply", "--env", "prod")
	spine := c.file("spine.csv", "user_id,event_timestamp\n2,2024-01-03 00:00:00\n")
	c.ok("dataset", "build", "train", "--env", "prod", "--force", "--spine", spine, "--features", "user_stats:total")

	require.NotContains(t, c.ok("dataset", "list", "--env", "prod"), "train")
	require.Contains(t, c.ok("dataset", "list"), "NAME", "dev has none: the header only")
	out := c.fail(exitNotFound, "dataset", "show", "train", "--env", "prod")
	require.Contains(t, out, `dataset "train" has no build that a release of prod pins`)
	require.Contains(t, out, "strata release publish --env prod datasets.train")

	c.ok("release", "publish", "--env", "prod", "datasets.train")
	require.Contains(t, c.ok("dataset", "list", "--env", "prod"), "train")
	require.Contains(t, c.ok("dataset", "show", "train", "--env", "prod"), "user_stats@1: total")

	// A newer staged build leaves the released one listed.
	c.ok("dataset", "build", "train", "--env", "prod", "--force", "--spine", spine, "--features", "user_stats:country")
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "list", "--env", "prod", "-o", "json")), &list))
	require.Len(t, list, 1)
	require.Equal(t, float64(1), list[0]["version"])
}

// TestDatasetBuildRunInput: --run records the dataset as an MLflow dataset input of the run (name, digest,
// source naming env/table/version/snapshot, schema); an unknown run fails before anything is built.
func TestDatasetBuildRunInput(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	runID := seedTracking(t, c)
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total", "--run", runID)

	ctx := context.Background()
	db, err := meta.Open(ctx, filepath.Join(c.dir, "strata-data", "meta.db"))
	require.NoError(t, err)
	defer db.Close()
	ts, err := tracking.NewStore(ctx, db, "")
	require.NoError(t, err)
	run, err := ts.GetRun(ctx, runID)
	require.NoError(t, err)
	require.Len(t, run.Inputs.DatasetInputs, 1)
	in := run.Inputs.DatasetInputs[0]
	require.Equal(t, "train", in.Dataset.Name)
	require.Equal(t, "strata", in.Dataset.SourceType)
	require.Len(t, in.Dataset.Digest, 8)
	var src map[string]any
	require.NoError(t, json.Unmarshal([]byte(in.Dataset.Source), &src))
	require.Equal(t, "datasets.train", src["table"])
	require.Equal(t, float64(1), src["version"])
	require.Equal(t, `{"mlflow_colspec":[{"type":"datetime","name":"event_timestamp","required":false},{"type":"string","name":"label","required":false},`+
		`{"type":"double","name":"total","required":false},{"type":"long","name":"user_id","required":false}]}`, in.Dataset.Schema)
	require.Equal(t, "mlflow.data.context", in.Tags[0].Key)

	require.Contains(t, c.fail(exitNotFound, "dataset", "build", "other", "--spine", spine, "--features", "user_stats:total", "--run", "nope"), "--run nope")
	c.fail(exitNotFound, "dataset", "show", "other")
}

// TestLineageCLI: strata lineage follows a model version (by alias or number) to its run, the datasets the run
// consumed, and each dataset's view versions, parameters and input snapshots.
func TestLineageCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	runID := seedTracking(t, c) // model churn version 1 from this run
	spine := c.file("spine.csv", "user_id,event_timestamp\n2,2024-01-03 00:00:00\n")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total,user_orders(factor=3):scaled", "--run", runID)
	out := c.ok("lineage", "models:/churn/1")
	require.Contains(t, out, "model churn version 1\n  run "+runID+"\n    dataset datasets.train version 1 in dev (snapshot ")
	require.Regexp(t, `user_stats@1: total <- clean.users@\d+`, out)
	require.Regexp(t, `user_orders@1: scaled \(factor=3 skip=x\) <- clean.users@\d+`, out)

	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("lineage", "models:/churn/1", "-o", "json")), &rep))
	require.Equal(t, runID, rep["run_id"])
	ds := rep["datasets"].([]any)[0].(map[string]any)["dataset"].(map[string]any)
	require.Equal(t, "datasets.train", ds["table"])
	views := ds["lineage"].(map[string]any)["views"].([]any)
	require.Equal(t, map[string]any{"factor": float64(3), "skip": "x"}, views[1].(map[string]any)["params"])

	require.Contains(t, c.fail(exitUsage, "lineage", "churn"), "models:/NAME@ALIAS")
	require.Contains(t, c.fail(exitUsage, "lineage", "models:/churn@nope"), "alias nope not found")
}

// TestDatasetBuildPhasesCLI: `dataset build -v` prints where the time went, phase by phase, from process start;
// -o json has the same phases, with the write split into the join's copy and the commit; the phases sum to
// about the total.
func TestDatasetBuildPhasesCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp\n1,2024-01-03 00:00:00\n")
	out := c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total", "-v")
	require.Contains(t, out, "built datasets.train version 1 in dev: 1 rows")
	for _, line := range []string{`(?m)^PHASE\s+SECONDS`, `(?m)^open\s+\d+\.\d{3}\s+configuration, metadata database, lake$`,
		`(?m)^join_copy\s+\d+\.\d{3}\s+the point-in-time join and its Parquet copy$`, `(?m)^commit\s+\d+\.\d{3}\s`, `(?m)^total\s+\d+\.\d{3}\s`} {
		require.Regexp(t, line, out)
	}
	require.NotContains(t, c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total"), "PHASE")

	var ds struct {
		Version int64 `json:"version"`
		Phases  []struct {
			Name    string  `json:"name"`
			Seconds float64 `json:"seconds"`
		} `json:"phases"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total", "-o", "json")), &ds))
	require.Equal(t, int64(3), ds.Version)
	var names []string
	var sum float64
	for _, p := range ds.Phases {
		names = append(names, p.Name)
		if p.Name != "total" {
			sum += p.Seconds
		}
	}
	require.Equal(t, []string{"start", "open", "engine", "run", "check", "plan", "prepare", "join_copy", "commit", "record", "total"}, names)
	total := ds.Phases[len(ds.Phases)-1].Seconds
	require.InDelta(t, total, sum, 0.05*total+0.01, "the phases cover the build")
	require.Contains(t, c.ok("dataset", "show", "train", "-o", "json"), `"version": 3`)
	require.NotContains(t, c.ok("dataset", "show", "train", "-o", "json"), `"phases"`)
}
