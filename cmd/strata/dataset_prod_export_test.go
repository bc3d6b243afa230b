package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDatasetProdExportAndRebuildSeeReleasesOnly: in prod, `dataset export` reads only a build a release pins:
// a staged build is not exported (by default or by --version), the released version is; and the same build
// command on the same release gives the same rows even after newer staged writes to the view's table. Without
// --version, export takes the latest released build while a newer one is staged.
func TestDatasetProdExportAndRebuildSeeReleasesOnly(t *testing.T) {
	c := featureProject(t)
	c.ok("table", "import", "--env", "prod", "clean.users", c.file("users.csv", featureUsersCSV), "--force")
	c.ok("release", "publish", "--env", "prod", "clean.users")
	c.ok("apply", "--env", "prod")
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n1,2024-01-02 00:00:00,y\n")
	build := func(name string) {
		c.ok("dataset", "build", name, "--env", "prod", "--force", "--spine", spine, "--features", "user_stats:total,user_stats:country")
	}
	out := filepath.Join(c.dir, "out.csv")
	build("train")
	require.Contains(t, c.fail(exitNotFound, "dataset", "export", "train", "--env", "prod", "--out", out), "no release of prod pins it")
	require.Contains(t, c.fail(exitNotFound, "dataset", "export", "train", "--env", "prod", "--out", out, "--version", "1"), "train")
	require.NoFileExists(t, out, "nothing of a staged build is written")

	c.ok("release", "publish", "--env", "prod", "datasets.train")
	c.ok("dataset", "export", "train", "--env", "prod", "--out", out, "--format", "csv")
	released, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "user_id,event_timestamp,label,total,country\n2,2024-01-03T00:00:00,x,3.25,de\n1,2024-01-02T00:00:00,y,10.5,fr\n", string(released))

	// Newer staged rows of the view's table, and a staged rebuild that reads the same release.
	c.ok("table", "import", "--env", "prod", "clean.users", c.file("leak.csv", strings.ReplaceAll(featureUsersCSV, "3.25,de", "99,LEAKED")), "--force")
	build("train")
	for _, version := range [][]string{nil, {"--version", "1"}} { // without --version: the latest released build
		c.ok(append([]string{"dataset", "export", "train", "--env", "prod", "--out", out, "--format", "csv"}, version...)...)
		again, err := os.ReadFile(out)
		require.NoError(t, err)
		require.Equal(t, string(released), string(again), "the released version 1, not the staged version 2 (%v)", version)
	}
	require.Contains(t, c.fail(exitNotFound, "dataset", "export", "train", "--env", "prod", "--out", out, "--version", "2"), "train")
	c.ok("release", "publish", "--env", "prod", "datasets.train")
	c.ok("dataset", "export", "train", "--env", "prod", "--out", out, "--format", "csv")
	v2, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, string(released), string(v2), "the same command on the same release (clean.users not republished) gives the same rows")
	require.NotContains(t, c.ok("dataset", "show", "train", "--env", "prod"), "LEAKED")
}
