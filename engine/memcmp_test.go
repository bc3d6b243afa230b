//go:build duckdb_arrow

package engine

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sign(n int) int { return min(max(n, -1), 1) }

// TestMemcmpOrdersBytes: the memcmp linked for DuckDB orders every length up to 80 bytes as bytes.Compare does,
// with the first difference at each position, either way round, in low and high bytes (unsigned), and
// equal inputs equal.
func TestMemcmpOrdersBytes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 80; n++ {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte(r.IntN(256))
		}
		require.Zero(t, memcmpC(a, bytes.Clone(a)), "n=%d equal", n)
		for pos := range n {
			for _, d := range []byte{1, 0x7f, 0x80, 0xff} {
				b := bytes.Clone(a)
				b[pos] += d
				for i := pos + 1; i < n; i++ {
					b[i] = byte(r.IntN(256)) // bytes after the first difference do not matter
				}
				want := bytes.Compare(a, b)
				require.Equal(t, want, sign(memcmpC(a, b)), "n=%d pos=%d a=%x b=%x", n, pos, a, b)
				require.Equal(t, -want, sign(memcmpC(b, a)), "n=%d pos=%d b=%x a=%x", n, pos, b, a)
			}
		}
	}
}

// TestStringOrderThroughDuckDB: DuckDB's comparisons, min/max and ORDER BY of text and blobs (which call
// memcmp when the first 4 bytes agree) give Go's byte order, for values of many lengths sharing prefixes.
func TestStringOrderThroughDuckDB(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ab\u00e9\u00ff\u4e2dz"
	word := func() string {
		var b strings.Builder
		b.WriteString([]string{"", "name ", "name 1", "prefix-shared-by-many-"}[r.IntN(4)])
		for range r.IntN(24) {
			b.WriteString(string([]rune(alphabet)[r.IntN(6)]))
		}
		return b.String()
	}
	var rows []string
	type pair struct{ a, b string }
	var pairs []pair
	for i := range 600 {
		p := pair{word(), word()}
		if i%5 == 0 {
			p.b = p.a
		}
		pairs = append(pairs, p)
		rows = append(rows, fmt.Sprintf("(%d, %s, %s, from_hex('%s'), from_hex('%s'))", i, sqlString(p.a), sqlString(p.b),
			hex.EncodeToString([]byte(p.a)), hex.EncodeToString([]byte(p.b))))
	}
	e := newEngine(t, Options{})
	got := queryWith(t, e, "SELECT i, a < b, a = b, a > b, x < y, x = y, x > y, greatest(a, b) FROM (VALUES "+
		strings.Join(rows, ", ")+") t(i, a, b, x, y) ORDER BY i", QueryOptions{})
	require.Len(t, got, len(pairs))
	for i, p := range pairs {
		c := strings.Compare(p.a, p.b)
		cmp := []string{fmt.Sprint(c < 0), fmt.Sprint(c == 0), fmt.Sprint(c > 0)}
		want := append([]string{fmt.Sprint(i)}, cmp...)
		want = append(want, cmp...)
		want = append(want, max(p.a, p.b))
		require.Equal(t, want, got[i], "a=%q b=%q", p.a, p.b)
	}
}
