package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDatasetSpineIsADatasetCLI: `dataset build --spine datasets.NAME` builds on an earlier dataset: its rows
// in its spine order, its columns (features included) kept, its spine_row replaced by the new build's.
func TestDatasetSpineIsADatasetCLI(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	spine := c.file("spine.csv", "user_id,event_timestamp,label\n2,2024-01-03 00:00:00,x\n1,2023-12-01 00:00:00,y\n1,2024-01-03 00:00:00,z\n")
	c.ok("dataset", "build", "train", "--spine", spine, "--features", "user_stats:total")
	c.ok("dataset", "build", "train2", "--spine", "datasets.train", "--features", "user_stats:country")
	out := filepath.Join(c.dir, "train2.csv")
	c.ok("dataset", "export", "train2", "--out", out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "user_id,event_timestamp,label,total,country\n2,2024-01-03T00:00:00,x,3.25,de\n1,2023-12-01T00:00:00,y,,\n1,2024-01-03T00:00:00,z,10.5,fr\n", string(b))
	require.Equal(t, "spine_row,label\n1,x\n2,y\n3,z\n", c.ok("sql", "SELECT spine_row, label FROM datasets.train2 ORDER BY spine_row", "--format", "csv"))
	require.Contains(t, c.ok("dataset", "show", "train2"), "spine datasets.train")
}
