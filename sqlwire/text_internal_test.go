package sqlwire

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// TestTimestampFastPathMatchesTime: the civil-calendar printing of timestamps equals time.Time's for every unit,
// across years 1–9999, before and after 1970, and hands BC and 5-digit years back to appendTimestamp.
func TestTimestampFastPathMatchesTime(t *testing.T) {
	t.Parallel()
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC).UnixMicro()
	values := []int64{0, -1, 1, lo, hi, 951_782_400_000_000 /* 2000-02-29 */, -62_135_596_800_000_001, 1_767_225_600_000_000}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		values = append(values, lo+r.Int64N(hi-lo))
	}
	for _, us := range values {
		for _, unit := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
			var v int64
			switch unit {
			case arrow.Second, arrow.Millisecond:
				v = us / int64(unit.Multiplier()/time.Microsecond)
			case arrow.Microsecond:
				v = us
			case arrow.Nanosecond:
				if us > 9e15 || us < -9e15 {
					continue // out of nanosecond range
				}
				v = us*1000 + r.Int64N(1000) - 500
			}
			toTime, err := (&arrow.TimestampType{Unit: unit}).GetToTimeFunc()
			require.NoError(t, err)
			want := string(appendTimestamp(nil, toTime(arrow.Timestamp(v)).UTC(), false))
			m, ok := timestampMicros(v, unit)
			require.True(t, ok)
			got, ok := appendTimestampMicros(nil, m)
			if !ok {
				require.True(t, m < lo || m > hi, "only years outside 1–9999 are handed back: %d", m)
				continue
			}
			require.Equal(t, want, string(got), "%d %s", v, unit)
		}
	}
	_, ok := appendTimestampMicros(nil, lo-1)
	require.False(t, ok, "1 BC")
	_, ok = appendTimestampMicros(nil, hi+1)
	require.False(t, ok, "year 10000")
}

func TestDecimalDigits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v     int64
		scale int32
		want  string
	}{{12345, 2, "123.45"}, {-12345, 2, "-123.45"}, {5, 2, "0.05"}, {-5, 3, "-0.005"}, {0, 2, "0.00"},
		{100, 2, "1.00"}, {42, 0, "42"}, {42, -2, "4200"}, {-7, 1, "-0.7"}} {
		require.Equal(t, tc.want, string(appendDecimalDigits([]byte("x"), strconv.AppendInt(nil, tc.v, 10), tc.scale))[1:])
	}
	require.Equal(t, "x.000123", string(appendFraction([]byte("x"), 123)))
	require.Equal(t, "x.5", string(appendFraction([]byte("x"), 500_000)))
	require.Equal(t, "x", string(appendFraction([]byte("x"), 0)))
}

func BenchmarkTextTimestamp(b *testing.B) {
	toTime, _ := (&arrow.TimestampType{Unit: arrow.Microsecond}).GetToTimeFunc()
	buf := make([]byte, 0, 64)
	const us = 1_767_225_600_123_456
	b.Run("time.Time", func(b *testing.B) {
		for i := range b.N {
			buf = appendTimestamp(buf[:0], toTime(arrow.Timestamp(us+int64(i))).UTC(), false)
		}
	})
	b.Run("civil", func(b *testing.B) {
		for i := range b.N {
			buf, _ = appendTimestampMicros(buf[:0], us+int64(i))
		}
	})
}
