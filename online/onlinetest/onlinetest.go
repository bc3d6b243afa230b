// Package onlinetest is the conformance suite every online store backend passes: typed values round-trip,
// newer rows win (event_ts, then created_ts), key spaces are isolated per environment, one batch lookup answers
// present and absent entities in request order, deletes, staged publishes and bad writes are refused whole.
package onlinetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

// Run runs the suite; open returns a fresh, empty store (closed by the suite).
func Run(t *testing.T, open func(t *testing.T) online.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s online.Store)
	}{
		{"RoundTripTypes", roundTripTypes},
		{"NewerWins", newerWins},
		{"RecomputedReplacesEqual", recomputedReplacesEqual},
		{"BatchGetOrderAndAbsent", batchGet},
		{"SpacesIsolated", spacesIsolated},
		{"CompositeAndWidenedKeys", compositeKeys},
		{"SchemaChange", schemaChange},
		{"DeleteSpace", deleteSpace},
		{"CopyNewerWins", copyNewerWins},
		{"BadWrites", badWrites},
		{"ConcurrentWritersNewestWins", concurrentWriters},
		{"LastEvent", lastEvent},
		{"PointerSwap", pointerSwap},
		{"ConcurrentPointerSwaps", concurrentPointerSwaps},
		{"BulkFill", bulkFill},
		{"BulkFillTouchesNoOtherSpace", bulkFillIsolated},
		{"BulkFillCancelled", bulkFillCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

var (
	ts    = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	base  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	keyID = arrow.Field{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}
)

// Rows builds a record reader from a schema and row-major values (nil = null; time.Time for timestamps).
func Rows(t testing.TB, fields []arrow.Field, rows ...[]any) array.RecordReader {
	t.Helper()
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, r := range rows {
		for i, v := range r {
			appendAny(t, b.Field(i), v)
		}
	}
	rec := b.NewRecordBatch()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	return rdr
}

func appendAny(t testing.TB, b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch x := b.(type) {
	case *array.Int64Builder:
		x.Append(int64(v.(int)))
	case *array.Int32Builder:
		x.Append(int32(v.(int)))
	case *array.Float64Builder:
		x.Append(v.(float64))
	case *array.StringBuilder:
		x.Append(v.(string))
	case *array.BooleanBuilder:
		x.Append(v.(bool))
	case *array.BinaryBuilder:
		x.Append(v.([]byte))
	case *array.TimestampBuilder:
		x.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
	default:
		t.Fatalf("onlinetest: no appender for %T", b)
	}
}

func write(t *testing.T, s online.Store, space string, fields []arrow.Field, rows ...[]any) {
	t.Helper()
	rdr := Rows(t, fields, rows...)
	defer rdr.Release()
	require.NoError(t, s.WriteLatest(context.Background(), space, []string{"user_id"}, rdr))
}

func get(t *testing.T, s online.Store, space string, ids []int64, feats ...string) []online.Row {
	t.Helper()
	ents := make([][]online.Value, len(ids))
	for i, id := range ids {
		ents[i] = []online.Value{record.IntValue(id)}
	}
	first := getJSON(t, s, space, ents, feats)
	rows, err := s.Get(context.Background(), space, ents, feats)
	require.NoError(t, err)
	require.Len(t, rows, len(ids))
	for _, j := range [][]online.JSONRow{first, getJSON(t, s, space, ents, feats)} { // the second from memory, if kept
		sameJSON(t, rows, j)
	}
	return rows
}

func getJSON(t *testing.T, s online.Store, space string, ents [][]online.Value, feats []string) []online.JSONRow {
	t.Helper()
	rows, err := s.GetJSON(context.Background(), space, ents, feats, nil)
	require.NoError(t, err)
	require.Len(t, rows, len(ents))
	return rows
}

// sameJSON checks that GetJSON answered what Get did: the same rows found at the same event times, each value
// of the same kind, its JSON text record.AppendJSON's (null for null, NaN, ±Inf and missing values).
func sameJSON(t *testing.T, rows []online.Row, jrows []online.JSONRow) {
	t.Helper()
	for i, r := range rows {
		j := jrows[i]
		require.Equal(t, r.Found, j.Found, "row %d", i)
		require.Equal(t, len(r.Values), j.Len())
		if r.Found {
			require.Equal(t, r.EventUS, j.EventUS, "row %d", i)
		}
		for k, v := range r.Values {
			require.Equal(t, v.Kind, j.Cell(k).Kind, "row %d value %d", i, k)
			want := "null"
			if v.Kind != record.Null && v.Kind != record.Missing {
				want = string(record.AppendJSON(nil, v))
			}
			require.Equal(t, want, string(j.Cell(k).JSON(j.Data)), "row %d value %d", i, k)
		}
	}
}

func simple(name string, typ arrow.DataType) []arrow.Field {
	return []arrow.Field{keyID, {Name: "event_ts", Type: ts}, {Name: "created_ts", Type: ts, Nullable: true}, {Name: name, Type: typ, Nullable: true}}
}

func roundTripTypes(t *testing.T, s online.Store) {
	fields := []arrow.Field{keyID, {Name: "event_ts", Type: ts}, {Name: "created_ts", Type: ts, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "at", Type: ts, Nullable: true}, {Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}
	write(t, s, "dev/v", fields,
		[]any{1, base, base.Add(time.Second), -42, 2.5, "héllo", true, base.Add(-time.Hour), []byte{0, 1, 255}, 7},
		[]any{2, base.Add(time.Minute), nil, nil, nil, nil, nil, nil, nil, nil})
	rows := get(t, s, "dev/v", []int64{1, 2}, "raw", "s", "n", "x", "b", "at", "i32")
	r := rows[0]
	require.True(t, r.Found)
	require.Equal(t, base.UnixMicro(), r.EventUS)
	require.True(t, r.HasCreated)
	require.Equal(t, base.Add(time.Second).UnixMicro(), r.CreatedUS)
	require.Equal(t, []online.Value{record.BytesValue([]byte{0, 1, 255}), record.StringValue("héllo"), record.IntValue(-42),
		record.FloatValue(2.5), record.BoolValue(true), record.TimeValue(base.Add(-time.Hour)), record.IntValue(7)}, r.Values)
	require.True(t, rows[1].Found)
	require.False(t, rows[1].HasCreated)
	for i, v := range rows[1].Values {
		require.Equal(t, record.Null, v.Kind, "value %d of a row of nulls", i)
	}
}

func newerWins(t *testing.T, s online.Store) {
	f := simple("v", arrow.PrimitiveTypes.Int64)
	write(t, s, "dev/v", f, []any{1, base, nil, 1})
	write(t, s, "dev/v", f, []any{1, base.Add(-time.Hour), base.Add(time.Hour), 2}) // older event: ignored
	require.Equal(t, int64(1), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
	write(t, s, "dev/v", f, []any{1, base, base, 3}) // same event, created beats a null created
	require.Equal(t, int64(3), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
	write(t, s, "dev/v", f, []any{1, base, base, 4}) // equal (event, created): not newer, kept
	require.Equal(t, int64(3), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
	write(t, s, "dev/v", f, []any{1, base, nil, 5}) // null created is older than any
	require.Equal(t, int64(3), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
	write(t, s, "dev/v", f, []any{1, base, base.Add(time.Millisecond), 6})
	require.Equal(t, int64(6), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
	// Out of order rows of one batch: the newest wins whatever the order.
	write(t, s, "dev/v", f, []any{2, base.Add(2 * time.Hour), nil, 20}, []any{2, base.Add(3 * time.Hour), nil, 30}, []any{2, base, nil, 10})
	r := get(t, s, "dev/v", []int64{2}, "v")[0]
	require.Equal(t, int64(30), r.Values[0].I)
	require.Equal(t, base.Add(3*time.Hour).UnixMicro(), r.EventUS)
	// Timestamps before 1970 order correctly too.
	write(t, s, "dev/v", f, []any{3, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), nil, 1}, []any{3, time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), nil, 2})
	require.Equal(t, int64(1), get(t, s, "dev/v", []int64{3}, "v")[0].Values[0].I)
}

// recomputedReplacesEqual: WriteRecomputed replaces a row of equal (event_ts, created_ts), which WriteLatest
// keeps, and like WriteLatest never replaces a newer one.
func recomputedReplacesEqual(t *testing.T, s online.Store) {
	f := simple("v", arrow.PrimitiveTypes.Int64)
	recompute := func(rows ...[]any) {
		t.Helper()
		rdr := Rows(t, f, rows...)
		defer rdr.Release()
		require.NoError(t, s.WriteRecomputed(context.Background(), "dev/v", []string{"user_id"}, rdr))
	}
	write(t, s, "dev/v", f, []any{1, base, base, 1}, []any{2, base, nil, 1})
	write(t, s, "dev/v", f, []any{1, base, base, 2}, []any{2, base, nil, 2}) // equal: WriteLatest keeps the stored row
	require.Equal(t, []int64{1, 1}, values(get(t, s, "dev/v", []int64{1, 2}, "v")))
	recompute([]any{1, base, base, 3}, []any{2, base, nil, 3}) // equal, with and without created time: replaced
	require.Equal(t, []int64{3, 3}, values(get(t, s, "dev/v", []int64{1, 2}, "v")))
	recompute([]any{1, base.Add(-time.Hour), base, 4}, []any{2, base, nil, 4}, []any{3, base, nil, 4})
	rows := get(t, s, "dev/v", []int64{1, 2, 3}, "v")
	require.Equal(t, []int64{3, 4, 4}, values(rows), "an older event never replaces; equal and absent are written")
	require.Equal(t, base.UnixMicro(), rows[0].EventUS)
	recompute([]any{1, base.Add(time.Hour), nil, 5}) // newer: replaced, as by WriteLatest
	require.Equal(t, []int64{5}, values(get(t, s, "dev/v", []int64{1}, "v")))
}

func values(rows []online.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Values[0].I
	}
	return out
}

func batchGet(t *testing.T, s online.Store) {
	f := []arrow.Field{keyID, {Name: "event_ts", Type: ts}, {Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.BinaryTypes.String}}
	var rows [][]any
	for i := 0; i < 100; i += 2 {
		rows = append(rows, []any{i, base, i * 10, fmt.Sprint("s", i)})
	}
	write(t, s, "dev/v", f, rows...)
	var ids []int64
	for i := 99; i >= 0; i-- {
		ids = append(ids, int64(i))
	}
	ids = append(ids, 10, 10, 3, 98, 0) // keys asked again, in any order
	got := get(t, s, "dev/v", ids, "b", "a", "nope")
	for i, id := range ids {
		if id%2 == 1 {
			require.False(t, got[i].Found, "entity %d was never written", id)
			require.Equal(t, record.Missing, got[i].Values[0].Kind)
			continue
		}
		require.True(t, got[i].Found, "entity %d", id)
		require.Equal(t, fmt.Sprint("s", id), got[i].Values[0].S)
		require.Equal(t, id*10, got[i].Values[1].I)
		require.Equal(t, record.Missing, got[i].Values[2].Kind, "a feature the row does not have")
	}
	empty, err := s.Get(context.Background(), "dev/v", nil, []string{"a"})
	require.NoError(t, err)
	require.Empty(t, empty)
	none := get(t, s, "dev/never_written", []int64{1}, "a")
	require.False(t, none[0].Found)
}

func spacesIsolated(t *testing.T, s online.Store) {
	f := simple("v", arrow.PrimitiveTypes.Int64)
	write(t, s, "dev/v", f, []any{1, base, nil, 1})
	write(t, s, "prod/v", f, []any{1, base, nil, 2})
	write(t, s, "dev/v__p0123456789", f, []any{1, base, nil, 3})
	require.Equal(t, int64(1), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
	require.Equal(t, int64(2), get(t, s, "prod/v", []int64{1}, "v")[0].Values[0].I)
	require.Equal(t, int64(3), get(t, s, "dev/v__p0123456789", []int64{1}, "v")[0].Values[0].I)
	require.False(t, get(t, s, "prod/w", []int64{1}, "v")[0].Found)
}

func compositeKeys(t *testing.T, s online.Store) {
	f := []arrow.Field{{Name: "shop", Type: arrow.BinaryTypes.String}, {Name: "item", Type: arrow.PrimitiveTypes.Int32},
		{Name: "event_ts", Type: ts}, {Name: "v", Type: arrow.PrimitiveTypes.Float64}}
	rdr := Rows(t, f, []any{"a", 1, base, 1.5}, []any{"a", 2, base, 2.5}, []any{"b", 1, base, 3.5})
	defer rdr.Release()
	require.NoError(t, s.WriteLatest(context.Background(), "dev/v", []string{"shop", "item"}, rdr))
	key := func(shop string, item int64) []online.Value {
		return []online.Value{record.StringValue(shop), record.IntValue(item)} // int32 column, int64 request: the same key
	}
	rows, err := s.Get(context.Background(), "dev/v", [][]online.Value{key("b", 1), key("a", 2), key("a", 1), key("b", 2)}, []string{"v"})
	require.NoError(t, err)
	require.Equal(t, 3.5, rows[0].Values[0].F)
	require.Equal(t, 2.5, rows[1].Values[0].F)
	require.Equal(t, 1.5, rows[2].Values[0].F)
	require.False(t, rows[3].Found)
}

func schemaChange(t *testing.T, s online.Store) {
	old := []arrow.Field{keyID, {Name: "event_ts", Type: ts}, {Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.PrimitiveTypes.Int64}}
	write(t, s, "dev/v", old, []any{1, base, 1, 2}, []any{2, base, 3, 4})
	neu := []arrow.Field{keyID, {Name: "event_ts", Type: ts}, {Name: "c", Type: arrow.BinaryTypes.String}, {Name: "a", Type: arrow.PrimitiveTypes.Int64}}
	write(t, s, "dev/v", neu, []any{1, base.Add(time.Hour), "x", 10})
	rows := get(t, s, "dev/v", []int64{1, 2}, "a", "b", "c")
	require.Equal(t, []online.Value{record.IntValue(10), {Kind: record.Missing}, record.StringValue("x")}, rows[0].Values)
	require.Equal(t, []online.Value{record.IntValue(3), record.IntValue(4), {Kind: record.Missing}}, rows[1].Values)
}

func deleteSpace(t *testing.T, s online.Store) {
	f := simple("v", arrow.PrimitiveTypes.Int64)
	var rows [][]any
	for i := 0; i < 5000; i++ { // more than one scan/delete batch
		rows = append(rows, []any{i, base, nil, i})
	}
	write(t, s, "dev/v", f, rows...)
	write(t, s, "dev/w", f, []any{1, base, nil, 1})
	require.NoError(t, s.DeleteSpace(context.Background(), "dev/v"))
	require.NoError(t, s.DeleteSpace(context.Background(), "dev/never_written"))
	got := get(t, s, "dev/v", []int64{0, 4999}, "v")
	require.False(t, got[0].Found)
	require.False(t, got[1].Found)
	require.True(t, get(t, s, "dev/w", []int64{1}, "v")[0].Found, "other spaces keep their rows")
	write(t, s, "dev/v", f, []any{1, base.Add(-time.Hour), nil, 7}) // an old row is accepted again after a delete
	require.Equal(t, int64(7), get(t, s, "dev/v", []int64{1}, "v")[0].Values[0].I)
}

func copyNewerWins(t *testing.T, s online.Store) {
	ctx := context.Background()
	f := simple("v", arrow.PrimitiveTypes.Int64)
	write(t, s, "prod/v", f, []any{1, base, nil, 1}, []any{2, base.Add(time.Hour), nil, 2})
	var rows [][]any
	for i := 1; i <= 4200; i++ {
		rows = append(rows, []any{i, base.Add(time.Minute), nil, 100 + i})
	}
	write(t, s, "prod/v.next", f, rows...)
	before := get(t, s, "prod/v", []int64{1, 3}, "v")
	require.Equal(t, int64(1), before[0].Values[0].I, "another space's rows are not served before the copy")
	require.False(t, before[1].Found)
	require.NoError(t, s.Copy(ctx, "prod/v.next", "prod/v"))
	after := get(t, s, "prod/v", []int64{1, 2, 3, 4200}, "v")
	require.Equal(t, int64(101), after[0].Values[0].I)
	require.Equal(t, int64(2), after[1].Values[0].I, "a row newer than the copied one stays")
	require.Equal(t, int64(103), after[2].Values[0].I)
	require.Equal(t, int64(4300), after[3].Values[0].I)
	require.Equal(t, int64(101), get(t, s, "prod/v.next", []int64{1}, "v")[0].Values[0].I, "the source is kept")
}

func badWrites(t *testing.T, s online.Store) {
	ctx := context.Background()
	cases := []struct {
		name   string
		space  string
		fields []arrow.Field
		row    []any
		want   string
	}{
		{"bad space", "no-env", simple("v", arrow.PrimitiveTypes.Int64), []any{1, base, nil, 1}, "ENV/NAME"},
		{"no event_ts", "dev/v", []arrow.Field{keyID, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, []any{1, 1}, `"event_ts"`},
		{"event_ts not a timestamp", "dev/v", []arrow.Field{keyID, {Name: "event_ts", Type: arrow.PrimitiveTypes.Int64}}, []any{1, 1}, "must be a timestamp"},
		{"no key", "dev/v", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: ts}}, []any{1, base}, `"user_id" is missing`},
		{"null key", "dev/v", simple("v", arrow.PrimitiveTypes.Int64), []any{nil, base, nil, 1}, "is null"},
		{"null event", "dev/v", simple("v", arrow.PrimitiveTypes.Int64), []any{1, nil, nil, 1}, "event_ts is null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rdr := Rows(t, c.fields, c.row)
			defer rdr.Release()
			err := s.WriteLatest(ctx, c.space, []string{"user_id"}, rdr)
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.KindOf(err), err.Error())
			require.Contains(t, err.Error(), c.want)
		})
	}
	list := arrow.Field{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}
	sc := arrow.NewSchema([]arrow.Field{keyID, {Name: "event_ts", Type: ts}, list}, nil)
	rdr, _ := array.NewRecordReader(sc, nil)
	err := s.WriteLatest(ctx, "dev/v", []string{"user_id"}, rdr)
	require.ErrorContains(t, err, `feature column "l" has type list`)
	require.False(t, get(t, s, "dev/v", []int64{1}, "v")[0].Found, "nothing was written")
	_, err = s.Get(ctx, "dev", nil, nil)
	require.Equal(t, errs.Invalid, errs.KindOf(err))
}

func concurrentWriters(t *testing.T, s online.Store) {
	f := simple("v", arrow.PrimitiveTypes.Int64)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				n := w*20 + i // every writer writes every entity, with distinct event times
				rdr := Rows(t, f, []any{1, base.Add(time.Duration(n) * time.Second), nil, n}, []any{2, base.Add(time.Duration(-n) * time.Second), nil, n})
				if err := s.WriteLatest(context.Background(), "dev/v", []string{"user_id"}, rdr); err != nil {
					t.Error(err)
				}
				rdr.Release()
			}
		}(w)
	}
	wg.Wait()
	rows := get(t, s, "dev/v", []int64{1, 2}, "v")
	require.Equal(t, int64(159), rows[0].Values[0].I, "the latest event_ts of all writers")
	require.Equal(t, int64(0), rows[1].Values[0].I)
}

