package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles starts a CPU profile into cpu and an execution trace into tr (each if set; the trace is for `go
// tool trace`, e.g. -pprof=sched for where goroutines waited to run, and grows by tens of MB a second under
// load); the returned stop ends them and writes a heap profile into mem (if set). Profiling is for performance
// work on `move run` and `serve` (hidden flags): errors writing the heap profile are reported on stderr, never
// fail the run.
func startProfiles(cpu, mem, tr string) (stop func(), err error) {
	var f, t *os.File
	if cpu != "" {
		if f, err = os.Create(cpu); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err = pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	stopCPU := func() {
		if f != nil {
			pprof.StopCPUProfile()
			_ = f.Close()
		}
	}
	if tr != "" {
		if t, err = os.Create(tr); err == nil {
			if err = trace.Start(t); err != nil {
				_ = t.Close()
			}
		}
		if err != nil {
			stopCPU()
			return nil, fmt.Errorf("--trace: %w", err)
		}
	}
	return func() {
		if t != nil {
			trace.Stop()
			_ = t.Close()
		}
		stopCPU()
		if mem == "" {
			return
		}
		runtime.GC()
		m, err := os.Create(mem)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(m, 0)
			_ = m.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "--memprofile: %v\n", err)
		}
	}, nil
}
