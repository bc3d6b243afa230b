package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const bigViewYAML = `entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
feature_views:
  - name: big
    entities: [user]
    source: {table: clean.big}
    event_time: event_ts
    ttl: 0
    features: [{name: a, type: double}, {name: b, type: double}, {name: c, type: double}, {name: d, type: double},
      {name: e, type: double}, {name: f, type: double}, {name: g, type: double}, {name: h, type: double}]
`

// TestDatasetCacheCLI: over a table above the cache's threshold, a snapshot's first build joins in DuckDB, the
// second fills the training-set cache, the third reads it, all three with the same rows; `dataset cache` lists
// the entry (table, rows, size) as a table and as JSON, `--clear` removes it, and with datasets.cache_bytes 0
// builds join in DuckDB and leave no cache.
// bigCacheProject is a project with clean.big (rows × 8 random doubles, every 13th NULL, above the training-set
// cache's size threshold), the view big over it, and a spine file of 3,000 rows.
func bigCacheProject(t *testing.T, rows int) (*cli, string) {
	c := newCLI(t)
	c.ok("init")
	cols := ""
	for _, n := range "abcdefgh" {
		cols += fmt.Sprintf(", CASE WHEN i %% 13 = 0 THEN NULL ELSE random() END AS %c", n)
	}
	c.ok("sql", "CREATE TABLE clean.big AS SELECT i % 5000 AS user_id, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes((i * 7919) % 200000) AS event_ts"+
		cols+" FROM range("+fmt.Sprint(rows)+") t(i)")
	require.NoError(t, os.MkdirAll(filepath.Join(c.dir, "features"), 0o755))
	c.file("features/big.yaml", bigViewYAML)
	c.ok("apply")
	var spine strings.Builder
	spine.WriteString("user_id,event_timestamp\n")
	for i := range 3000 {
		fmt.Fprintf(&spine, "%d,2024-03-%02d 12:00:00\n", (i*31)%6000, 1+i%28)
	}
	return c, c.file("spine.csv", spine.String())
}

func TestDatasetCacheCLI(t *testing.T) {
	c, sp := bigCacheProject(t, 150000)
	var joins []string
	for i := range 3 {
		var ds struct {
			Join string `json:"join"`
			Rows int64  `json:"rows"`
		}
		require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "build", fmt.Sprint("t", i), "--spine", sp, "--features", "big:*", "-o", "json")), &ds))
		require.EqualValues(t, 3000, ds.Rows)
		joins = append(joins, ds.Join)
	}
	require.Equal(t, []string{"duckdb", "cache_filled", "cache"}, joins)
	q := "SELECT * EXCLUDE (spine_row) FROM datasets.%s ORDER BY spine_row"
	first := c.ok("sql", fmt.Sprintf(q, "t0"), "--format", "csv")
	require.Equal(t, first, c.ok("sql", fmt.Sprintf(q, "t2"), "--format", "csv"))
	require.Greater(t, strings.Count(first, ","), 3000*5, "the spine matched rows")
	require.Contains(t, c.ok("dataset", "build", "t3", "--spine", sp, "--features", "big:*", "-v"), "joined from the training-set cache")
	require.Contains(t, c.ok("dataset", "build", "s", "--spine", sp, "--features", "big:*", "--sample", "0.5", "--seed", "1", "-v"),
		"joined from the training-set cache", "a sampled spine reads the same entry")

	var list []struct {
		Table string `json:"table"`
		Key   string `json:"key"`
		Rows  int64  `json:"rows"`
		Bytes int64  `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "cache", "-o", "json")), &list))
	require.Len(t, list, 1)
	require.Equal(t, "clean.big", list[0].Table)
	require.Equal(t, "user_id", list[0].Key)
	require.EqualValues(t, 150000, list[0].Rows)
	require.Greater(t, list[0].Bytes, int64(150000*8*8))
	out := c.ok("dataset", "cache")
	require.Contains(t, out, "clean.big")
	require.Contains(t, out, "1 entries")

	var cleared struct {
		FreedBytes int64 `json:"freed_bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "cache", "--clear", "-o", "json")), &cleared))
	require.GreaterOrEqual(t, cleared.FreedBytes, list[0].Bytes)
	require.Contains(t, c.ok("dataset", "cache"), "0 entries")
	require.Contains(t, c.ok("dataset", "build", "t4", "--spine", sp, "--features", "big:*", "-v"),
		"joined in DuckDB: the first build of clean.big's snapshot joins in DuckDB; the next one fills the training-set cache", "the mark went too: a first build again")

	off := &cli{t: t, dir: c.dir, environ: append(append([]string(nil), c.environ...), "STRATA_DATASETS_CACHE_BYTES=0")}
	require.NoError(t, os.RemoveAll(filepath.Join(c.dir, "strata-data", "cache")))
	for i := range 3 {
		require.NotContains(t, off.ok("dataset", "build", fmt.Sprint("o", i), "--spine", sp, "--features", "big:*", "-v"), "training-set cache")
	}
	_, err := os.Stat(filepath.Join(c.dir, "strata-data", "cache"))
	require.ErrorIs(t, err, os.ErrNotExist, "the cache is off: nothing written")
	require.Contains(t, off.ok("dataset", "cache"), "off (datasets.cache_bytes: 0)")
}

