package features

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// stringKeyDefs: views over clean.skeyed, whose join key is a string.
var stringKeyDefs = `entities:
  - name: code
    join_keys: [{name: user_code, type: string}]
feature_views:
  - name: s_ttl
    entities: [code]
    source: {table: clean.skeyed}
    event_time: event_ts
    created_time: created_ts
    ttl: 3d
    features: [{name: f_long, type: long}, {name: f_double, type: double}, {name: f_bool, type: boolean}, {name: f_tstz, type: timestamptz}]
  - name: s_nocreated
    entities: [code]
    source: {table: clean.skeyed}
    event_time: event_ts
    ttl: 0
    features: [{name: f_int, type: int}, {name: f_date, type: date}, {name: f_float, type: float}, {name: f_str, type: string}]
`

// stringKeyOf is key k as a string: byte order differs from numeric order ("k1" < "k10" < "k2"), some keys are
// multibyte, one ends in a space, one is empty (not NULL).
func stringKeyOf(k int64) string {
	switch {
	case k == 5:
		return ""
	case k%4 == 1:
		return fmt.Sprintf("é%d", k)
	case k%4 == 2:
		return fmt.Sprintf("日本-%d", k)
	case k%4 == 3:
		return fmt.Sprintf("k%d ", k)
	}
	return fmt.Sprintf("k%d", k)
}

// withStringKeys returns rec with its first column (an int64 key) replaced by user_code, the keys as strings.
func withStringKeys(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	ids := rec.Column(0).(*array.Int64)
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	for i := range ids.Len() {
		if ids.IsNull(i) {
			sb.AppendNull()
		} else {
			sb.Append(stringKeyOf(ids.Value(i)))
		}
	}
	codes := sb.NewArray()
	defer codes.Release()
	fields := append([]arrow.Field{{Name: "user_code", Type: arrow.BinaryTypes.String, Nullable: true}}, rec.Schema().Fields()[1:]...)
	cols := append([]arrow.Array{codes}, rec.Columns()[1:]...)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// stringSpine writes raw.sspine: keys with rows, keys without ("k60" and on, and prefixes of keys with rows:
// "k1" has rows, "k" has none), the empty key, NULL keys and times, times before every event, duplicate rows.
func stringSpine(t *testing.T, f *fixture, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 8))
	tz := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_code", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_timestamp", Type: tz, Nullable: true},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	start := time.Date(2023, 12, 30, 0, 0, 0, 0, time.UTC).UnixMicro()
	var prevKey string
	var prevTS int64
	for i := range n {
		key := stringKeyOf(int64(rng.IntN(75)))
		switch i % 17 {
		case 3:
			key = "k"
		case 4:
			key = "é"
		}
		ts := start + rng.Int64N(24*24*60)*60_000_000
		if i%11 == 10 && i > 0 { // a duplicate of the previous row
			key, ts = prevKey, prevTS
		}
		prevKey, prevTS = key, ts
		if i%53 == 52 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(key)
		}
		if i%47 == 46 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
		}
		b.Field(2).(*array.Int64Builder).Append(int64(i % 3))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	_, err = f.envs.Write(f.ctx, "dev", lake.Ident{Zone: "raw", Name: "sspine"}, rdr, envs.WriteOptions{CreateIfMissing: true, Actor: "test", Mode: envs.Append})
	require.NoError(t, err)
}

// stringKeyFixture is cacheFixture with clean.skeyed (two files) and stringKeyDefs applied.
func stringKeyFixture(t *testing.T) (*fixture, *PITCache) {
	t.Helper()
	f, c := cacheFixture(t)
	rng := rand.New(rand.NewPCG(13, 17))
	id := lake.Ident{Zone: "clean", Name: "skeyed"}
	for n, rows := range []int{1700, 800} {
		appendBatch(t, f, "dev", id, withStringKeys(t, typedBatch(t, rng, rows, 60, 0)), n == 0)
	}
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, stringKeyDefs), "ann")
	require.NoError(t, err)
	return f, c
}

