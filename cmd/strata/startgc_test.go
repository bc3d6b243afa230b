package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCollectorOnAfterStart: the collector, off while the packages initialise (internal/startgc), has the
// setting of GOGC from the environment (else 100) once main (here TestMain) has started.
func TestCollectorOnAfterStart(t *testing.T) {
	want := 100
	switch v := os.Getenv("GOGC"); v {
	case "":
	case "off":
		want = -1
	default:
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		want = n
	}
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	require.Equal(t, want, p)
}