// TestDatasetCacheKilledFill: a build killed (SIGKILL) while it fills the training-set cache leaves no entry;
// the next build fills it, removing the killed one's temporary file, and gives the rows of a DuckDB build.
func TestDatasetCacheKilledFill(t *testing.T) {
	c, sp := bigCacheProject(t, 1500000)
	c.ok("dataset", "build", "first", "--spine", sp, "--features", "big:*") // marks the snapshot: the next build fills
	cacheDir := filepath.Join(c.dir, "strata-data", "cache", "datasets")
	var killedAt string
	for attempt := 0; attempt < 5 && killedAt == ""; attempt++ {
		cmd := exec.Command(binPath, "dataset", "build", "killed", "--spine", sp, "--features", "big:*")
		cmd.Env = append(os.Environ(), c.environ...)
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(60 * time.Second)
		for killedAt == "" && time.Now().Before(deadline) {
			if tmps, _ := filepath.Glob(filepath.Join(cacheDir, "tmp-*")); len(tmps) > 0 {
				if st, err := os.Stat(tmps[0]); err == nil && st.Size() > 0 {
					require.NoError(t, cmd.Process.Kill())
					killedAt = tmps[0]
				}
			}
			if cmd.ProcessState != nil {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		_ = cmd.Wait()
		if killedAt == "" { // the fill ended before it was seen: start again from the mark
			entries, _ := filepath.Glob(filepath.Join(cacheDir, "*.pit"))
			for _, e := range entries {
				require.NoError(t, os.Remove(e))
			}
		}
	}
	require.NotEmpty(t, killedAt, "a build was killed while it filled the cache")
	entries, _ := filepath.Glob(filepath.Join(cacheDir, "*.pit"))
	require.Empty(t, entries, "a killed fill leaves no entry")
	_, err := os.Stat(killedAt)
	require.NoError(t, err, "the killed fill's temporary file is still there")

	var ds struct {
		Join string `json:"join"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "build", "after", "--spine", sp, "--features", "big:*", "-o", "json")), &ds))
	require.Equal(t, "cache_filled", ds.Join)
	_, err = os.Stat(killedAt)
	require.ErrorIs(t, err, os.ErrNotExist, "the next fill removed the killed one's temporary file")
	q := "SELECT * EXCLUDE (spine_row) FROM datasets.%s ORDER BY spine_row"
	require.Equal(t, c.ok("sql", fmt.Sprintf(q, "first"), "--format", "csv"), c.ok("sql", fmt.Sprintf(q, "after"), "--format", "csv"))
}

// TestDatasetCacheWarm: `dataset cache warm` fills the entry a build of the same features reads, so that the
// snapshot's first build reads it (the same rows as a DuckDB build); a second warm finds it present; a new
// snapshot needs a new entry; a SQL view's rows are warmed too; a view the cache cannot join is listed as
// skipped with the reason; with the cache off it says how to turn it on.
func TestDatasetCacheWarm(t *testing.T) {
	c, sp := bigCacheProject(t, 150000)
	type warm struct {
		View, Table, State, Reason string
		Rows                       int64
		Snapshot                   int64 `json:"snapshot_id"`
	}
	var got []warm
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "cache", "warm", "big:*", "-o", "json")), &got))
	require.Len(t, got, 1)
	require.Equal(t, "filled", got[0].State)
	require.Equal(t, "clean.big", got[0].Table)
	require.EqualValues(t, 150000, got[0].Rows)
	require.Contains(t, c.ok("dataset", "build", "w0", "--spine", sp, "--features", "big:*", "-v"), "joined from the training-set cache",
		"the snapshot's first build reads the warmed entry")
	out := c.ok("dataset", "cache", "warm", "big:*")
	require.Contains(t, out, "present")
	require.Contains(t, out, "150000")

	off := &cli{t: t, dir: c.dir, environ: append(append([]string(nil), c.environ...), "STRATA_DATASETS_CACHE_BYTES=0")}
	require.NoError(t, json.Unmarshal([]byte(off.ok("dataset", "build", "p0", "--spine", sp, "--features", "big:*", "-o", "json")), &struct{}{}))
	q := "SELECT * EXCLUDE (spine_row) FROM datasets.%s ORDER BY spine_row"
	require.Equal(t, off.ok("sql", fmt.Sprintf(q, "p0"), "--format", "csv"), c.ok("sql", fmt.Sprintf(q, "w0"), "--format", "csv"))
	require.Contains(t, off.fail(exitUsage, "dataset", "cache", "warm", "big:*"), "set datasets.cache_bytes")

	c.ok("sql", "INSERT INTO clean.big SELECT user_id + 1, event_ts, a, b, c, d, e, f, g, h FROM clean.big LIMIT 10")
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "cache", "warm", "big:*", "-o", "json")), &got))
	require.Equal(t, "filled", got[0].State, "a new snapshot, a new entry")

	c.file("features/q.yaml", "feature_views:\n  - name: q\n    entities: [user]\n    source: {sql: SELECT * FROM clean.big WHERE a > 0.5}\n"+
		"    event_time: event_ts\n    features: [{name: a, type: double}]\n"+
		"  - name: k\n    entities: [user]\n    source: {sql: \"SELECT 1::BIGINT AS user_id, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS event_ts, 2.5 AS a\"}\n"+
		"    event_time: event_ts\n    features: [{name: a, type: double}]\n")
	c.ok("apply")
	require.NoError(t, json.Unmarshal([]byte(c.ok("dataset", "cache", "warm", "q:a", "k:a", "big:a", "-o", "json")), &got))
	require.Len(t, got, 3)
	require.Equal(t, "filled", got[0].State, "a SQL view's rows")
	require.Equal(t, "skipped", got[1].State)
	require.Equal(t, "the SQL of view k reads no lake table (a training-set cache entry is named by the files of the tables it reads)", got[1].Reason)
	require.Equal(t, "present", got[2].State)
	require.Contains(t, c.ok("dataset", "build", "q0", "--spine", sp, "--features", "q:a", "-v"), "joined from the training-set cache")
	require.Contains(t, c.fail(exitNotFound, "dataset", "cache", "warm", "nope:*"), "no feature definition")
}
