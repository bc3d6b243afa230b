package record

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// encodeV1 packs a row in the earlier format (binary values only), as stores written before format 2 hold.
func encodeV1(s *Schema, eventUS int64, vals []Value) []byte {
	b := Encode(nil, s, eventUS, 0, false, nil)
	b[0] = versionBinary
	for _, v := range vals {
		b = AppendValue(b, v)
	}
	return b
}

// FuzzStoredJSONMatchesJSON: the JSON text stored with every value (format 2), and the text formatted when a
// format 1 value is read, both read back through encoding/json as encoding/json's own encoding of the same Go
// value does (NaN and ±Inf, which JSON cannot carry, as null), for every kind the store holds; and the typed
// values read back exactly as written. The serving form of either format (ServingForm) is one and the same, has
// the stored value's header, and reads back the same kinds and texts.
func FuzzStoredJSONMatchesJSON(f *testing.F) {
	f.Add("fr", 0.53, int64(7), []byte{0, 1})
	f.Add("a\"b\\c\n\x00\u2028<&>é", 1e21, int64(-1)<<63, []byte("\xff"))
	f.Add("\xff\xfe invalid", 5e-324, int64(1)<<62, []byte(nil))
	f.Add(string(bytes.Repeat([]byte("long "), 40)), math.NaN(), int64(0), bytes.Repeat([]byte{7}, 200))
	f.Add("", math.Inf(-1), int64(-5), []byte{})
	f.Add("x", math.Inf(1), int64(1), []byte{})
	f.Fuzz(func(t *testing.T, s string, x float64, i int64, raw []byte) {
		ts := i % (1 << 50)
		vals := []Value{StringValue(s), FloatValue(x), IntValue(i), BytesValue(raw), BoolValue(i%2 == 0), TimestampValue(ts), {Kind: Null}}
		want := []any{s, x, i, append([]byte{}, raw...), i%2 == 0, time.UnixMicro(ts).UTC(), nil}
		fields := make([]Field, len(vals))
		for k, v := range vals {
			fields[k] = Field{Name: string(rune('a' + k)), Kind: v.Kind}
		}
		sc := NewSchema(fields)
		wanted := []string{"a", "b", "c", "d", "e", "f", "g", "absent"}
		slots := Slots(sc, wanted)
		v2 := Encode(nil, sc, 1, 0, false, vals)

		typed := make([]Value, len(wanted))
		require.NoError(t, DecodeInto(v2, slots, typed))
		require.Equal(t, Missing, typed[len(vals)].Kind)
		for k, v := range vals {
			if v.Kind == Float64 && math.IsNaN(v.F) {
				require.True(t, math.IsNaN(typed[k].F))
				continue
			}
			require.Equal(t, v, typed[k], "typed value %d reads back as written", k)
		}

		v1 := encodeV1(sc, 1, vals)
		s2, ok := ServingForm(v2)
		require.True(t, ok)
		s1, ok := ServingForm(v1)
		require.True(t, ok)
		require.Equal(t, s2, s1, "both formats have one serving form")
		require.Less(t, len(s2), len(v2)+2*len(vals), "the serving form holds no binary values")
		require.ErrorContains(t, DecodeInto(s2, slots, typed), "serving form")
		h2, err := DecodeHeader(v2)
		require.NoError(t, err)
		hs, err := DecodeHeader(s2)
		require.NoError(t, err)
		require.Equal(t, h2, hs)
		for _, row := range [][]byte{v2, v1, s2} {
			cells := make([]Cell, len(wanted))
			data, _, err := DecodeJSON(row, slots, cells, nil)
			require.NoError(t, err)
			require.Equal(t, Missing, cells[len(vals)].Kind)
			require.Equal(t, "null", string(cells[len(vals)].JSON(data)))
			for k := range vals {
				require.Equal(t, vals[k].Kind, cells[k].Kind)
				got := cells[k].JSON(data)
				require.True(t, json.Valid(got), "%q", got)
				require.Equal(t, string(AppendJSON(nil, vals[k])), string(got), "the stored text is the value's")
				if math.IsNaN(x) || math.IsInf(x, 0) {
					if vals[k].Kind == Float64 {
						require.Equal(t, "null", string(got))
						continue
					}
				}
				exp, err := json.Marshal(want[k])
				require.NoError(t, err)
				sameJSON(t, exp, got, vals[k].Kind)
			}
		}
	})
}

// sameJSON requires two JSON texts to read back as the same value: numbers compared by value (1e-07 vs 1e-7),
// timestamps as instants.
func sameJSON(t *testing.T, want, got []byte, kind Kind) {
	t.Helper()
	var a, b any
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&a))
	dec = json.NewDecoder(bytes.NewReader(want))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&b))
	switch {
	case kind == Float64:
		af, _ := a.(json.Number).Float64()
		bf, _ := b.(json.Number).Float64()
		require.Equal(t, bf, af, "%s vs %s", got, want)
	case kind == Timestamp:
		at, err := time.Parse(time.RFC3339Nano, a.(string))
		require.NoError(t, err)
		bt, err := time.Parse(time.RFC3339Nano, b.(string))
		require.NoError(t, err)
		require.True(t, at.Equal(bt), "%s vs %s", got, want)
	default:
		require.Equal(t, b, a, "%s vs %s", got, want)
	}
}

// TestDecodeTruncatedIsAnError cuts a stored row (every kind, a JSON text longer than 127 bytes), and its serving
// form, at every length: decoding it is an error naming the corruption, never a panic or a value read past the end.
func TestDecodeTruncatedIsAnError(t *testing.T) {
	vals := []Value{StringValue(string(bytes.Repeat([]byte("long "), 40))), FloatValue(0.25), IntValue(-3), BytesValue([]byte{1, 2}),
		BoolValue(true), TimestampValue(1_700_000_000_000_000), {Kind: Null}, StringValue("x")}
	fields := make([]Field, len(vals))
	for k, v := range vals {
		fields[k] = Field{Name: string(rune('a' + k)), Kind: v.Kind}
	}
	sc := NewSchema(fields)
	slots := Slots(sc, []string{"a", "b", "c", "d", "e", "f", "g", "h"})
	stored := Encode(nil, sc, 1, 0, false, vals)
	serving, ok := ServingForm(stored)
	require.True(t, ok)
	for _, row := range [][]byte{stored, encodeV1(sc, 1, vals), serving} {
		cells := make([]Cell, len(vals))
		_, _, err := DecodeJSON(row, slots, cells, nil)
		require.NoError(t, err)
		for n := HeaderLen; n < len(row); n++ {
			_, _, err := DecodeJSON(row[:n:n], slots, cells, nil)
			require.ErrorContains(t, err, "corrupt online value", "cut at %d of %d bytes", n, len(row))
			require.Error(t, DecodeInto(row[:n:n], slots, make([]Value, len(vals))), "cut at %d", n)
			if cut, ok := ServingForm(row[:n:n]); ok { // a cut between two values parses: it lacks values
				_, _, err := DecodeJSON(cut, slots, cells, nil)
				require.ErrorContains(t, err, "corrupt online value", "serving form of the value cut at %d", n)
			}
		}
	}
}
