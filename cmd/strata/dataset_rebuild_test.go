package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDatasetRebuildReplacesColumnsCLI: `dataset build` again with other features leaves the table with the new
// build's columns only (the earlier feature is not kept as a NULL column), and `dataset export --version 1`
// still gives the first build's columns and values.
func TestDatasetRebuildReplacesColumnsCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n1,2023-12-01 00:00:00,y\n2,2024-01-03 00:00:00,z\n")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:country")

	require.Equal(t, "user_id,event_timestamp,label,spine_row,country\n",
		c.ok("sql", "SELECT * FROM datasets.train LIMIT 0", "--format", "csv"), "no total column left from the first build")

	v1 := filepath.Join(c.dir, "v1.csv")
	c.ok("dataset", "export", "train", "--version", "1", "--out", v1)
	b, err := os.ReadFile(v1)
	require.NoError(t, err)
	require.Equal(t, "user_id,event_timestamp,label,total\n2,2024-01-03T00:00:00,x,3.25\n1,2023-12-01T00:00:00,y,\n2,2024-01-03T00:00:00,z,3.25\n", string(b))
}
