package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/term"
)

// progress prints a live row counter on stderr while long work runs, when stderr is a terminal.
func (a *app) progress(what string, rows func() int64) (stop func()) {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				n := rows()
				rate := float64(n) / time.Since(start).Seconds()
				fmt.Fprintf(f, "\r\033[K%s: %d rows (%.0f rows/s)", what, n, rate)
			}
		}
	}()
	return func() { close(done); <-finished }
}
