package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestMoveBadRowsReport: a run that skips malformed rows says how many, which (file, line, column, reason) and
// where they were kept; over max_bad_rows the run fails with exit 5, naming the count, the first bad lines and
// the job key that raises the limit (not table import's flag), and the history records it as failed.
func TestMoveBadRowsReport(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	in := c.file("orders.csv", "id,amount,day\n1,1.5,2026-11-01\n2,abc,2026-11-02\n3,3.5,2026-13-45\n4,4.5\n5,5.5,2026-11-05\n")
	job := func(max int) string {
		return c.job("bad.yaml", fmt.Sprintf("name: bad\nsource: {type: files, path: '%s'}\n"+
			"target: {type: lake, table: raw.orders}\n"+
			"on_error: {max_bad_rows: %d, quarantine: raw.orders__rejected}\n", in, max))
	}
	// Declared types, so that the bad values are bad rows rather than a reason to infer text.
	c.ok("table", "import", "--env", "dev", "raw.orders", c.file("seed.csv", "id,amount,day\n0,0.5,2026-11-01\n"))

	errs := c.fail(exitBadInput, "move", "run", job(2))
	require.Contains(t, errs, "3 malformed rows (2 allowed)")
	require.Contains(t, errs, `line 3, column "amount"`)
	require.Contains(t, errs, "line 5")
	require.Contains(t, errs, "on_error: {max_bad_rows: N} in the job; nothing was committed")
	require.NotContains(t, errs, "--max-bad-rows")
	require.Equal(t, 1, snapshotCount(t, c, "raw.orders"))
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "runs", "bad", "-o", "json")), &runs))
	require.Equal(t, "failed", runs[0]["status"])
	require.Contains(t, runs[0]["error"], "3 malformed rows")
	require.Contains(t, c.ok("move", "show", runs[0]["id"].(string)), "error: ")
	merge := c.job("merge.yaml", fmt.Sprintf("name: merge\nsource: {type: files, path: '%s'}\n"+
		"target: {type: lake, table: raw.orders, mode: merge, key: [id]}\non_error: {max_bad_rows: 2}\n", in))
	errs = c.fail(exitBadInput, "move", "run", merge)
	require.Contains(t, errs, "3 malformed rows (2 allowed)", "a merge reads its source the same way")
	require.Equal(t, 1, snapshotCount(t, c, "raw.orders"))

	out := c.ok("move", "run", job(3))
	require.Contains(t, out, "rows: 2 read, 2 written, 3 rejected")
	require.Contains(t, out, "skipped "+in+" line 3, column amount: ")
	require.Contains(t, out, "skipped "+in+" line 4, column day: ")
	require.Contains(t, out, "skipped "+in+" line 5, column ")
	require.Contains(t, out, "3 rejected rows kept in the quarantine table")
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "runs", "bad", "-o", "json")), &runs))
	require.Equal(t, float64(3), runs[0]["rows_rejected"])
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "show", runs[0]["id"].(string), "-o", "json")), &rec))
	require.Equal(t, float64(3), rec["rows_rejected"])
	require.Equal(t, "line,raw\n3,\"2,abc,2026-11-02\"\n4,\"3,3.5,2026-13-45\"\n5,\"4,4.5\"\n",
		c.ok("sql", "--format", "csv", "SELECT line, raw FROM raw.orders__rejected ORDER BY line"))
}

// TestMoveRunProgressAndSplitFiles: on a terminal `move run` shows a live line with rows and rows/s (lake and
// files targets), cleared before the result; a files target with max_file_size writes several files holding
// every row once.
func TestMoveRunProgressAndSplitFiles(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	var sb strings.Builder
	sb.WriteString("id,name\n")
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&sb, "%d,name %d\n", i, i)
	}
	big := c.file("big.csv", sb.String())
	out := filepath.Join(c.dir, "out")
	toLake := c.job("big.yaml", "name: big\nsource: {type: files, path: '"+big+"'}\ntarget: {type: lake, table: raw.big}\n")
	toFiles := c.job("split.yaml", "name: split\nsource: {type: lake, table: raw.big}\n"+
		"target: {type: files, path: '"+out+"', format: csv, max_file_size: 64KB}\n")
	runTerminal := func(args ...string) (string, string) {
		var stdout bytes.Buffer
		var stderr syncBuffer
		a := newApp(&stdout, &stderr, c.environ)
		a.terminal = func(w io.Writer) bool { return w == io.Writer(&stderr) }
		a.progressAfter, a.progressEvery = time.Nanosecond, time.Millisecond
		require.Equal(t, 0, a.execute(context.Background(), args), stderr.String())
		return stdout.String(), stderr.String()
	}
	for _, j := range []struct{ file, name string }{{toLake, "big"}, {toFiles, "split"}} {
		stdout, stderr := runTerminal("move", "run", j.file)
		require.Regexp(t, `^\r\x1b\[Kmoving `+j.name+`: [0-9,]+ rows, [0-9,]+ rows/s`, stderr)
		require.True(t, strings.HasSuffix(stderr, "\r\x1b[K"), "the line is cleared at the end: %q", stderr)
		require.Contains(t, stdout, "rows: 50000 read, 50000 written")
	}
	_, stderr, code := c.run("move", "run", toLake, "--quiet")
	require.Equal(t, 0, code)
	require.Empty(t, stderr)

	files, err := filepath.Glob(filepath.Join(out, "part-*.csv"))
	require.NoError(t, err)
	require.Greater(t, len(files), 3, "split by size")
	rows := 0
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Less(t, fi.Size(), int64(4*64<<10), "a file ends once it holds 64KB, at the end of a batch: %s", f)
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(data), "id,name\n"), "each file has its header")
		rows += len(regexp.MustCompile(`\n`).FindAllString(string(data), -1)) - 1
	}
	require.Equal(t, 50000, rows)
	require.Equal(t, "n,d\n50000,50000\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_csv('"+out+"/*.csv')"))
}

