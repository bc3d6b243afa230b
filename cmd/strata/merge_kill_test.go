package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMergeKilledBeforeCommit: `strata move run` of a merge, killed once its rewritten files are written and
// before the commit, leaves the table as it was (same snapshots, same rows); a re-run merges.
func TestMergeKilledBeforeCommit(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	load := func(name, csv, target string) string {
		return c.job(name+".yaml", "name: "+name+"\nsource: {type: files, path: '"+c.file(name+".csv", csv)+"'}\n"+
			"target: {type: lake, table: raw.m"+target+"}\n")
	}
	c.ok("move", "run", load("a", "id,v\n1,a\n2,b\n", ""))
	c.ok("move", "run", load("b", "id,v\n10,c\n11,d\n", ""))
	merge := load("m", "id,v\n2,B\n12,e\n", ", mode: merge, key: [id]")
	contents := func() string {
		return c.ok("sql", "--format", "csv", "SELECT id, v FROM raw.m ORDER BY id")
	}
	before := contents()
	require.Equal(t, "id,v\n1,a\n2,b\n10,c\n11,d\n", before)

	kill(t, startHooked(t, c, "write:files-written", "move", "run", merge))
	require.Equal(t, 2, snapshotCount(t, c, "raw.m"), "killed before the commit: no snapshot")
	require.Equal(t, before, contents())

	c.ok("move", "run", merge)
	require.Equal(t, 3, snapshotCount(t, c, "raw.m"))
	require.Equal(t, "id,v\n1,a\n2,B\n10,c\n11,d\n12,e\n", contents())
}
