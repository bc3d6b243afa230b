package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

// TestReleaseRecordsModelAlias: a prod release records which version an alias pointed to when it was
// published, and keeps saying so after the alias moves.
func TestReleaseRecordsModelAlias(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	c.ok("table", "import", "--env", "prod", "--force", "raw.orders", c.file("orders.csv", ordersCSV))

	ctx := context.Background()
	db, err := meta.Open(ctx, c.dir+"/strata-data/meta.db")
	require.NoError(t, err)
	defer db.Close()
	ts, err := tracking.NewStore(ctx, db, "")
	require.NoError(t, err)
	reg := registry.NewStore(ts)
	run, err := ts.CreateRun(ctx, tracking.CreateRunInput{ExperimentID: "0", RunName: "train"})
	require.NoError(t, err)
	_, err = reg.CreateRegisteredModel(ctx, "churn", "", nil)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		_, err = reg.CreateModelVersion(ctx, registry.CreateModelVersionInput{Name: "churn", Source: "runs:/" + run.Info.RunID + "/model"})
		require.NoError(t, err)
	}
	require.NoError(t, reg.SetAlias(ctx, "churn", "champion", 1))

	c.ok("release", "publish", "--env", "prod", "--model", "churn@champion")
	require.NoError(t, reg.SetAlias(ctx, "churn", "champion", 2))

	var rel struct {
		ID     int64
		Models []struct{ Model, Alias, Version string }
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("release", "show", "1", "--env", "prod", "-o", "json")), &rel))
	require.Len(t, rel.Models, 1)
	require.Equal(t, "churn", rel.Models[0].Model)
	require.Equal(t, "champion", rel.Models[0].Alias)
	require.Equal(t, "1", rel.Models[0].Version)

	errs := c.fail(exitNotFound, "release", "publish", "--env", "prod", "--model", "churn@nope")
	require.Contains(t, errs, "churn@nope")
	c.fail(exitUsage, "release", "publish", "--env", "prod", "--model", "churn")
}
