//go:build duckdb_arrow

package move_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/move"
)

// TestMergeRewritesOnlyMatchingFiles: a merge reads and rewrites only the data files whose key bounds can hold
// one of its keys, and an overwrite-partition only the files of its partitions: the new snapshot keeps every
// other file, by path, and the contents are those of a merge of the whole table.
func TestMergeRewritesOnlyMatchingFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	id := lake.Ident{Zone: "raw", Name: "big"}
	run := func(body, target string) *move.RunRecord {
		t.Helper()
		spec, ps := f.job(t, "name: j\nsource: {type: files, path: '"+f.file(t, "in.csv", body)+"'}\ntarget: {type: lake, table: raw.big"+target+"}\n", nil)
		rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
		require.NoError(t, err)
		return rec
	}
	files := func() []string {
		t.Helper()
		p, err := f.svc.Lake().Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		return p.Files
	}
	// Four appends, one data file each: ids 0-99 on day 1, 100-199 on day 2, ...
	var byRange []string
	for r := range 4 {
		var sb strings.Builder
		sb.WriteString("id,day,v\n")
		for i := r * 100; i < r*100+100; i++ {
			fmt.Fprintf(&sb, "%d,2026-11-0%d,v%d\n", i, r+1, i)
		}
		run(sb.String(), "")
		for _, p := range files() {
			if !slices.Contains(byRange, p) {
				byRange = append(byRange, p)
			}
		}
		require.Len(t, byRange, r+1)
	}

	rec := run("id,day,v\n150,2026-11-02,updated\n160,2026-11-02,updated\n1000,2026-11-09,new\n", ", mode: merge, key: [id]")
	require.Equal(t, [2]int{1, 4}, [2]int{rec.FilesRewritten, rec.FilesTotal}, "the run record says what fraction was rewritten")
	stored, err := move.GetRun(context.Background(), f.db, rec.ID)
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 4}, [2]int{stored.FilesRewritten, stored.FilesTotal}, "move show keeps the fraction")
	after := files()
	require.Len(t, after, 4)
	require.Subset(t, after, []string{byRange[0], byRange[2], byRange[3]}, "files without a merged key are kept")
	require.NotContains(t, after, byRange[1])
	require.Equal(t, []string{"401|2|1"}, f.query(t, "dev",
		"SELECT count(*), count(*) FILTER (v = 'updated'), count(*) FILTER (v = 'new') FROM raw.big"))
	require.Equal(t, []string{"149|v149", "150|updated", "151|v151"}, f.query(t, "dev",
		"SELECT id, v FROM raw.big WHERE id BETWEEN 149 AND 151 ORDER BY id"))
	require.Equal(t, 5, f.snapshots(t, "dev", "raw.big"))

	// Day 3's rows are replaced; the files of the other days stay.
	rec = run("id,day,v\n7000,2026-11-03,d3\n", ", mode: overwrite-partition, partition: [day]")
	// Day 3's file, and the merge's file, whose days (2 and 9) bound day 3 too.
	require.Equal(t, [2]int{2, 4}, [2]int{rec.FilesRewritten, rec.FilesTotal})
	final := files()
	require.Subset(t, final, []string{byRange[0], byRange[3]})
	require.NotContains(t, final, byRange[2])
	require.Equal(t, []string{"2026-11-01|100", "2026-11-02|100", "2026-11-03|1", "2026-11-04|100", "2026-11-09|1"},
		f.query(t, "dev", "SELECT day, count(*) FROM raw.big GROUP BY day ORDER BY day"))
}

// TestMergeLongStringKeys: string keys longer than the 16 characters Iceberg keeps of a bound still find their
// file (a truncated upper bound is rounded up), so a merge never adds a second row for a key.
func TestMergeLongStringKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	long := func(prefix string, i int) string { return strings.Repeat(prefix, 30) + fmt.Sprint(i) }
	run := func(body, target string) {
		t.Helper()
		spec, ps := f.job(t, "name: s\nsource: {type: files, path: '"+f.file(t, "s.csv", body)+"'}\ntarget: {type: lake, table: raw.s"+target+"}\n", nil)
		_, err := move.Run(ctx, f.deps("dev"), spec, ps)
		require.NoError(t, err)
	}
	for _, p := range []string{"a", "b", "\u00e9"} {
		var sb strings.Builder
		sb.WriteString("k,v\n")
		for i := 1; i <= 9; i++ {
			fmt.Fprintf(&sb, "%s,old\n", long(p, i))
		}
		run(sb.String(), "")
	}
	run("k,v\n"+long("a", 9)+",new\n"+long("\u00e9", 9)+",new\n"+long("b", 1)+",new\n", ", mode: merge, key: [k]")
	require.Equal(t, []string{"27|3"}, f.query(t, "dev", "SELECT count(DISTINCT k), count(*) FILTER (v = 'new') FROM raw.s"))
	require.Equal(t, []string{"27"}, f.query(t, "dev", "SELECT count(*) FROM raw.s"))
}