func lastEvent(t *testing.T, s online.Store) {
	ctx := context.Background()
	_, ok, err := s.LastEvent(ctx, "dev/v")
	require.NoError(t, err)
	require.False(t, ok, "a space never written has no freshness")
	f := simple("v", arrow.PrimitiveTypes.Int64)
	write(t, s, "dev/v", f, []any{1, base.Add(time.Hour), nil, 1}, []any{2, base, nil, 2})
	last, ok, err := s.LastEvent(ctx, "dev/v")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, base.Add(time.Hour), last)
	write(t, s, "dev/v", f, []any{3, base.Add(-time.Hour), nil, 3}) // older rows do not move it back
	last, _, _ = s.LastEvent(ctx, "dev/v")
	require.Equal(t, base.Add(time.Hour), last)
	require.Equal(t, int64(3), get(t, s, "dev/v", []int64{3}, "v")[0].Values[0].I)

	write(t, s, "prod/v.next", f, []any{1, base.Add(2 * time.Hour), nil, 1})
	require.NoError(t, s.Copy(ctx, "prod/v.next", "prod/v"))
	last, ok, _ = s.LastEvent(ctx, "prod/v")
	require.True(t, ok)
	require.Equal(t, base.Add(2*time.Hour), last, "a copy carries the source's freshness")

	require.NoError(t, s.DeleteSpace(ctx, "dev/v"))
	_, ok, _ = s.LastEvent(ctx, "dev/v")
	require.False(t, ok)
}

