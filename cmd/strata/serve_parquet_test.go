package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/config"
)

// TestServeParquetStreamsKeepMemoryBounded: server.max_streams (the default, 8) Parquet streams of a 400,000-row
// table whose clients never read, plus two slow readers and a full-speed reader, keep the server's RSS under
// 450 MB while /healthz and a table description answer within 3 s; the full read is a Parquet file that DuckDB
// reads back exactly. Here the peak is ~360 MB (~305 MB when the same clients pull CSV); before the Parquet
// writer's limits (rowfmt) it was ~800 MB: each stream held MBs of dictionary hash tables and zstd history
// besides its row group.
func TestServeParquetStreamsKeepMemoryBounded(t *testing.T) {
	t.Parallel()
	stalledClients := config.Default("").Server.MaxStreams
	const (
		slowReaders  = 2
		rows         = 400_000
		holdFor      = 10 * time.Second // well inside the default 30 s write timeout: the stalled streams stay
		rssLimitMB   = 450
		answerWithin = 3 * time.Second
	)
	c := newCLI(t)
	c.file("strata.yaml", "project: test\n") // a project, with no store opened yet
	// Numbers (unique ids, measurements), strings (low- and high-cardinality) and timestamps.
	var b strings.Builder
	b.WriteString("id,name,amount,at,note\n")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < rows; i++ {
		at := start.Add(time.Duration(i) * 7 * time.Second).Format("2006-01-02 15:04:05")
		fmt.Fprintf(&b, "%d,user_%d,%d.%02d,%s,a longer text field for row %d to widen it\n", i, i%9973, (i*7919)%100000, i%100, at, i)
	}
	c.ok("table", "import", "--env", "dev", "raw.big", c.file("big.csv", b.String()))
	// Room for the stalled clients, the slow readers and one full-speed reader.
	p := startServe(t, c, []string{fmt.Sprintf("STRATA_SERVER_MAX_STREAMS=%d", stalledClients+slowReaders+1)},
		"--addr", "127.0.0.1:0")
	host := strings.TrimPrefix(p.url, "http://")
	const rowsPath = "/api/v1/envs/dev/tables/raw.big/rows?format=parquet"

	var peak int64
	stopSampling := make(chan struct{})
	sampled := make(chan error, 1)
	go func() {
		for {
			mb, err := p.rssMB()
			if err != nil {
				sampled <- err
				return
			}
			peak = max(peak, mb)
			select {
			case <-stopSampling:
				sampled <- nil
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// Clients that take a stream and never read it.
	for i := 0; i < stalledClients; i++ {
		sc, err := dialSlow(host, rowsPath)
		require.NoError(t, err)
		defer sc.conn.Close()
		require.Equal(t, 200, sc.status, "stalled client %d", i)
	}
	// Slow readers at ~20 KB/s, and one client that reads the whole file.
	var wg sync.WaitGroup
	failures := make(chan error, slowReaders+1)
	for i := 0; i < slowReaders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc, err := dialSlow(host, rowsPath)
			if err != nil {
				failures <- err
				return
			}
			defer sc.conn.Close()
			if sc.status != 200 {
				failures <- fmt.Errorf("a slow reader got %d", sc.status)
				return
			}
			sc.readSlowly(holdFor)
		}()
	}
	full := filepath.Join(c.dir, "full.parquet")
	wg.Add(1)
	go func() {
		defer wg.Done()
		failures <- download(p.url+rowsPath, full)
	}()
	// Meanwhile the probe and an ordinary request answer in time.
	for end := time.Now().Add(holdFor - time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		for _, path := range []string{"/healthz", "/api/v1/envs/dev/tables/raw.big"} {
			began := time.Now()
			code, body := p.get(t, path)
			require.Equal(t, 200, code, "%s: %s", path, body)
			require.Less(t, time.Since(began), answerWithin, "%s took too long under load", path)
		}
	}
	wg.Wait()
	close(stopSampling)
	require.NoError(t, <-sampled)
	close(failures)
	for err := range failures {
		require.NoError(t, err)
	}
	t.Logf("peak RSS %d MB with %d stalled and %d slow Parquet streams", peak, stalledClients, slowReaders)
	require.Less(t, peak, int64(rssLimitMB), "server RSS under stalled and slow Parquet clients")

	// DuckDB reads the streamed file back: every row, value and type.
	got := c.ok("sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT name) AS names, sum(id) AS ids, "+
		"min(\"at\") AS first_at, max(\"at\") AS last_at, typeof(min(\"at\")) AS at_type, "+
		"count(*) FILTER (WHERE note = 'a longer text field for row ' || id || ' to widen it') AS notes "+
		"FROM read_parquet('"+full+"')")
	last := start.Add((rows - 1) * 7 * time.Second).Format("2006-01-02 15:04:05")
	require.Equal(t, fmt.Sprintf("n,names,ids,first_at,last_at,at_type,notes\n%d,9973,%d,2026-01-01T00:00:00,%s,TIMESTAMP,%d\n",
		rows, rows*(rows-1)/2, strings.Replace(last, " ", "T", 1), rows), got)
}

// download saves the body of a GET of url in path.
func download(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return f.Close()
}
