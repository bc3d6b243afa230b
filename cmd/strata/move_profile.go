package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts a CPU profile into cpu (if set); the returned stop ends it and writes a heap profile into
// mem (if set). Profiling is for performance work on `move run` (hidden flags): errors writing the heap profile
// are reported on stderr, never fail the run.
func startProfiles(cpu, mem string) (stop func(), err error) {
	var f *os.File
	if cpu != "" {
		if f, err = os.Create(cpu); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err = pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	return func() {
		if f != nil {
			pprof.StopCPUProfile()
			_ = f.Close()
		}
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
