package embedded_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/embedded"
	"github.com/strata-data/strata/online/onlinetest"
	"github.com/strata-data/strata/online/record"
)

// TestConformance runs the suite with the value cache (the default), without it, and with one so small that it
// fills up within most cases.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name  string
		bytes int64
	}{{"Cache", embedded.DefaultCacheBytes}, {"NoCache", 0}, {"TinyCache", 2 << 10}} {
		t.Run(c.name, func(t *testing.T) {
			onlinetest.Run(t, func(t *testing.T) online.Store {
				b, err := embedded.OpenCache(filepath.Join(t.TempDir(), "online", "store.db"), c.bytes)
				require.NoError(t, err)
				return online.New(b)
			})
		})
	}
}

// BenchmarkStore: go test -tags duckdb_arrow ./online/embedded -run '^$' -bench Store
func BenchmarkStore(b *testing.B) {
	s, err := embedded.Open(filepath.Join(b.TempDir(), "store.db"))
	require.NoError(b, err)
	defer s.Close()
	onlinetest.Bench(b, online.New(s))
}

// TestReadsEarlierFormat: a store written before values carried their JSON text (record format 1) is read as
// it is: Get returns its typed values and GetJSON their texts (read from bbolt, then from the cache's serving
// form), as for rows written now; a value of a format the store does not know is an error, never misread.
func TestReadsEarlierFormat(t *testing.T) {
	ctx := context.Background()
	b, err := embedded.Open(filepath.Join(t.TempDir(), "store.db"))
	require.NoError(t, err)
	s := online.New(b)
	defer s.Close()
	vals := []record.Value{record.FloatValue(0.25), record.FloatValue(math.NaN()), record.StringValue("a\"é"), record.IntValue(-7),
		record.BoolValue(true), record.TimestampValue(1_700_000_000_123_456), record.BytesValue([]byte{1, 2}), {Kind: record.Null}}
	fields := make([]record.Field, len(vals))
	names := make([]string, len(vals))
	for i, v := range vals {
		names[i] = fmt.Sprintf("f%d", i)
		fields[i] = record.Field{Name: names[i], Kind: v.Kind}
	}
	sc := record.NewSchema(fields)
	require.NoError(t, b.PutSchema(ctx, sc.ID, sc.Enc))
	v1 := record.Encode(nil, sc, 1_700_000_000_000_000, 0, false, nil)
	v1[0] = 1 // format 1: the header, then the binary values only
	for _, v := range vals {
		v1 = record.AppendValue(v1, v)
	}
	unknown := record.Encode(nil, sc, 1_700_000_000_000_000, 0, false, vals)
	unknown[0] = 9
	key := func(id int64) []byte { return record.Key(nil, []record.Value{record.IntValue(id)}) }
	require.NoError(t, b.Put(ctx, "dev/old", []record.Entry{{Key: key(1), Val: v1},
		{Key: key(2), Val: record.Encode(nil, sc, 1_700_000_000_000_000, 0, false, vals)}, {Key: key(3), Val: unknown}}))

	ents := [][]record.Value{{record.IntValue(1)}, {record.IntValue(2)}}
	rows, err := s.Get(ctx, "dev/old", ents, names)
	require.NoError(t, err)
	jrows, err := s.GetJSON(ctx, "dev/old", ents, names, nil)
	require.NoError(t, err)
	cached, err := s.GetJSON(ctx, "dev/old", ents, names, nil) // from the cache, in the serving form
	require.NoError(t, err)
	for r := range 2 * len(ents) {
		if r >= len(ents) {
			r -= len(ents)
			jrows = cached
		}
		require.True(t, rows[r].Found && jrows[r].Found)
		for i, v := range vals {
			if i == 1 {
				require.True(t, math.IsNaN(rows[r].Values[i].F))
			} else {
				require.Equal(t, v, rows[r].Values[i], "row %d value %d", r, i)
			}
			require.Equal(t, v.Kind, jrows[r].Cell(i).Kind)
			require.Equal(t, string(record.AppendJSON(nil, v)), string(jrows[r].Cell(i).JSON(jrows[r].Data)), "row %d value %d", r, i)
		}
	}
	_, err = s.Get(ctx, "dev/old", [][]record.Value{{record.IntValue(3)}}, names)
	require.ErrorContains(t, err, "corrupt online value")
	_, err = s.GetJSON(ctx, "dev/old", [][]record.Value{{record.IntValue(3)}}, names, nil)
	require.ErrorContains(t, err, "corrupt online value")
}