// TestCachedJoinStringKeysMatchDuckDB: a view keyed by a string joins from the cache with exactly the rows of
// the DuckDB join — keys compared byte for byte (an empty key is a key, a prefix of a key is another key,
// multibyte keys), NULL keys and times, keys without rows, ties, TTL or none — and a later build reads the
// entry.
func TestCachedJoinStringKeysMatchDuckDB(t *testing.T) {
	f, c := stringKeyFixture(t)
	stringSpine(t, f, 3000)
	for _, tc := range []struct{ view, join string }{{"s_ttl", "cache_filled"}, {"s_nocreated", "cache_filled"}} {
		t.Run(tc.view, func(t *testing.T) {
			cached, plain, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: tc.view, Spine: "raw.sspine", Features: []string{tc.view + ":*"}})
			require.Equal(t, tc.join, cached.Join, cached.JoinNote)
			require.Len(t, want, 3000)
			require.Equal(t, want, got)
			require.Equal(t, plain.Lineage.ColumnTypes, cached.Lineage.ColumnTypes)
			feat := map[string]string{"s_ttl": "f_long", "s_nocreated": "f_int"}[tc.view]
			counts := f.rows(t, "dev", "SELECT count(*) FILTER (user_code = '' AND "+feat+" IS NOT NULL), count(*) FILTER (user_code IN ('k', 'é')), "+
				"count(*) FILTER (user_code IN ('k', 'é') AND "+feat+" IS NOT NULL) FROM datasets."+tc.view+"_c")
			var emptyMatched, prefixes, prefixesMatched int
			_, err := fmt.Sscanf(counts[0], "%d,%d,%d", &emptyMatched, &prefixes, &prefixesMatched)
			require.NoError(t, err)
			require.Positive(t, emptyMatched, "the empty key matches its rows")
			require.Positive(t, prefixes)
			require.Zero(t, prefixesMatched, "a prefix of keys matches nothing")

			again, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: tc.view + "_again", Spine: "raw.sspine", Features: []string{tc.view + ":*"}})
			require.NoError(t, err)
			require.Equal(t, "cache", again.Join)
			require.Equal(t, want, f.rows(t, "dev", "SELECT * FROM datasets."+tc.view+"_again ORDER BY spine_row"))
		})
	}
	entries, err := c.List()
	require.NoError(t, err)
	require.Len(t, entries, 2)
	for _, e := range entries {
		require.Equal(t, "user_code", e.Key)
		require.Empty(t, e.Problem)
	}
}

