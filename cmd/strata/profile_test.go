package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStartProfiles: the CPU profile, the execution trace and the heap profile are written when stop is called;
// a trace that cannot be created fails naming its flag and leaves no CPU profile running.
func TestStartProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem, tr := filepath.Join(dir, "cpu"), filepath.Join(dir, "mem"), filepath.Join(dir, "trace")
	stop, err := startProfiles(cpu, mem, tr)
	require.NoError(t, err)
	stop()
	for _, f := range []string{cpu, mem, tr} {
		st, err := os.Stat(f)
		require.NoError(t, err)
		require.Positive(t, st.Size(), f)
	}

	_, err = startProfiles(filepath.Join(dir, "cpu2"), "", filepath.Join(dir, "missing", "trace"))
	require.ErrorContains(t, err, "--trace")
	require.NoError(t, pprof.StartCPUProfile(io.Discard), "the failed start stopped its CPU profile")
	pprof.StopCPUProfile()
}
