package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Progress timing: nothing is shown for work shorter than progressAfter, then the line is redrawn every
// progressEvery.
const (
	progressAfter = time.Second
	progressEvery = 250 * time.Millisecond
)

// counters are what a progress line shows; Bytes is nil when the byte count is not known. Both are called
// from the progress goroutine while the work runs, so they must be safe for concurrent use.
type counters struct {
	Rows  func() int64
	Bytes func() int64
}

// progress shows a live row counter on stderr while long work runs (see progressOf).
func (a *app) progress(what string, rows func() int64) (stop func()) {
	return a.progressOf(what, counters{Rows: rows})
}

// progressOf shows "what: N rows, B bytes, R rows/s" on stderr, redrawn in place, once the work has taken
// longer than progressAfter; stop clears the line and must be called once the work ends (before the command
// prints its result). Nothing is shown when stderr is not a terminal or with --quiet, so scripts and logs
// never get control characters.
func (a *app) progressOf(what string, c counters) (stop func()) {
	if a.quiet || !a.terminal(a.stderr) {
		return func() {}
	}
	after, every := a.progressAfter, a.progressEvery
	if after == 0 {
		after = progressAfter
	}
	if every == 0 {
		every = progressEvery
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		wait := time.NewTimer(after)
		defer wait.Stop()
		select {
		case <-done:
			// Both may be ready at once (the goroutine ran late): the work outlasted the delay, so the line is
			// drawn (and cleared) as if the timer had won.
			if time.Since(start) < after {
				return
			}
		case <-wait.C:
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fmt.Fprint(a.stderr, "\r\033[K"+progressLine(what, c, time.Since(start)))
			select {
			case <-done:
				fmt.Fprint(a.stderr, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}

// progressLine renders one progress line: "importing x.csv: 1,200,000 rows, 48.0 MiB, 600,000 rows/s".
func progressLine(what string, c counters, elapsed time.Duration) string {
	rows := c.Rows()
	s := what + ": " + groupDigits(rows) + " rows"
	if c.Bytes != nil {
		s += ", " + fmtBytes(c.Bytes())
	}
	if secs := elapsed.Seconds(); secs > 0 {
		s += ", " + groupDigits(int64(float64(rows)/secs)) + " rows/s"
	}
	return s
}

// groupDigits writes n with thousands separators: 1234567 → 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// stdTerminal reports whether w is a terminal (the default of app.terminal).
func stdTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// countingWriter counts the bytes written through it; N is safe to read from another goroutine.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// N returns the bytes written so far.
func (c *countingWriter) N() int64 { return c.n.Load() }