// TestCachedJoinStringKeysDamaged: an entry whose key strings are out of order or whose offsets leave their
// bytes is removed when mapped, and the build joins in DuckDB with the same rows, saying why.
func TestCachedJoinStringKeysDamaged(t *testing.T) {
	f, c := stringKeyFixture(t)
	stringSpine(t, f, 500)
	req := DatasetRequest{Env: "dev", Name: "sd", Spine: "raw.sspine", Features: []string{"s_ttl:f_double"}}
	buildBoth(t, f, req)
	entries, err := filepath.Glob(filepath.Join(c.Dir, "*.pit"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	good, err := os.ReadFile(entries[0])
	require.NoError(t, err)
	pf, err := parsePIT(good)
	require.NoError(t, err)
	require.True(t, pf.strKeys)
	require.Equal(t, int64(-1), pf.rankOf("k"), "a prefix of a key is not a key")
	require.Equal(t, int64(0), pf.rankOf(""), "the empty key sorts first")
	var h pitHead
	_, err = binary.Decode(good, binary.NativeEndian, &h)
	require.NoError(t, err)
	so := int(h.IndexOff + pitIndexBytes(h.N, h.Keys)) // the key strings' section
	heap := so + 8*int(h.Keys+1)
	require.Greater(t, int(pf.soff[2]), 0)
	for name, damage := range map[string]func([]byte){
		// the key of rank 1 (after "") starts with 0xff: it sorts after the key of rank 2
		"out_of_order": func(b []byte) { b[heap+int(pf.soff[1])] = 0xff },
		// the end offset passes the bytes
		"offset": func(b []byte) { binary.NativeEndian.PutUint64(b[so+8*int(h.Keys):], uint64(len(pf.sheap)+1)) },
	} {
		t.Run(name, func(t *testing.T) {
			bad := append([]byte(nil), good...)
			damage(bad)
			require.NoError(t, os.WriteFile(entries[0], bad, 0o644))
			req.Name = "sd_" + name
			ds, err := f.b.Build(f.ctx, req)
			require.NoError(t, err)
			require.Equal(t, "duckdb", ds.Join)
			require.Contains(t, ds.JoinNote, "unreadable")
			require.NoFileExists(t, entries[0])
			require.Equal(t, f.rows(t, "dev", "SELECT spine_row, f_double FROM datasets.sd_p ORDER BY spine_row"),
				f.rows(t, "dev", "SELECT spine_row, f_double FROM datasets.sd_"+name+" ORDER BY spine_row"))
		})
	}
}

// pairDefs: a view over clean.pairs keyed by two columns, an integer and a string.
var pairDefs = `entities:
  - name: user_shop
    join_keys: [{name: user_id, type: long}, {name: shop, type: string}]
feature_views:
  - name: pairs
    entities: [user_shop]
    source: {table: clean.pairs}
    event_time: event_ts
    created_time: created_ts
    ttl: 5d
    features: [{name: f_double, type: double}, {name: f_str, type: string}, {name: f_date, type: date}]
`

// pairShops are the shop keys: with user ids 1 and 12 they make tuples whose keys written one after the other
// are the same text ((1, "2x") and (12, "x")), which must stay different keys.
var pairShops = []string{"x", "2x", "", "é"}

// withShops returns rec with a shop column after its key (NULL now and then).
func withShops(t *testing.T, rng *rand.Rand, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	for i := range int(rec.NumRows()) {
		if i%41 == 40 {
			sb.AppendNull()
		} else {
			sb.Append(pairShops[rng.IntN(len(pairShops))])
		}
	}
	shops := sb.NewArray()
	defer shops.Release()
	fields := append([]arrow.Field{rec.Schema().Field(0), {Name: "shop", Type: arrow.BinaryTypes.String, Nullable: true}}, rec.Schema().Fields()[1:]...)
	cols := append([]arrow.Array{rec.Column(0), shops}, rec.Columns()[1:]...)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// TestCachedJoinCompositeKeysMatchDuckDB: a view keyed by an integer and a string joins from the cache with
// exactly DuckDB's rows: tuples whose keys, written one after the other, read the same stay different keys;
// a NULL in either key matches nothing.
func TestCachedJoinCompositeKeysMatchDuckDB(t *testing.T) {
	f, c := cacheFixture(t)
	rng := rand.New(rand.NewPCG(31, 3))
	id := lake.Ident{Zone: "clean", Name: "pairs"}
	for n, rows := range []int{1600, 900} {
		appendBatch(t, f, "dev", id, withShops(t, rng, typedBatch(t, rng, rows, 15, 0)), n == 0)
	}
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, pairDefs), "ann")
	require.NoError(t, err)
	var sb strings.Builder
	sb.WriteString("user_id,shop,event_timestamp\n")
	for i := range 3000 {
		user, shop := fmt.Sprint(rng.IntN(18)), pairShops[rng.IntN(len(pairShops))]
		switch i % 10 {
		case 3: // the tuples whose keys read the same one after the other
			user, shop = "1", "2x"
		case 4:
			user, shop = "12", "x"
		case 5:
			shop = "nope"
		}
		if shop == "" {
			shop = `""` // the empty string, not NULL
		}
		if i%37 == 36 {
			shop = ""
		}
		ts := time.Date(2023, 12, 30, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(24*24*60)) * time.Minute).Format("2006-01-02 15:04:05")
		fmt.Fprintf(&sb, "%s,%s,%s\n", user, shop, ts)
	}
	spine := f.file(t, "pairs.csv", sb.String())
	cached, plain, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: "pairs", Spine: spine, Features: []string{"pairs:*"}})
	require.Equal(t, "cache_filled", cached.Join, cached.JoinNote)
	require.Len(t, want, 3000)
	require.Equal(t, want, got)
	require.Equal(t, plain.Lineage.ColumnTypes, cached.Lineage.ColumnTypes)
	var oneTwoX, twelveX int
	_, err = fmt.Sscanf(f.rows(t, "dev", "SELECT count(*) FILTER (user_id = 1 AND shop = '2x' AND f_double IS NOT NULL), "+
		"count(*) FILTER (user_id = 12 AND shop = 'x' AND f_double IS NOT NULL) FROM datasets.pairs_c")[0], "%d,%d", &oneTwoX, &twelveX)
	require.NoError(t, err)
	require.Positive(t, oneTwoX+twelveX, "the look-alike tuples match rows")
	entries, err := c.List()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "user_id, shop", entries[0].Key)
}

