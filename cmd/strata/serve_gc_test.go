package main

import (
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/cpus"
)

// gcPercentNow reads the collector's target.
func gcPercentNow() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTuneGCFollowsTheLiveHeap: serve's collector target is 400% on a small live heap, 100% (Go's default) once
// 64 MB or more are live, the previous target again when serving stops, and untouched when GOGC is set.
func TestTuneGCFollowsTheLiveHeap(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if v, ok := os.LookupEnv("GOGC"); ok {
		require.NoError(t, os.Unsetenv("GOGC"))
		t.Cleanup(func() { _ = os.Setenv("GOGC", v) })
	}
	before := gcPercentNow()
	stop := tuneGC(log)
	require.Eventually(t, func() bool { runtime.GC(); return gcPercentNow() == maxServeGOGC }, 5*time.Second, 10*time.Millisecond)
	live := make([][]byte, 0, 100)
	for range 100 {
		live = append(live, make([]byte, 1<<20))
	}
	require.Eventually(t, func() bool { runtime.GC(); return gcPercentNow() == 100 }, 5*time.Second, 10*time.Millisecond,
		"100 MB live: Go's default")
	runtime.KeepAlive(live)
	live = nil
	require.Eventually(t, func() bool { runtime.GC(); return gcPercentNow() == maxServeGOGC }, 5*time.Second, 10*time.Millisecond)
	stop()
	require.Equal(t, before, gcPercentNow())

	t.Setenv("GOGC", "150")
	stop = tuneGC(log)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, before, gcPercentNow(), "GOGC set: left alone")
	stop()
}

// TestTuneProcs: serve runs with 4 Go processors per CPU by default, server.procs when set, its previous count
// again when serving stops, and GOMAXPROCS from the environment untouched.
func TestTuneProcs(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		require.NoError(t, os.Unsetenv("GOMAXPROCS"))
		t.Cleanup(func() { _ = os.Setenv("GOMAXPROCS", v) })
	}
	before := runtime.GOMAXPROCS(0)
	stop := tuneProcs(0, log)
	require.Equal(t, procsPerCPU*cpus.N, runtime.GOMAXPROCS(0))
	inner := tuneProcs(0, log) // a second server in the same process: the same count, not 4 × 4
	require.Equal(t, procsPerCPU*cpus.N, runtime.GOMAXPROCS(0))
	inner()
	stop()
	require.Equal(t, before, runtime.GOMAXPROCS(0))

	stop = tuneProcs(3, log)
	require.Equal(t, 3, runtime.GOMAXPROCS(0))
	stop()
	require.Equal(t, before, runtime.GOMAXPROCS(0))

	t.Setenv("GOMAXPROCS", "1")
	stop = tuneProcs(0, log)
	require.Equal(t, before, runtime.GOMAXPROCS(0), "GOMAXPROCS set: left alone")
	stop()
}

// TestServeGoProcs: a real `strata serve` runs 4 Go processors per CPU, server.procs when set, and GOMAXPROCS
// from its environment over both; its start line says how many.
func TestServeGoProcs(t *testing.T) {
	_, envSet := os.LookupEnv("GOMAXPROCS")
	if envSet {
		v := os.Getenv("GOMAXPROCS")
		require.NoError(t, os.Unsetenv("GOMAXPROCS"))
		t.Cleanup(func() { _ = os.Setenv("GOMAXPROCS", v) })
	}
	c := newCLI(t)
	c.ok("init")
	started := func(env ...string) string {
		p := startServe(t, c, append(env, "STRATA_SQLWIRE_ADDR="), "--addr", "127.0.0.1:0")
		require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "strata is serving") }, 30*time.Second, 20*time.Millisecond)
		m := regexp.MustCompile(`"?strata is serving"?.* go_procs=(\d+)`).FindStringSubmatch(p.stderr.String())
		require.NotNil(t, m, p.stderr.String())
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		return m[1]
	}
	if !envSet { // the child's CPUs are the test's: both started without GOMAXPROCS
		require.Equal(t, strconv.Itoa(procsPerCPU*cpus.N), started())
	}
	require.Equal(t, "3", started("STRATA_SERVER_PROCS=3"))
	require.Equal(t, "2", started("STRATA_SERVER_PROCS=3", "GOMAXPROCS=2"))
}
