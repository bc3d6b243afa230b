package infinity

import (
	"math"
	"testing"
)

func TestDateAndTimestamp(t *testing.T) {
	for _, c := range []struct {
		days int32
		want int
	}{{math.MaxInt32, 1}, {-math.MaxInt32, -1}, {math.MinInt32, -1}, {0, 0}, {math.MaxInt32 - 1, 0}, {-math.MaxInt32 + 1, 0}} {
		if got := Date(c.days); got != c.want {
			t.Errorf("Date(%d) = %d, want %d", c.days, got, c.want)
		}
	}
	for _, c := range []struct {
		v    int64
		want int
	}{{math.MaxInt64, 1}, {-math.MaxInt64, -1}, {math.MinInt64, -1}, {0, 0}, {math.MaxInt64 - 1, 0}, {-math.MaxInt64 + 1, 0}} {
		if got := Timestamp(c.v); got != c.want {
			t.Errorf("Timestamp(%d) = %d, want %d", c.v, got, c.want)
		}
	}
	if v, ok := PGDate(-math.MaxInt32); !ok || v != math.MinInt32 {
		t.Errorf("PGDate(-infinity) = %d, %v", v, ok)
	}
	if v, ok := PGTimestamp(math.MaxInt64); !ok || v != math.MaxInt64 {
		t.Errorf("PGTimestamp(infinity) = %d, %v", v, ok)
	}
	if _, ok := PGTimestamp(0); ok {
		t.Errorf("PGTimestamp(0) is finite")
	}
	if Text(1) != "infinity" || Text(-1) != "-infinity" {
		t.Errorf("Text: %q %q", Text(1), Text(-1))
	}
}