// sqlViewDefs: views over clean.typed the DuckDB join reads through their rows' SQL: a parameterised SQL source
// and window aggregations.
var sqlViewDefs = `feature_views:
  - name: t_psql
    entities: [user]
    source:
      sql: SELECT * FROM clean.typed WHERE f_long > {{ min_long }} OR f_long IS NULL
      params: {min_long: {type: int, default: 0}}
    event_time: event_ts
    created_time: created_ts
    ttl: 4d
    features: [{name: f_double, type: double}, {name: f_str, type: string}, {name: f_bool, type: boolean}, {name: f_tstz, type: timestamptz}]
  - name: t_agg
    entities: [user]
    source: {table: clean.typed}
    event_time: event_ts
    created_time: created_ts
    ttl: 0
    features:
      - {name: f_double, type: double}
      - {name: i_sum_3d, type: long, aggregation: {function: sum, column: f_int, window: 3d}}
      - {name: d_min_2d, type: double, aggregation: {function: min, column: f_double, window: 2d}}
      - {name: n_1d, type: long, aggregation: {function: count, window: 1d}}
      - {name: b_distinct_5d, type: long, aggregation: {function: count_distinct, column: f_bool, window: 5d}}
      - {name: last_str_2d, type: string, aggregation: {function: last, column: f_str, window: 2d}}
`

// (Exact aggregations only: a window sum or mean of doubles may differ in its last bits from one DuckDB run to
// the next — the order it adds a window's rows in is not fixed — so two DuckDB builds may too.)

// TestCachedJoinSQLViewsMatchDuckDB: views read through their rows' SQL — a parameterised SQL source (two
// instances: two entries) and window aggregations — join from the cache with exactly DuckDB's rows, exact ties
// (rows equal in key, event and created time, other features) included: both keep the row whose features hash
// least, whichever features a build asks for.
func TestCachedJoinSQLViewsMatchDuckDB(t *testing.T) {
	f, c := cacheFixture(t)
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, typedDefs+strings.TrimPrefix(sqlViewDefs, "feature_views:\n")), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(4, 4)), 4000, 60))
	for _, tc := range []struct {
		name  string
		feats []string
	}{
		{"psql", []string{"t_psql:*"}},
		{"psql_some", []string{"t_psql:f_bool"}},
		{"psql7", []string{"t_psql(min_long=7):*"}},
		{"agg", []string{"t_agg:*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cached, plain, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: tc.name, Spine: spine, Features: tc.feats, FullNames: true})
			require.Contains(t, []string{"cache", "cache_filled"}, cached.Join, cached.JoinNote+cached.JoinReason)
			require.Len(t, want, 4000)
			require.Equal(t, want, got)
			require.Equal(t, plain.Lineage.ColumnTypes, cached.Lineage.ColumnTypes)
		})
	}
	entries, err := c.List()
	require.NoError(t, err)
	views := map[string]int{}
	for _, e := range entries {
		require.Empty(t, e.Problem)
		views[e.View]++
	}
	require.Equal(t, 1, views["t_agg"])
	require.Equal(t, 1, views["t_psql"], "the default instance: one entry, whichever features a build asks for")
	require.Len(t, views, 3, "%v: and the min_long=7 instance's", views)
}

