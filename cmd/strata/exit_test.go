package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDatasetBuildExitLeavesNothing: a real `strata dataset build` process ends its engine with CloseForExit
// (its DuckDB databases are left to the process's exit): it leaves no scratch folder behind, and what it
// committed is there for the next process — the rows and the dataset's version.
func TestDatasetBuildExitLeavesNothing(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp\n1,2024-01-03 00:00:00\n2,2024-01-03 00:00:00\n")
	for v := 1; v <= 2; v++ {
		cmd := exec.Command(binPath, "dataset", "build", "train", "--spine", spine, "--features", "user_stats:total")
		cmd.Env = append(os.Environ(), c.environ...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "built datasets.train version "+string(rune('0'+v))+" in dev: 2 rows")
		require.Empty(t, scratchFolders(t, c.dir), "the process removed its engine's scratch before exiting")
	}
	require.Equal(t, "n\n2\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM datasets.train"))
	require.Contains(t, c.ok("dataset", "show", "train", "-o", "json"), `"version": 2`)
}
