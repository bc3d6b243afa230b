package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMaterializeProgressAndRunRecord: on a terminal, `strata materialize` shows a live row count per
// instance (cleared before the result; nothing with --quiet or off a terminal), and every run is recorded
// with its rows, event-time range, input snapshot ids, duration and status, in text and JSON.
func TestMaterializeProgressAndRunRecord(t *testing.T) {
	c := featureProject(t)
	var sb strings.Builder
	sb.WriteString("user_id,event_ts,created_ts,total,country\n")
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&sb, "%d,2024-01-%02d 00:00:00,2024-01-%02d 00:00:00,%d.5,fr\n", i, 1+i%28, 1+i%28, i)
	}
	snap := importSnapshot(t, c, "--env", "dev", "clean.users", c.file("many.csv", sb.String()), "--mode", "overwrite")
	c.ok("apply")

	var stdout bytes.Buffer
	var stderr syncBuffer
	a := newApp(&stdout, &stderr, c.environ)
	a.terminal = func(w io.Writer) bool { return w == io.Writer(&stderr) }
	a.progressAfter, a.progressEvery = time.Nanosecond, time.Millisecond
	require.Equal(t, 0, a.execute(context.Background(), []string{"materialize", "user_stats"}), stderr.String())
	require.Regexp(t, `^\r\x1b\[Kmaterializing user_stats: [0-9,]+ rows`, stderr.String())
	require.True(t, strings.HasSuffix(stderr.String(), "\r\x1b[K"), "the line is cleared at the end: %q", stderr.String())
	require.Contains(t, stdout.String(), "features.user_stats")
	_, quiet, code := c.run("materialize", "user_stats", "--quiet")
	require.Equal(t, 0, code)
	require.Empty(t, quiet, "no progress with --quiet")
	_, notTTY, code := c.run("materialize", "user_stats")
	require.Equal(t, 0, code)
	require.Empty(t, notTTY, "no progress off a terminal")

	var runs []map[string]any
	dec := json.NewDecoder(strings.NewReader(c.ok("materialize", "runs", "--view", "user_stats", "-o", "json")))
	dec.UseNumber() // snapshot ids need all 64 bits
	require.NoError(t, dec.Decode(&runs))
	require.Len(t, runs, 3)
	num := func(v any) float64 { f, err := v.(json.Number).Float64(); require.NoError(t, err); return f }
	for _, r := range runs {
		require.Equal(t, "succeeded", r["status"])
		require.Equal(t, "full", r["mode"])
		require.Equal(t, json.Number("30000"), r["rows"])
		require.Equal(t, "2024-01-01T00:00:00Z", r["min_event"])
		require.Equal(t, "2024-01-28T00:00:00Z", r["max_event"])
		inputs := r["inputs"].([]any)
		require.Len(t, inputs, 1)
		in := inputs[0].(map[string]any)
		require.Equal(t, "clean.users", in["table"])
		require.Equal(t, json.Number(snap), in["snapshot_id"], "the exact input snapshot")
		require.Contains(t, r, "duration_ms")
		require.GreaterOrEqual(t, num(r["duration_ms"]), float64(0))
		require.Greater(t, num(r["started_ms"]), float64(time.Now().Add(-time.Hour).UnixMilli()))
		require.NotZero(t, r["snapshot_id"])
	}
	text := c.ok("materialize", "runs", "--view", "user_stats")
	for _, col := range []string{"EVENT TIMES", "ROWS", "SNAPSHOT", "DURATION", "STATUS", "2024-01-01", "30000", "succeeded"} {
		require.Contains(t, text, col)
	}

	// A failed run is recorded with its error.
	c.ok("table", "rm", "--env", "dev", "clean.users")
	_, out, code := c.run("materialize", "user_stats")
	require.NotEqual(t, 0, code)
	require.Contains(t, out, "clean.users")
	require.NoError(t, json.Unmarshal([]byte(c.ok("materialize", "runs", "--view", "user_stats", "-o", "json")), &runs))
	require.Equal(t, "failed", runs[0]["status"])
	require.Contains(t, runs[0]["error"], "clean.users")
}
