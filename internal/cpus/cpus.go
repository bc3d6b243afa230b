// Package cpus holds how many CPUs the process may use: the Go processors it started with (Go counts its
// cgroup's CPU quota too, and GOMAXPROCS from the environment wins). `strata serve` runs more processors than
// that for its request latency (cmd/strata tuneProcs), so work sized by CPUs — Parquet writers, encode slots —
// reads N, not runtime.GOMAXPROCS.
package cpus

import "runtime"

// N is the Go processors at the process's start, read before main runs.
var N = runtime.GOMAXPROCS(0)