// TestVolatileSQLIsNotCached: a view whose SQL calls a function whose value changes from run to run (now(),
// random(), ...) joins in DuckDB every time, saying why: an entry would keep its fill's values. Names inside
// literals, quoted identifiers and comments do not count.
func TestVolatileSQLIsNotCached(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT * FROM t WHERE ts > now() - INTERVAL 1 DAY": "now",
		"SELECT *, CURRENT_DATE AS d FROM t":                "CURRENT_DATE",
		"SELECT *, Random() AS r FROM t":                    "Random",
		"SELECT 'now()' AS x, \"random\" FROM t -- today":   "",
		"SELECT nowhere, uuids /* uuid() */ FROM t":         "",
		"SELECT * FROM t WHERE x = $$random$$":              "",
	} {
		require.Equal(t, want, volatileWord(sql), sql)
	}
	f, c := cacheFixture(t)
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, typedDefs+`  - name: t_now
    entities: [user]
    source: {sql: "SELECT * FROM clean.typed WHERE event_ts < now()"}
    event_time: event_ts
    features: [{name: f_double, type: double}]
`), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(8, 8)), 300, 60))
	for i := range 2 {
		d, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: fmt.Sprint("now", i), Spine: spine, Features: []string{"t_now:*"}})
		require.NoError(t, err)
		require.Equal(t, "duckdb", d.Join)
		require.Equal(t, "the SQL of view t_now uses now, whose value changes from run to run (a training-set cache entry would keep its fill's)", d.JoinReason)
	}
	entries, err := c.List()
	require.NoError(t, err)
	require.Empty(t, entries)
	warm, err := f.b.WarmCache(f.ctx, "dev", []string{"t_now:*"}, nil)
	require.NoError(t, err)
	require.Equal(t, "skipped", warm[0].State)
	require.Contains(t, warm[0].Reason, "uses now,")
}

// TestCachedJoinSQLViewFillEvicts: a SQL view's rows are not counted before they are read, so its fill makes
// room for its entry once its size is known: the least recently used entry goes, and the cache stays under
// datasets.cache_bytes.
func TestCachedJoinSQLViewFillEvicts(t *testing.T) {
	f, c := cacheFixture(t)
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, typedDefs+strings.TrimPrefix(sqlViewDefs, "feature_views:\n")), "ann")
	require.NoError(t, err)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(4, 4)), 300, 60))
	req := DatasetRequest{Env: "dev", Name: "e0", Spine: spine, Features: []string{"t_psql:*"}}
	_, err = f.b.Build(f.ctx, req)
	require.NoError(t, err)
	entries, err := c.List()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	size := entries[0].Bytes
	_, err = c.Clear()
	require.NoError(t, err)

	old := filepath.Join(c.Dir, "0000000000000000000000000000000000000000.pit")
	require.NoError(t, os.WriteFile(old, make([]byte, size+40200), 0o644))
	at := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(old, at, at))
	c.MaxBytes = 2*size + 40000 // the new entry fits (its estimate runs a few KB over), not both
	req.Name = "e1"
	d, err := f.b.Build(f.ctx, req)
	require.NoError(t, err)
	require.Equal(t, "cache_filled", d.Join, d.JoinReason)
	require.NoFileExists(t, old, "the least recently used entry made room")
	entries, err = c.List()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.LessOrEqual(t, entries[0].Bytes, c.MaxBytes)
}
