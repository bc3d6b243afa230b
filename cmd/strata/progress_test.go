package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func terminalApp(stderr io.Writer, isTerminal bool) *app {
	a := newApp(&bytes.Buffer{}, stderr, nil)
	a.terminal = func(io.Writer) bool { return isTerminal }
	return a
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	rows := func() int64 { return 1234567 }
	require.Equal(t, "importing x.csv: 1,234,567 rows, 617,283 rows/s",
		progressLine("importing x.csv", counters{Rows: rows}, 2*time.Second))
	require.Equal(t, "writing o.csv: 1,234,567 rows, 48.0 MiB, 1,234,567 rows/s",
		progressLine("writing o.csv", counters{Rows: rows, Bytes: func() int64 { return 48 << 20 }}, time.Second))
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 123456: "123,456", -1234: "-1,234"} {
		require.Equal(t, want, groupDigits(n))
	}
}

// TestProgress: the line appears only once the work has run longer than the delay, is redrawn in place with
// rows, bytes and rows/s, and is cleared at the end; never when stderr is not a terminal or with --quiet.
func TestProgress(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	work := func(a *app, d time.Duration) {
		stop := a.progressOf("importing big.csv", counters{Rows: n.Load, Bytes: func() int64 { return 3 << 20 }})
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			n.Add(1000)
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		stop() // idempotent
	}

	// Long work on a terminal.
	var out syncBuffer
	a := terminalApp(&out, true)
	a.progressAfter, a.progressEvery = 50*time.Millisecond, 20*time.Millisecond
	work(a, 300*time.Millisecond)
	s := out.String()
	require.Regexp(t, `^\r\x1b\[Kimporting big\.csv: [0-9,]+ rows, 3\.0 MiB, [0-9,]+ rows/s`, s)
	require.Greater(t, strings.Count(s, "\r\x1b[K"), 3, "redrawn in place: %q", s)
	require.True(t, strings.HasSuffix(s, "\r\x1b[K"), "the line is cleared at the end: %q", s)

	// Short work (under the default second) shows nothing.
	out = syncBuffer{}
	work(terminalApp(&out, true), 200*time.Millisecond)
	require.Empty(t, out.String())
	require.Equal(t, time.Second, progressAfter)

	// Not a terminal, or --quiet: nothing, however long.
	for _, quiet := range []bool{false, true} {
		out = syncBuffer{}
		a := terminalApp(&out, quiet)
		a.quiet = quiet
		a.progressAfter, a.progressEvery = time.Millisecond, time.Millisecond
		work(a, 50*time.Millisecond)
		require.Empty(t, out.String(), "quiet=%v", quiet)
	}
}

// TestProgressCommands: `sql --out` and `table import` show the line on a terminal; --quiet silences it.
func TestProgressCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	var sb strings.Builder
	sb.WriteString("id,name\n")
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&sb, "%d,n%d\n", i, i)
	}
	big := c.file("big.csv", sb.String())
	out := filepath.Join(c.dir, "out.csv")
	runTerminal := func(args ...string) string {
		var stderr syncBuffer
		a := newApp(&bytes.Buffer{}, &stderr, c.environ)
		a.terminal = func(w io.Writer) bool { return w == io.Writer(&stderr) }
		a.progressAfter, a.progressEvery = time.Nanosecond, time.Millisecond
		require.Equal(t, 0, a.execute(context.Background(), args), stderr.String())
		return stderr.String()
	}
	require.Contains(t, runTerminal("table", "import", "raw.big", big), "\r\x1b[Kimporting "+big+": ")
	s := runTerminal("sql", "SELECT * FROM raw.big", "--out", out)
	require.Regexp(t, `\r\x1b\[Kwriting `+regexp.QuoteMeta(out)+`: [0-9,]+ rows, [0-9.]+ [KM]?i?B, [0-9,]+ rows/s`, s)
	require.True(t, strings.HasSuffix(s, "wrote 50000 rows to "+out+"\n"), "%q", s)

	require.Equal(t, "wrote 50000 rows to "+out+"\n", runTerminal("sql", "SELECT * FROM raw.big", "--out", out, "--quiet"))
	// Not a terminal (the in-process default: a buffer): only the result.
	_, stderr, code := c.run("sql", "SELECT * FROM raw.big", "--out", out)
	require.Equal(t, 0, code)
	require.Equal(t, "wrote 50000 rows to "+out+"\n", stderr)
}