// pointerSwap: a pointer record is absent until swapped in from nil, is replaced only from the value it holds,
// is kept apart per name and from key spaces (DeleteSpace leaves it), and refuses empty values and bad names.
func pointerSwap(t *testing.T, s online.Store) {
	ctx := context.Background()
	got, err := s.Pointer(ctx, "dev/user_stats")
	require.NoError(t, err)
	require.Nil(t, got, "never written")

	ok, err := s.SwapPointer(ctx, "dev/user_stats", []byte("a"), []byte("b"))
	require.NoError(t, err)
	require.False(t, ok, "old given but none exists")
	ok, err = s.SwapPointer(ctx, "dev/user_stats", nil, []byte("a"))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.SwapPointer(ctx, "dev/user_stats", nil, []byte("x"))
	require.NoError(t, err)
	require.False(t, ok, "it exists: nil does not match")
	ok, err = s.SwapPointer(ctx, "dev/user_stats", []byte("b"), []byte("x"))
	require.NoError(t, err)
	require.False(t, ok, "it holds a, not b")
	ok, err = s.SwapPointer(ctx, "dev/user_stats", []byte("a"), []byte("b\x00\xff"))
	require.NoError(t, err)
	require.True(t, ok)

	write(t, s, "dev/user_stats", simple("f", arrow.PrimitiveTypes.Int64), []any{1, base, nil, 1})
	require.NoError(t, s.DeleteSpace(ctx, "dev/user_stats"))
	got, err = s.Pointer(ctx, "dev/user_stats")
	require.NoError(t, err)
	require.Equal(t, []byte("b\x00\xff"), got, "binary-safe, and DeleteSpace leaves pointers")
	got, err = s.Pointer(ctx, "prod/user_stats")
	require.NoError(t, err)
	require.Nil(t, got, "pointers are per name")

	_, err = s.SwapPointer(ctx, "dev/user_stats", got, nil)
	require.Equal(t, errs.Invalid, errs.KindOf(err), "an empty value")
	_, err = s.Pointer(ctx, "no-env")
	require.Equal(t, errs.Invalid, errs.KindOf(err), "a bad name")
}

// concurrentPointerSwaps: swappers racing read-then-swap loops lose no update (compare-and-swap is atomic).
func concurrentPointerSwaps(t *testing.T, s online.Store) {
	ctx := context.Background()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				cur, err := s.Pointer(ctx, "dev/counter")
				if err != nil {
					errc <- err
					return
				}
				n := 0
				if cur != nil {
					_, _ = fmt.Sscan(string(cur), &n)
				}
				ok, err := s.SwapPointer(ctx, "dev/counter", cur, []byte(fmt.Sprint(n+1)))
				if err != nil {
					errc <- err
					return
				}
				if ok {
					i++
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	got, err := s.Pointer(ctx, "dev/counter")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(workers*each), string(got))
}
