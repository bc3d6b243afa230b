//go:build !nostartgc

package main

import "github.com/strata-data/strata/internal/startgc"

// restoreGC gives the collector back its setting (GOGC from the environment, else 100): package startgc turned
// it off while the packages initialised. (Build with -tags nostartgc to compare: bench/start.)
func restoreGC() { startgc.Restore() }
