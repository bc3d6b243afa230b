package main

import (
	"fmt"
	"os"
	"runtime/trace"
)

// startTrace starts an execution trace of the server into path (if set: `go tool trace`, e.g. -pprof=sched for
// where goroutines waited to run); the returned stop ends it. For performance work on serving (hidden flag):
// a trace grows by tens of MB a second under load, so run it for a few seconds.
func startTrace(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("--trace: %w", err)
	}
	return func() {
		trace.Stop()
		_ = f.Close()
	}, nil
}
