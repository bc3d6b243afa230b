// Package startgc turns the garbage collector off while the strata command's packages initialise and gives it
// back its setting when main starts. Package initialisation allocates much that stays live (iceberg-go's
// substrait function tables, DuckDB's and the Arrow type registries) while the heap is small, so with the
// default GOGC=100 the collector runs several times, on one core, before the command does anything.
//
// Import it first in package main (Go initialises packages in dependency order, then by import path, so the
// packages it does not precede are few and cheap) and call Restore first thing in main.
package startgc

import "runtime/debug"

// percent is the GC percent in force before init turned the collector off: GOGC from the environment (off: -1),
// else 100.
var percent = debug.SetGCPercent(-1)

// Restore sets the collector back to the GC percent the process started with (GOGC from the environment,
// else 100). Calling it again does nothing more.
func Restore() {
	debug.SetGCPercent(percent)
}