// TestMoveSourceFailsMidStream: a postgres source that fails after rows went out (a division by zero at row
// 30,000 of 50,000), with DuckDB writing the lake files as in every CLI run: the run fails with the source's
// own error and kind, commits no snapshot and keeps the watermark; once the source is fixed the next run reads
// exactly the rows past the watermark.
func TestMoveSourceFailsMidStream(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE ev (id int, at timestamptz, boom boolean);
		INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second', false FROM generate_series(1, 100) i`)
	require.NoError(t, err)
	c := newCLI(t, "SRC_DSN="+pg)
	c.ok("init")
	job := c.job("ev.yaml", `name: ev
source: {type: postgres, dsn: '${SRC_DSN}', query: 'SELECT id, at, 1 / (CASE WHEN boom THEN 0 ELSE 1 END) AS one FROM ev WHERE at > {{ watermark }}'}
incremental: {column: at}
target: {type: lake, table: raw.ev}
`)
	c.ok("move", "run", job)
	_, err = db.Exec(`INSERT INTO ev SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second', i = 30000 FROM generate_series(101, 50100) i`)
	require.NoError(t, err)
	errs := c.fail(exitError, "move", "run", job)
	require.Contains(t, errs, "division by zero")
	require.NotContains(t, errs, "arrow_scan", "the source's error, not DuckDB's text of it")
	require.Equal(t, 1, snapshotCount(t, c, "raw.ev"))
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "runs", "ev", "-o", "json")), &runs))
	require.Equal(t, "failed", runs[0]["status"])
	require.Equal(t, "1970-01-01T00:00:00Z", orEpoch(runs[0]["watermark_after"]), "a failed run records no new watermark")

	_, err = db.Exec(`UPDATE ev SET boom = false`)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("move", "run", job, "-o", "json")), &rec))
	require.Equal(t, "2026-01-01T00:01:40Z", rec["watermark_before"])
	require.Equal(t, float64(50000), rec["rows_written"])
	require.Equal(t, "n,d,lo,hi\n50100,50100,1,50100\n",
		c.ok("sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM raw.ev"))
}

func orEpoch(v any) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return "1970-01-01T00:00:00Z"
}

// TestMoveJobPathsAreTheProjects: a job named relative to the project (`strata -C shop move run jobs/x.yaml`)
// is found there, and the relative paths inside it (a files source, a files target) are the project
// directory's, wherever strata runs from (here: the test's working directory, not the project). A files target
// in prod is written at once, without --force (it is outside the lake's releases).
func TestMoveJobPathsAreTheProjects(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	require.NoError(t, os.MkdirAll(filepath.Join(c.dir, "in"), 0o755))
	c.file("in/orders.csv", "order_id,amount\n1,1.5\n2,2.5\n")
	c.job("load.yaml", "name: load\nsource: {type: files, path: in/orders.csv}\ntarget: {type: lake, table: raw.orders}\n")
	c.job("export.yaml", "name: export\nsource: {type: lake, table: raw.orders}\ntarget: {type: files, path: out, format: csv}\n")
	require.Contains(t, c.ok("move", "plan", "jobs/load.yaml"), "rows to read (estimate): 2")
	require.Contains(t, c.ok("move", "run", "jobs/load.yaml"), "rows: 2 read, 2 written")
	require.Contains(t, c.ok("move", "run", "jobs/export.yaml"), "target "+filepath.Join(c.dir, "out")+": 1 files")
	written, err := filepath.Glob(filepath.Join(c.dir, "out", "part-*.csv"))
	require.NoError(t, err)
	require.Len(t, written, 1)
	c.fail(exitNotFound, "move", "run", "jobs/missing.yaml")

	// A files target is outside the lake: a prod run writes it at once, without --force.
	c.job("copy.yaml", "name: copy\nsource: {type: files, path: in/orders.csv}\ntarget: {type: files, path: prod-out, format: jsonl}\n")
	require.Contains(t, c.ok("move", "run", "jobs/copy.yaml", "--env", "prod"), "of job copy in prod: succeeded")
	written, err = filepath.Glob(filepath.Join(c.dir, "prod-out", "part-*.jsonl"))
	require.NoError(t, err)
	require.Len(t, written, 1)
}
