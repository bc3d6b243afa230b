package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// TestMoveRunKilledAtEachStep SIGKILLs a real `strata move run` of an incremental postgres job before it reads,
// in the middle of reading, and after its commit but before it records its end; after each kill the next run
// is exact: the table holds every source row once, no duplicates, no gaps.
//
// Not parallel: its child processes and 100k-row loads would share the 2 cores with the timing-sensitive
// parallel tests (TestServeSlowClientsKeepMemoryBounded's 2 s write timeout); sequential tests run first.
func TestMoveRunKilledAtEachStep(t *testing.T) {
	pg := testenv.PostgresDSN(t)
	src, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer src.Close()
	_, err = src.Exec(`CREATE TABLE ev (id int, at timestamptz);
		INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second' FROM generate_series(1, 100000) i`)
	require.NoError(t, err)
	c := newCLI(t, "SRC_DSN="+pg)
	c.ok("init")
	job := c.job("ev.yaml", `name: ev
source: {type: postgres, dsn: '${SRC_DSN}', query: 'SELECT id, at FROM ev WHERE at > {{ watermark }} ORDER BY at'}
incremental: {column: at}
target: {type: lake, table: raw.ev}
`)
	ctx := context.Background()
	db, err := meta.Open(ctx, c.dir+"/strata-data/meta.db")
	require.NoError(t, err)
	defer db.Close()
	// A killed run's lease does not block the next run: its holder (this host, a dead pid) is gone.
	count := func() string {
		return c.ok("sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM raw.ev")
	}

	for _, point := range []string{"move:before-read", "source:batch"} {
		kill(t, startHooked(t, c, point, "move", "run", job))
		require.Less(t, snapshotCount(t, c, "raw.ev"), 1, "killed at %s: nothing committed", point)
	}

	kill(t, startHooked(t, c, "move:committed", "move", "run", job))
	require.Equal(t, 1, snapshotCount(t, c, "raw.ev"))
	require.Equal(t, "n,d,lo,hi\n100000,100000,1,100000\n", count())
	var wm string
	require.Equal(t, sql.ErrNoRows, db.SQL.QueryRowContext(ctx, `SELECT value FROM strata_move_watermarks`).Scan(&wm),
		"the kill came before the watermark was recorded")

	_, err = src.Exec(`INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second' FROM generate_series(100001, 100050) i`)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", job, "-o", "json")), &rec))
	require.Equal(t, float64(50), rec["rows_written"], "only the new rows: the watermark came from the committed snapshot")
	require.Equal(t, "2026-01-02T03:46:40Z", rec["watermark_before"])
	require.Equal(t, "n,d,lo,hi\n100050,100050,1,100050\n", count())

	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "runs", "ev", "-o", "json")), &runs))
	require.Len(t, runs, 4)
	statuses := map[string]int{}
	for _, r := range runs {
		statuses[r["status"].(string)]++
	}
	require.Equal(t, map[string]int{"succeeded": 2, "failed": 2}, statuses, "the run killed after its commit is recorded as succeeded")
	require.Equal(t, 2, snapshotCount(t, c, "raw.ev"))

	// Killed mid-stream once the job has a watermark: 50,000 new rows, the process stopped after the first
	// 16k-row batch and SIGKILLed. No snapshot, the same watermark; the next run reads exactly those rows.
	_, err = src.Exec(`INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second' FROM generate_series(100051, 150050) i`)
	require.NoError(t, err)
	watermark := func() string {
		var v string
		require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT value FROM strata_move_watermarks WHERE job = 'ev' AND env = 'dev'`).Scan(&v))
		return v
	}
	require.Equal(t, "2026-01-02T03:47:30Z", watermark())
	kill(t, startHooked(t, c, "source:batch", "move", "run", job))
	require.Equal(t, 2, snapshotCount(t, c, "raw.ev"), "killed mid-stream: no snapshot")
	require.Equal(t, "2026-01-02T03:47:30Z", watermark(), "killed mid-stream: the watermark did not move")
	require.Equal(t, "n,d,lo,hi\n100050,100050,1,100050\n", count())
	rec = nil
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", job, "-o", "json")), &rec))
	require.Equal(t, float64(50000), rec["rows_written"], "exactly the rows past the watermark")
	require.Equal(t, "2026-01-02T03:47:30Z", rec["watermark_before"])
	require.Equal(t, "2026-01-02T17:40:50Z", rec["watermark_after"])
	require.Equal(t, "n,d,lo,hi\n150050,150050,1,150050\n", count(), "no duplicates, no gaps")
	require.Equal(t, 3, snapshotCount(t, c, "raw.ev"))
}

// TestMoveRunToExternalTargetsKilledAtEachStep SIGKILLs a real `strata move run` of an incremental postgres job
// into a postgres table and into a folder of Parquet files, before it reads, in the middle of reading, and after
// its target committed but before it recorded its end; after each kill the next run is exact: the target holds
// every source row once, no duplicates, no gaps. The postgres target commits the run's mark with its rows (the
// next run completes the killed run's record and reads only new rows); the files target's next run removes a
// killed run's files and writes those rows again.
func TestMoveRunToExternalTargetsKilledAtEachStep(t *testing.T) {
	pg := testenv.PostgresDSN(t)
	src, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer src.Close()
	_, err = src.Exec(`CREATE TABLE ev (id int, at timestamptz);
		INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second' FROM generate_series(1, 100000) i`)
	require.NoError(t, err)
	c := newCLI(t, "SRC_DSN="+pg)
	c.ok("init")
	out := t.TempDir()
	source := `source: {type: postgres, dsn: '${SRC_DSN}', query: 'SELECT id, at FROM ev WHERE at > {{ watermark }} ORDER BY at'}
incremental: {column: at}
`
	jobs := map[string]string{
		"postgres": c.job("evpg.yaml", "name: evpg\n"+source+"target: {type: postgres, dsn: '${SRC_DSN}', table: ev_copy}\n"),
		"files":    c.job("evfiles.yaml", "name: evfiles\n"+source+"target: {type: files, path: '"+out+"', format: parquet}\n"),
	}
	counts := map[string]func() string{
		"postgres": func() string {
			var n, d, lo, hi int
			err := src.QueryRow(`SELECT count(*), count(DISTINCT id), coalesce(min(id), 0), coalesce(max(id), 0) FROM ev_copy`).Scan(&n, &d, &lo, &hi)
			if err != nil {
				return "no table: " + err.Error()
			}
			return fmt.Sprintf("%d,%d,%d,%d", n, d, lo, hi)
		},
		"files": func() string {
			got := c.ok("sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM read_parquet('"+out+"/*.parquet')")
			return strings.ReplaceAll(strings.TrimPrefix(got, "n,d,lo,hi\n"), "\n", "")
		},
	}
	for _, target := range []string{"postgres", "files"} {
		job, count := jobs[target], counts[target]
		base := map[string]int{"postgres": 100000, "files": 100050}[target] // the source's rows when the job starts
		for _, point := range []string{"move:before-read", "source:batch"} {
			kill(t, startHooked(t, c, point, "move", "run", job))
		}
		kill(t, startHooked(t, c, "move:committed", "move", "run", job))
		require.Equal(t, fmt.Sprintf("%d,%d,1,%d", base, base, base), count(), "%s: the killed run committed", target)

		_, err = src.Exec(`INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second' FROM generate_series($1::int + 1, $1::int + 50) i`, base)
		require.NoError(t, err)
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", job, "-o", "json")), &rec))
		hi := base + 50
		if target == "postgres" {
			require.Equal(t, float64(50), rec["rows_written"], "only the new rows: the watermark came from the target's mark")
			require.Equal(t, "2026-01-02T03:46:40Z", rec["watermark_before"])
		} else {
			require.Equal(t, float64(hi), rec["rows_written"], "the killed run's rows again, and the new ones")
			require.Empty(t, rec["watermark_before"])
		}
		require.Equal(t, fmt.Sprintf("%d,%d,1,%d", hi, hi, hi), count(), "%s: no duplicates, no gaps", target)

		var runs []map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.ok("move", "runs", strings.TrimSuffix(filepath.Base(job), ".yaml"), "-o", "json")), &runs))
		statuses := map[string]int{}
		for _, r := range runs {
			statuses[r["status"].(string)]++
		}
		want := map[string]int{"succeeded": 2, "failed": 2}
		if target == "files" {
			want = map[string]int{"succeeded": 1, "failed": 3} // the killed run's files were replaced
		}
		require.Equal(t, want, statuses, target)
	}
}
