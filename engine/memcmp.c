//go:build duckdb_arrow

// memcmp for the DuckDB linked into this binary: see memcmp.go.

#define _GNU_SOURCE
// The byte loop below must stay a loop: the compiler may not turn it back into a call (to memcmp: itself).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

static int (*libc_memcmp)(const void *, const void *, size_t);

__attribute__((constructor)) static void strata_memcmp_init(void) {
	libc_memcmp = (int (*)(const void *, const void *, size_t))dlsym(RTLD_NEXT, "memcmp");
}

static inline uint64_t load64(const unsigned char *p) {
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return __builtin_bswap64(v); // big-endian: integer order is byte order
}

static inline uint32_t load32(const unsigned char *p) {
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline int order64(uint64_t x, uint64_t y) { return x < y ? -1 : 1; }

// words compares n >= 8 bytes a word at a time; the last word overlaps the one before it, whose bytes are equal.
static int words(const unsigned char *p, const unsigned char *q, size_t n) {
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x = load64(p + i), y = load64(q + i);
		if (x != y)
			return order64(x, y);
	}
	if (i < n) {
		uint64_t x = load64(p + n - 8), y = load64(q + n - 8);
		if (x != y)
			return order64(x, y);
	}
	return 0;
}

int memcmp(const void *a, const void *b, size_t n) {
	const unsigned char *p = a, *q = b;
	if (n >= 8) {
		if (n > 16 && libc_memcmp != NULL)
			return libc_memcmp(a, b, n);
		return words(p, q, n);
	}
	if (n >= 4) {
		uint32_t x = load32(p), y = load32(q);
		if (x == y) {
			x = load32(p + n - 4);
			y = load32(q + n - 4);
		}
		return x == y ? 0 : (x < y ? -1 : 1);
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return 0;
}
