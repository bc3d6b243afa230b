package features

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// positionDefs: the same rows as a table view (read by position) and as a SQL view (the general plan, which
// deduplicates exact ties by a hash of the features), with the same TTL and created time.
const positionDefs = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: by_table
    entities: [user]
    source: {table: clean.mixed}
    event_time: event_ts
    created_time: created_ts
    ttl: 2d
    features: [{name: a, type: long}, {name: b, type: double}]
  - name: by_sql
    entities: [user]
    source: {sql: SELECT * FROM clean.mixed}
    event_time: event_ts
    created_time: created_ts
    ttl: 2d
    features: [{name: a, type: long}, {name: b, type: double}]
`

// mixedCSV writes n feature rows for keys 0..keys-1 over two weeks: event times out of order, every 5th row
// ties the previous row's event time with a later created time, every 7th has no created time, every 4th a
// NULL feature, and no two rows share key, event time and created time (so both plans must pick the same row).
func mixedCSV(n, keys, offset int) string {
	var b strings.Builder
	b.WriteString("user_id,event_ts,created_ts,a,b\n")
	for i := offset; i < offset+n; i++ {
		j := i
		if i%5 == 0 && i > 0 {
			j = i - 1
		}
		ev := (j * 7919) % (14 * 24 * 60)
		created := fmt.Sprintf("2024-02-01 00:%02d:%02d", (i/60)%60, i%60)
		if i%7 == 0 {
			created = ""
		}
		a := fmt.Sprint(i)
		if i%4 == 0 {
			a = ""
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s,%d.5\n", j%keys, minuteTime(ev), created, a, i)
	}
	return b.String()
}

// minuteTime is 2024-01-01 plus m minutes, as CSV writes it.
func minuteTime(m int) string {
	return fmt.Sprintf("2024-01-%02d %02d:%02d:00", 1+m/(24*60), (m/60)%24, m%60)
}

func spineMixed(n, keys int) string {
	var b strings.Builder
	b.WriteString("user_id,event_timestamp\n")
	for i := 0; i < n; i++ {
		m := (i * 104729) % (15 * 24 * 60)
		k := (i * 31) % (keys + 3) // some keys have no rows
		if i%9 == 8 {              // a duplicate spine row
			m = ((i - 1) * 104729) % (15 * 24 * 60)
			k = ((i - 1) * 31) % (keys + 3)
		}
		fmt.Fprintf(&b, "%d,%s\n", k, minuteTime(m))
	}
	return b.String()
}

// TestDatasetPositionalPlanMatchesGeneral: a view over one lake table is read by position (its SQL says so),
// and gives row for row what the general plan gives over the same rows, across two data files, with created-
// time ties, NULL created times, NULL features, the TTL, keys without rows and duplicate spine rows; in an
// engine without external access (the server's), which reads only the tables' files.
func TestDatasetPositionalPlanMatchesGeneral(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.mixed", mixedCSV(600, 40, 0))
	id := lake.Ident{Zone: "clean", Name: "mixed"}
	_, err := f.envs.ImportFile(f.ctx, f.eng, "dev", id, f.file(t, "more.csv", mixedCSV(400, 40, 600)),
		engine.ReadOptions{}, envs.WriteOptions{Actor: "test", Mode: envs.Append})
	require.NoError(t, err)
	p, err := f.envs.Resolve(f.ctx, "dev", id, lake.SnapshotRef{})
	require.NoError(t, err)
	require.Len(t, p.Files, 2, "the test needs rows in two files")
	_, err = f.b.Registry.Apply(f.ctx, "dev", mustParse(t, positionDefs), "ann")
	require.NoError(t, err)

	sandboxed, err := engine.New(engine.Options{Threads: 2, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sandboxed.Close() })
	b := &Builder{Registry: f.b.Registry, Envs: f.envs, Engine: sandboxed}
	f.importCSV(t, "dev", "raw.spine", spineMixed(700, 40))
	spine := "raw.spine" // a sandboxed engine reads lake tables only

	q, _, err := b.plan(f.ctx, DatasetRequest{Env: "dev", Name: "x", Spine: spine, SpineTime: "event_timestamp", Features: []string{"by_table:*"}})
	require.NoError(t, err)
	require.Contains(t, q.sql, "file_row_number", "a table view is read by position")
	q, _, err = b.plan(f.ctx, DatasetRequest{Env: "dev", Name: "x", Spine: spine, SpineTime: "event_timestamp", Features: []string{"by_sql:*"}})
	require.NoError(t, err)
	require.NotContains(t, q.sql, "file_row_number", "a SQL view takes the general plan")

	for _, view := range []string{"by_table", "by_sql"} {
		_, err := b.Build(f.ctx, DatasetRequest{Env: "dev", Name: view, Spine: spine, Features: []string{view + ":*"}})
		require.NoError(t, err)
	}
	byTable := f.rows(t, "dev", "SELECT spine_row, user_id, event_timestamp, a, b FROM datasets.by_table ORDER BY spine_row")
	bySQL := f.rows(t, "dev", "SELECT spine_row, user_id, event_timestamp, a, b FROM datasets.by_sql ORDER BY spine_row")
	require.Len(t, byTable, 700)
	require.Equal(t, bySQL, byTable)
	counts := f.rows(t, "dev", "SELECT count(b), count(*) - count(b), count(a) FROM datasets.by_table")
	var matched, unmatched, withA int
	_, err = fmt.Sscanf(counts[0], "%d,%d,%d", &matched, &unmatched, &withA)
	require.NoError(t, err)
	require.True(t, matched > 100 && unmatched > 100 && withA < matched, "the spine must hit matches, misses and NULL features: %s", counts[0])
}

// TestDatasetExactTiesByPosition: rows of a table view equal in keys, event time and created time but not in
// their features are one match; the build takes the same one of them every time (the last in file and row
// order), whatever the order of the snapshot's files.
func TestDatasetExactTiesByPosition(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.mixed", "user_id,event_ts,created_ts,a,b\n"+
		"1,2024-01-01 00:00:00,2024-01-01 00:00:00,1,1.5\n"+
		"1,2024-01-01 00:00:00,2024-01-01 00:00:00,2,2.5\n"+
		"1,2024-01-01 00:00:00,2024-01-01 00:00:00,3,3.5\n"+
		"2,2024-01-01 00:00:00,,4,4.5\n")
	id := lake.Ident{Zone: "clean", Name: "mixed"}
	_, err := f.envs.ImportFile(f.ctx, f.eng, "dev", id, f.file(t, "more.csv", "user_id,event_ts,created_ts,a,b\n"+
		"1,2024-01-01 00:00:00,2024-01-01 00:00:00,7,7.5\n2,2024-01-01 00:00:00,,8,8.5\n"),
		engine.ReadOptions{}, envs.WriteOptions{Actor: "test", Mode: envs.Append})
	require.NoError(t, err)
	_, err = f.b.Registry.Apply(f.ctx, "dev", mustParse(t, positionDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n1,2024-01-01 12:00:00\n2,2024-01-01 12:00:00\n1,2024-01-01 13:00:00\n")

	var first []string
	for range 3 {
		_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "ties", Spine: spine, Features: []string{"by_table:*"}})
		require.NoError(t, err)
		got := f.rows(t, "dev", "SELECT user_id, a, b FROM datasets.ties ORDER BY spine_row")
		require.Len(t, got, 3)
		if first == nil {
			first = got
			require.Contains(t, []string{"1,3,3.5", "1,7,7.5"}, got[0], "the last tied row of a file")
			require.Contains(t, []string{"2,4,4.5", "2,8,8.5"}, got[1])
			require.Equal(t, strings.Split(got[0], ",")[1:], strings.Split(got[2], ",")[1:], "one match for both spine rows of key 1")
		}
		require.Equal(t, first, got, "the same row in every build")
	}
}

// TestDatasetBuildPhases: a build says where its time went, phase by phase, in order.
func TestDatasetBuildPhases(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spine := f.file(t, "spine.csv", spineCSV)
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	require.Equal(t, []string{"check", "plan", "prepare", "write", "record"}, phaseNames(ds.Phases))
	ds, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine, Features: []string{"user_stats:total"}, SplitWrite: true})
	require.NoError(t, err)
	require.Equal(t, []string{"check", "plan", "prepare", "join_copy", "commit", "record"}, phaseNames(ds.Phases))
	for _, p := range ds.Phases {
		require.GreaterOrEqual(t, p.Seconds, 0.0, p.Name)
	}
	stored, err := f.b.Registry.Dataset(f.ctx, "dev", "train")
	require.NoError(t, err)
	require.Nil(t, stored[1].Phases, "phases are not stored")
}

func phaseNames(ps []Phase) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// TestDatasetSpineBoundsKeepEdgeRows: feature rows after the latest spine time, or older than the earliest
// spine time minus the TTL, are left out before the window; rows exactly at those bounds still match, in
// both plans.
func TestDatasetSpineBoundsKeepEdgeRows(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.importCSV(t, "dev", "clean.mixed", "user_id,event_ts,created_ts,a,b\n"+
		"1,2024-01-08 00:00:00,,1,1.5\n"+ // exactly the TTL (2d) before the earliest spine time: matches
		"1,2024-01-07 23:59:59,,2,2.5\n"+ // a second older: outside the TTL
		"2,2024-01-20 00:00:00,,3,3.5\n"+ // exactly the latest spine time: matches
		"2,2024-01-20 00:00:01,,4,4.5\n"+ // after every spine time
		"3,2024-01-21 00:00:00,,5,5.5\n") // after every spine time, the key's only row
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, positionDefs), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", "user_id,event_timestamp\n2,2024-01-20 00:00:00\n1,2024-01-10 00:00:00\n3,2024-01-15 00:00:00\n")
	for _, view := range []string{"by_table", "by_sql"} {
		_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: view, Spine: spine, Features: []string{view + ":*"}})
		require.NoError(t, err)
		require.Equal(t, []string{"2,3,3.5", "1,1,1.5", "3,NULL,NULL"},
			f.rows(t, "dev", "SELECT user_id, a, b FROM datasets."+view+" ORDER BY spine_row"), view)
	}
}

// TestDatasetSpineFileDigest: a spine file's digest, computed while the build runs, is the SHA-256 of the file;
// a build that fails after the digest started still fails with its own error.
func TestDatasetSpineFileDigest(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spine := f.file(t, "spine.csv", spineCSV)
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(spineCSV))
	require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), ds.Lineage.SpineDigest)
	stored, err := f.b.Registry.Dataset(f.ctx, "dev", "train")
	require.NoError(t, err)
	require.Equal(t, ds.Lineage.SpineDigest, stored[0].Lineage.SpineDigest)

	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine, Features: []string{"user_stats:nope"}})
	require.ErrorContains(t, err, `view user_stats has no feature "nope"`)
}
