package onlinetest

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

func fill(t *testing.T, s online.Store, space string, fields []arrow.Field, rows ...[]any) {
	t.Helper()
	rdr := Rows(t, fields, rows...)
	defer rdr.Release()
	require.NoError(t, s.Fill(context.Background(), space, []string{"user_id"}, rdr))
}

// bulkFill: a bulk fill of a fresh space serves every row as written (typed values, event and created times),
// in any key order and across several of the store's write batches; of two rows of one entity in a batch the
// newer is kept; it marks the space's latest event; it replaces rows without "newer wins" (it is for spaces
// nobody else writes), and refuses bad input whole, like WriteLatest.
func bulkFill(t *testing.T, s online.Store) {
	ctx := context.Background()
	f := simple("v", arrow.PrimitiveTypes.Int64)
	const n = 150_000 // more than two write batches
	rows := make([][]any, 0, n+1)
	for i := n - 1; i >= 0; i-- { // reverse order: the store sorts
		var created any
		if i%3 == 0 {
			created = base.Add(time.Duration(i) * time.Millisecond)
		}
		rows = append(rows, []any{i, base.Add(time.Duration(i) * time.Second), created, i * 7})
	}
	rows = append(rows, []any{5, base.Add(-time.Hour), nil, -1}) // an older duplicate of entity 5 in the same batch
	rdr := Rows(t, f, rows...)
	require.NoError(t, s.Fill(ctx, "dev/v.s1", []string{"user_id"}, rdr))
	rdr.Release()
	ids := []int64{0, 1, 5, 65_535, 65_536, 131_072, n - 1, n}
	got := get(t, s, "dev/v.s1", ids, "v")
	for i, id := range ids[:len(ids)-1] {
		require.True(t, got[i].Found, "entity %d", id)
		require.Equal(t, id*7, got[i].Values[0].I, "entity %d", id)
		require.Equal(t, base.Add(time.Duration(id)*time.Second).UnixMicro(), got[i].EventUS)
		require.Equal(t, id%3 == 0, got[i].HasCreated, "entity %d", id)
		if id%3 == 0 {
			require.Equal(t, base.Add(time.Duration(id)*time.Millisecond).UnixMicro(), got[i].CreatedUS)
		}
	}
	require.False(t, got[len(ids)-1].Found, "never written")
	last, ok, err := s.LastEvent(ctx, "dev/v.s1")
	require.NoError(t, err)
	require.True(t, ok, "a fill marks the space complete")
	require.Equal(t, base.Add((n-1)*time.Second), last)

	// Typed values round-trip as through WriteLatest.
	fields := []arrow.Field{keyID, {Name: "event_ts", Type: ts}, {Name: "created_ts", Type: ts, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true}}
	fill(t, s, "dev/w.s1", fields, []any{1, base, nil, "héllo", 2.5, []byte{0, 255}}, []any{2, base, nil, nil, nil, nil})
	r := get(t, s, "dev/w.s1", []int64{1, 2}, "raw", "s", "x")
	require.Equal(t, []online.Value{record.BytesValue([]byte{0, 255}), record.StringValue("héllo"), record.FloatValue(2.5)}, r[0].Values)
	for _, v := range r[1].Values {
		require.Equal(t, record.Null, v.Kind)
	}

	// A fill writes as told: an older row replaces a newer one (no newer-wins read).
	fill(t, s, "dev/v.s1", f, []any{1, base.Add(-time.Hour), nil, 99})
	require.Equal(t, int64(99), get(t, s, "dev/v.s1", []int64{1}, "v")[0].Values[0].I)
	// WriteLatest into a filled space still checks newer-wins.
	write(t, s, "dev/v.s1", f, []any{1, base.Add(-2 * time.Hour), nil, 98})
	require.Equal(t, int64(99), get(t, s, "dev/v.s1", []int64{1}, "v")[0].Values[0].I)

	rdr = Rows(t, f, []any{1, nil, nil, 1})
	defer rdr.Release()
	err = s.Fill(ctx, "dev/bad", []string{"user_id"}, rdr)
	require.Equal(t, errs.Invalid, errs.KindOf(err), "a null event_ts")
	require.False(t, get(t, s, "dev/bad", []int64{1}, "v")[0].Found)
	rdr2 := Rows(t, f, []any{1, base, nil, 1})
	defer rdr2.Release()
	require.Equal(t, errs.Invalid, errs.KindOf(s.Fill(ctx, "no-env", []string{"user_id"}, rdr2)), "a bad space")
}

// bulkFillIsolated: a bulk fill of one space leaves every other space as it was, also spaces whose names it
// starts or which start its name, holding the same entities with newer rows.
func bulkFillIsolated(t *testing.T, s online.Store) {
	ctx := context.Background()
	f := simple("v", arrow.PrimitiveTypes.Int64)
	others := []string{"dev/v", "dev/v.s10", "dev/v.s", "prod/v.s1"}
	for i, sp := range others {
		write(t, s, sp, f, []any{1, base.Add(time.Hour), nil, 100 + i}, []any{2, base.Add(time.Hour), nil, 200 + i})
	}
	fill(t, s, "dev/v.s1", f, []any{1, base, nil, 1}, []any{2, base, nil, 2}, []any{3, base, nil, 3})
	require.Equal(t, []int64{1, 2, 3}, ints(get(t, s, "dev/v.s1", []int64{1, 2, 3}, "v")))
	check := func() {
		for i, sp := range others {
			got := get(t, s, sp, []int64{1, 2, 3}, "v")
			require.Equal(t, []int64{int64(100 + i), int64(200 + i)}, ints(got[:2]), sp)
			require.False(t, got[2].Found, "%s: entity 3 was filled into dev/v.s1 only", sp)
			last, ok, err := s.LastEvent(ctx, sp)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, base.Add(time.Hour), last, sp)
		}
	}
	check()
	require.NoError(t, s.DeleteSpace(ctx, "dev/v.s1"))
	check()
}

// bulkFillCancelled: a fill whose context is cancelled fails with the context's error and does not mark the
// space complete (no latest event), so a syncer never takes it for a loaded one.
func bulkFillCancelled(t *testing.T, s online.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rdr := Rows(t, simple("v", arrow.PrimitiveTypes.Int64), []any{1, base, nil, 1})
	defer rdr.Release()
	err := s.Fill(ctx, "dev/v.s1", []string{"user_id"}, rdr)
	require.ErrorIs(t, err, context.Canceled)
	_, ok, err := s.LastEvent(context.Background(), "dev/v.s1")
	require.NoError(t, err)
	require.False(t, ok, "not marked complete")
}

func ints(rows []online.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Values[0].I
	}
	return out
}
