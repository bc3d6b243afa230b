//go:build duckdb_arrow

package engine

// memcmp.c gives the DuckDB linked into this binary its own memcmp, which the linker prefers to the C
// library's: comparisons of up to 16 bytes (most strings a GROUP BY, a min/max or a sort compares) are a few
// inlined word loads instead of glibc's general routine, longer ones go to the C library's memcmp. DuckDB
// compares a string's first 4 bytes itself and calls memcmp when they are equal: for text sharing a prefix
// ('name 17', 'name 42', ...) that is one call per value. In bench/sql's aggregate (10M rows, max over such
// text) glibc's memcmp was 39% of the CPU; with this one the query costs ~25% less. The Go runtime does not use
// the C memcmp; other C libraries (libstdc++, libc itself) keep the C library's.

// #cgo CFLAGS: -O2 -fno-builtin-memcmp
// #cgo LDFLAGS: -ldl
// #include <string.h>
import "C"

import "unsafe"

// memcmpC calls the memcmp DuckDB calls on the first len(a) bytes of a and b (for tests).
func memcmpC(a, b []byte) int {
	if len(a) == 0 {
		return int(C.memcmp(nil, nil, 0))
	}
	return int(C.memcmp(unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), C.size_t(len(a))))
}
