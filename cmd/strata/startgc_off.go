//go:build nostartgc

package main

// restoreGC does nothing: built with -tags nostartgc, the collector runs during package initialisation as in
// any Go program (bench/start compares both).
func restoreGC() {}
