package features

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// typedDefs: views over clean.typed, one per way a point-in-time lookup can be asked (TTL or none, created
// time or none), each as a table view (the cache can join it) and as a SQL view (always joined in DuckDB).
var typedDefs = strings.ReplaceAll(`entities:
  - name: user
    join_keys: [{name: user_id, type: long}]
  - name: small_user
    join_keys: [{name: user_id, type: int}]
feature_views:
  - name: t_ttl
    entities: [user]
    source: {table: clean.typed}
    event_time: event_ts
    created_time: created_ts
    ttl: 3d
    features: ALL
  - name: t_nottl
    entities: [user]
    source: {table: clean.typed}
    event_time: event_ts
    created_time: created_ts
    ttl: 0
    features: ALL
  - name: t_nocreated
    entities: [small_user]
    source: {table: clean.typed}
    event_time: event_ts
    ttl: 5d
    features: ALL
  - name: t_str
    entities: [user]
    source: {table: clean.typed}
    event_time: event_ts
    features: [{name: f_double, type: double}, {name: f_str, type: string}]
  - name: t_sql
    entities: [user]
    source: {sql: SELECT * FROM clean.typed}
    event_time: event_ts
    features: [{name: f_double, type: double}]
`, "ALL", "[{name: f_long, type: long}, {name: f_int, type: int}, {name: f_double, type: double}, {name: f_float, type: float}, "+
	"{name: f_bool, type: boolean}, {name: f_date, type: date}, {name: f_ts, type: timestamp}, {name: f_tstz, type: timestamptz}]")

// typedBatch makes n feature rows for keys 0..keys-1 (some NULL) over three weeks: times out of order, exact
// ties on (key, event time, created time) and ties broken by created time, NULL event and created times, and
// NULLs in every feature column.
func typedBatch(t *testing.T, rng *rand.Rand, n, keys, keyOffset int) arrow.RecordBatch {
	t.Helper()
	tz := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "event_ts", Type: tz, Nullable: true},
		{Name: "created_ts", Type: tz, Nullable: true},
		{Name: "f_long", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f_int", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f_double", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f_float", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f_bool", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "f_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "f_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "f_tstz", Type: tz, Nullable: true},
		{Name: "f_str", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var lastKey, lastEv, lastCr int64
	for i := range n {
		key, ev, cr := int64(keyOffset+rng.IntN(keys)), base+rng.Int64N(21*24*60)*60_000_000, base+rng.Int64N(1000)
		switch rng.IntN(10) {
		case 0: // an exact tie with the previous row
			key, ev, cr = lastKey, lastEv, lastCr
		case 1: // the same event time, another created time
			key, ev = lastKey, lastEv
		}
		lastKey, lastEv, lastCr = key, ev, cr
		null := func(p int) bool { return rng.IntN(p) == 0 }
		put := func(c int, isNull bool, app func()) {
			if isNull {
				b.Field(c).AppendNull()
			} else {
				app()
			}
		}
		put(0, i%97 == 96, func() { b.Field(0).(*array.Int64Builder).Append(key) })
		put(1, i%89 == 88, func() { b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ev)) })
		put(2, null(6), func() { b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(cr)) })
		put(3, null(5), func() { b.Field(3).(*array.Int64Builder).Append(rng.Int64() - 1<<62) })
		put(4, null(5), func() { b.Field(4).(*array.Int32Builder).Append(rng.Int32() - 1<<30) })
		put(5, null(5), func() { b.Field(5).(*array.Float64Builder).Append(rng.NormFloat64() * 1e6) })
		put(6, null(5), func() { b.Field(6).(*array.Float32Builder).Append(float32(rng.NormFloat64())) })
		put(7, null(5), func() { b.Field(7).(*array.BooleanBuilder).Append(rng.IntN(2) == 0) })
		put(8, null(5), func() { b.Field(8).(*array.Date32Builder).Append(arrow.Date32(19000 + rng.IntN(1000))) })
		put(9, null(5), func() { b.Field(9).(*array.TimestampBuilder).Append(arrow.Timestamp(base + rng.Int64N(1e12))) })
		put(10, null(5), func() { b.Field(10).(*array.TimestampBuilder).Append(arrow.Timestamp(base - rng.Int64N(1e12))) })
		put(11, null(5), func() { b.Field(11).(*array.StringBuilder).Append(fmt.Sprintf("s%d é", i)) })
	}
	return b.NewRecordBatch()
}

// typedSpineCSV: spine rows over the features' weeks and before them, keys without rows, duplicate rows, and
// rows with no key or no time.
func typedSpineCSV(rng *rand.Rand, n, keys int) string {
	var sb strings.Builder
	sb.WriteString("user_id,event_timestamp,label\n")
	prev := ""
	for i := range n {
		k := fmt.Sprint(rng.IntN(keys + keys/4))
		m := rng.IntN(24 * 24 * 60)
		ts := time.Date(2023, 12, 30, 0, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute).Format("2006-01-02 15:04:05")
		switch {
		case i%53 == 52:
			k = ""
		case i%47 == 46:
			ts = ""
		}
		line := fmt.Sprintf("%s,%s,%d\n", k, ts, i%3)
		if i%11 == 10 && prev != "" {
			line = prev
		}
		prev = line
		sb.WriteString(line)
	}
	return sb.String()
}

// cacheFixture is a fixture with clean.typed in two files, typedDefs applied, and a builder with a cache that
// holds every table and fills an entry at a snapshot's first build.
func cacheFixture(t *testing.T) (*fixture, *PITCache) {
	t.Helper()
	oldMin, oldAdmit := pitMinBytes, pitAdmitFirst
	pitMinBytes, pitAdmitFirst = 0, true
	t.Cleanup(func() { pitMinBytes, pitAdmitFirst = oldMin, oldAdmit })
	f := newFixture(t, testenv.SQLiteDSN(t))
	rng := rand.New(rand.NewPCG(7, 11))
	id := lake.Ident{Zone: "clean", Name: "typed"}
	for n, rows := range []int{1500, 900} {
		appendBatch(t, f, "dev", id, typedBatch(t, rng, rows, 60, 0), n == 0)
	}
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, typedDefs), "ann")
	require.NoError(t, err)
	c := &PITCache{Dir: filepath.Join(t.TempDir(), "cache"), MaxBytes: 1 << 30}
	f.b.Cache = c
	return f, c
}

// appendBatch appends rec (and releases it) to table id of env, creating the table when create; prod's writes
// are forced (staged until a release pins them).
func appendBatch(t *testing.T, f *fixture, env string, id lake.Ident, rec arrow.RecordBatch, create bool) {
	t.Helper()
	defer rec.Release()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	require.NoError(t, err)
	_, err = f.envs.Write(f.ctx, env, id, rdr, envs.WriteOptions{CreateIfMissing: create, Actor: "test", Mode: envs.Append, Force: env == "prod"})
	require.NoError(t, err)
}

// releasedProdTyped writes clean.typed to prod, publishes it (the returned release pins it), writes more rows
// to it (keys 1000 and up: staged, no release pins them) and applies typedDefs to prod.
func releasedProdTyped(t *testing.T, f *fixture) *envs.Release {
	t.Helper()
	id := lake.Ident{Zone: "clean", Name: "typed"}
	appendBatch(t, f, "prod", id, typedBatch(t, rand.New(rand.NewPCG(1, 1)), 1200, 60, 0), true)
	rel, err := f.envs.Publish(f.ctx, "prod", []lake.Ident{id}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	appendBatch(t, f, "prod", id, typedBatch(t, rand.New(rand.NewPCG(2, 2)), 600, 30, 1000), false) // staged
	_, err = f.b.Registry.Apply(f.ctx, "prod", mustParse(t, typedDefs), "ann")
	require.NoError(t, err)
	return rel
}

// buildBoth builds req with the fixture's cache and without one, and returns both datasets and their rows in
// spine order, every column.
func buildBoth(t *testing.T, f *fixture, req DatasetRequest) (cached, plain *Dataset, cachedRows, plainRows []string) {
	t.Helper()
	name := req.Name
	req.Name = name + "_c"
	cached, err := f.b.Build(f.ctx, req)
	require.NoError(t, err)
	nb := *f.b
	nb.Cache = nil
	req.Name = name + "_p"
	plain, err = nb.Build(f.ctx, req)
	require.NoError(t, err)
	require.Equal(t, "duckdb", plain.Join)
	cachedRows = f.rows(t, "dev", "SELECT * FROM datasets."+name+"_c ORDER BY spine_row")
	plainRows = f.rows(t, "dev", "SELECT * FROM datasets."+name+"_p ORDER BY spine_row")
	return cached, plain, cachedRows, plainRows
}

// TestCachedJoinMatchesDuckDB: a build joined from the training-set cache gives exactly the rows, columns
// and column types of the same build joined in DuckDB — for every fixed-width feature type, NULL features,
// keys and times, created-time ties and exact ties, with a TTL and without, without a created time, an int key,
// keys without rows, spine rows before every event, duplicate spine rows — and a second build reads the entry
// the first filled.
func TestCachedJoinMatchesDuckDB(t *testing.T) {
	f, c := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(3, 5)), 4000, 60))
	// t_nottl differs from t_ttl only in its TTL, which the match applies: it reads t_ttl's entry
	for _, tc := range []struct{ view, join string }{{"t_ttl", "cache_filled"}, {"t_nottl", "cache"}, {"t_nocreated", "cache_filled"}} {
		view := tc.view
		t.Run(view, func(t *testing.T) {
			cached, plain, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: view, Spine: spine, Features: []string{view + ":*"}})
			require.Equal(t, tc.join, cached.Join, cached.JoinNote)
			require.Len(t, want, 4000)
			require.Equal(t, want, got)
			require.Equal(t, plain.Lineage.ColumnTypes, cached.Lineage.ColumnTypes)
			require.Equal(t, plain.Lineage.Columns, cached.Lineage.Columns)
			require.Equal(t, plain.Lineage.Views, cached.Lineage.Views, "the lineage names the same inputs")
			matched := f.rows(t, "dev", "SELECT count(*) FILTER (f_double IS NOT NULL), count(*) FILTER (f_bool IS NOT NULL) FROM datasets."+view+"_c")
			require.NotEqual(t, "0,0", matched[0], "the spine matches rows")

			again, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: view + "_again", Spine: spine, Features: []string{view + ":f_double", view + ":f_bool", view + ":f_date"}})
			require.NoError(t, err)
			require.Equal(t, "cache", again.Join, "the entry the first build filled")
			require.Equal(t, f.rows(t, "dev", "SELECT spine_row, user_id, event_timestamp, label, f_double, f_bool, f_date FROM datasets."+view+"_p ORDER BY spine_row"),
				f.rows(t, "dev", "SELECT spine_row, user_id, event_timestamp, label, f_double, f_bool, f_date FROM datasets."+view+"_again ORDER BY spine_row"))
		})
	}
	entries, err := filepath.Glob(filepath.Join(c.Dir, "*.pit"))
	require.NoError(t, err)
	require.Len(t, entries, 2, "one entry per (snapshot, key, event and created time)")
}

// TestCachedJoinMultipleViewsSampleAndTableSpine: two views in one build (view__feature names), a sampled,
// stratified spine read from a lake table, and a built dataset as the spine: the cache's rows are DuckDB's.
func TestCachedJoinMultipleViewsSampleAndTableSpine(t *testing.T) {
	f, _ := cacheFixture(t)
	f.importCSV(t, "dev", "raw.typed_spine", typedSpineCSV(rand.New(rand.NewPCG(9, 9)), 3000, 60))
	seed := int64(7)
	req := DatasetRequest{Env: "dev", Name: "two", Spine: "raw.typed_spine", Features: []string{"t_ttl:f_long", "t_ttl:f_tstz", "t_nocreated:*"},
		FullNames: true, Sample: 0.5, Seed: &seed, Stratify: "label"}
	cached, _, got, want := buildBoth(t, f, req)
	require.Equal(t, "cache_filled", cached.Join)
	require.InDelta(t, 1500, len(want), 3, "half of each label's rows")
	require.Equal(t, want, got)

	cached, _, got, want = buildBoth(t, f, DatasetRequest{Env: "dev", Name: "respine", Spine: "datasets.two_c", Features: []string{"t_nottl:f_float"}})
	require.Equal(t, "cache", cached.Join, "t_ttl's entry")
	require.Equal(t, want, got)
}

// TestCachedJoinStringFeatures: string features (unicode, NULL, empty) join from the cache with DuckDB's rows
// and types; an entry holds the view's string features besides every fixed-width column, so every build of the
// view, whichever features it asks for, reads one entry.
func TestCachedJoinStringFeatures(t *testing.T) {
	f, c := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(1, 2)), 2000, 60))
	cached, plain, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: "str", Spine: spine, Features: []string{"t_str:*"}})
	require.Equal(t, "cache_filled", cached.Join, cached.JoinNote)
	require.Equal(t, want, got)
	require.Equal(t, plain.Lineage.ColumnTypes, cached.Lineage.ColumnTypes)
	require.Equal(t, "string", cached.Lineage.ColumnTypes["f_str"])
	var withStr, withoutStr int
	_, err := fmt.Sscanf(f.rows(t, "dev", "SELECT count(*) FILTER (f_str IS NOT NULL), count(*) FILTER (f_str IS NULL) FROM datasets.str_c")[0], "%d,%d", &withStr, &withoutStr)
	require.NoError(t, err)
	require.Positive(t, withStr, "strings matched")
	require.Positive(t, withoutStr, "NULLs and rows without a match")
	d, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "dbl", Spine: spine, Features: []string{"t_str:f_double"}})
	require.NoError(t, err)
	require.Equal(t, "cache", d.Join, "the same entry, without asking for the string feature")
	d, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "str2", Spine: spine, Features: []string{"t_str:f_str"}})
	require.NoError(t, err)
	require.Equal(t, "cache", d.Join, "the same entry")
	require.Equal(t, f.rows(t, "dev", "SELECT spine_row, f_str FROM datasets.str_p ORDER BY spine_row"),
		f.rows(t, "dev", "SELECT spine_row, f_str FROM datasets.str2 ORDER BY spine_row"))
	entries, err := c.List()
	require.NoError(t, err)
	require.Len(t, entries, 1)

	// string values' places outside the entry's strings: the entry is removed when a build reads one (its rows
	// are not written), never followed, and the build joins in DuckDB
	for _, e := range entries {
		path := e.File
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		pf, err := parsePIT(data)
		require.NoError(t, err)
		ci, ok := pf.colIdx["f_str"]
		if !ok {
			continue
		}
		for r := range pf.n {
			row := pitHeadLen + r*pf.rowWidth
			if binary.NativeEndian.Uint64(data[row+8*(ci/64):])&(1<<(ci%64)) == 0 {
				binary.NativeEndian.PutUint64(data[row+8*(pf.words+ci):], uint64(len(pf.heap))<<24|3)
			}
		}
		require.NoError(t, os.WriteFile(path, data, 0o644))
		d, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "str3", Spine: spine, Features: []string{"t_str:f_str"}})
		require.NoError(t, err)
		require.Equal(t, "duckdb", d.Join)
		require.Contains(t, d.JoinNote, "outside its strings")
		require.NoFileExists(t, path)
		require.Equal(t, f.rows(t, "dev", "SELECT spine_row, f_str FROM datasets.str_p ORDER BY spine_row"),
			f.rows(t, "dev", "SELECT spine_row, f_str FROM datasets.str3 ORDER BY spine_row"))
		return
	}
	t.Fatal("no entry holds f_str")
}

// TestPITHeapKeepsRepeatedValuesOnce: a column's repeated strings are stored once, NULLs take no room, and
// every value reads back.
func TestPITHeapKeepsRepeatedValuesOnce(t *testing.T) {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	vals := []string{"fr", "de", "", "fr", "日本", "de"}
	for i, v := range vals {
		if i == 2 {
			sb.AppendNull()
		} else {
			sb.Append(v)
		}
	}
	sb.Append("") // an empty string, not NULL
	col := sb.NewArray()
	defer col.Release()
	h := &pitHeap{}
	at, err := h.add(0, col)
	require.NoError(t, err)
	require.Equal(t, at[0], at[3])
	require.Equal(t, at[1], at[5])
	require.Equal(t, "frde日本", string(h.b))
	read := func(v int64) string { return string(h.b[v>>24 : v>>24+v&(1<<24-1)]) }
	for i, v := range vals {
		if i != 2 {
			require.Equal(t, v, read(at[i]))
		}
	}
	require.Equal(t, "", read(at[6]))
	again, err := h.add(1, col) // another column: its own repeats
	require.NoError(t, err)
	require.NotEqual(t, at[0], again[0])
	require.Equal(t, "frde日本frde日本", string(h.b))
}

// TestCachedJoinFallsBack: builds the cache cannot join go to DuckDB with the same rows and say so — a source
// that reads no table, a table below the size threshold, an entry that would not fit.
func TestCachedJoinFallsBack(t *testing.T) {
	f, c := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(1, 2)), 500, 60))
	_, err := f.b.Registry.Apply(f.ctx, "dev", mustParse(t, typedDefs+`  - name: t_const
    entities: [user]
    source: {sql: "SELECT 1::BIGINT AS user_id, TIMESTAMPTZ '2024-01-02 00:00:00+00' AS event_ts, 2.5::DOUBLE AS f_double"}
    event_time: event_ts
    features: [{name: f_double, type: double}]
`), "ann")
	require.NoError(t, err)
	d, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "sql", Spine: spine, Features: []string{"t_const:*", "t_ttl:f_long"}, FullNames: true})
	require.NoError(t, err)
	require.Equal(t, "duckdb", d.Join, "a source that reads no table is joined in DuckDB, and so is the whole build")
	require.Equal(t, "the SQL of view t_const reads no lake table (a training-set cache entry is named by the files of the tables it reads)", d.JoinReason)
	inst := &Instance{View: &View{Name: "by_day"}, Name: "by_day"}
	tables := []engine.Table{{Schema: "clean", Name: "typed"}}
	for typ, want := range map[string]string{"date": "join key day of view by_day is a date; the training-set cache holds integer and string keys",
		"decimal(10,2)": "join key day of view by_day is a decimal(10,2); the training-set cache holds integer and string keys"} {
		g, why := cachedGroup(inst, []JoinKey{{Name: "day", Type: typ}}, []string{"f"}, tables, "SELECT 1", "")
		require.Nil(t, g)
		require.Equal(t, want, why)
	}
	g, why := cachedGroup(inst, nil, []string{"f"}, tables, "SELECT 1", "")
	require.Nil(t, g)
	require.Equal(t, "view by_day has no join key (the training-set cache finds rows by key)", why)

	small := &PITCache{Dir: filepath.Join(t.TempDir(), "small"), MaxBytes: 64 << 10}
	f.b.Cache = small
	d, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "nofit", Spine: spine, Features: []string{"t_ttl:*"}})
	require.NoError(t, err)
	require.Equal(t, "duckdb", d.Join, "the entry would take more than half the cache")
	require.Contains(t, d.JoinReason, "would take more than half of datasets.cache_bytes (65536 bytes): raise it")
	left, _ := os.ReadDir(small.Dir)
	for _, e := range left {
		require.False(t, strings.HasSuffix(e.Name(), ".pit") || strings.HasPrefix(e.Name(), "tmp-"), e.Name())
	}

	f.b.Cache = c
	pitMinBytes = 1 << 40
	d, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "tiny", Spine: spine, Features: []string{"t_nottl:*"}})
	require.NoError(t, err)
	require.Equal(t, "duckdb", d.Join, "a small table is joined in DuckDB")
	require.Contains(t, d.JoinReason, "clean.typed: ")
	require.Contains(t, d.JoinReason, "MiB the training-set cache starts at")
}

// TestCachedJoinSecondBuildFills: without pitAdmitFirst, a snapshot's first build joins in DuckDB and leaves
// a mark, the second fills the entry, the third reads it.
func TestCachedJoinSecondBuildFills(t *testing.T) {
	f, _ := cacheFixture(t)
	pitAdmitFirst = false
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(1, 2)), 300, 60))
	var joins []string
	for i := range 3 {
		d, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: fmt.Sprint("b", i), Spine: spine, Features: []string{"t_ttl:*"}})
		require.NoError(t, err)
		joins = append(joins, d.Join)
		if i == 0 {
			require.Equal(t, "the first build of clean.typed's snapshot joins in DuckDB; the next one fills the training-set cache", d.JoinReason)
		} else {
			require.Empty(t, d.JoinReason)
		}
	}
	require.Equal(t, []string{"duckdb", "cache_filled", "cache"}, joins)
	require.Equal(t, f.rows(t, "dev", "SELECT * FROM datasets.b0 ORDER BY spine_row"), f.rows(t, "dev", "SELECT * FROM datasets.b2 ORDER BY spine_row"))
}

// TestCachedJoinNewSnapshotNewEntry: rows appended to the source table make a new snapshot, whose build fills a
// new entry and sees the new rows (an entry is never stale); prod, reading its release's pin, keeps reading the
// pinned snapshot's rows.
func TestCachedJoinNewSnapshotNewEntry(t *testing.T) {
	f, c := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(4, 4)), 800, 60))
	before, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "before", Spine: spine, Features: []string{"t_nottl:*"}})
	require.NoError(t, err)
	require.Equal(t, "cache_filled", before.Join)

	// the same keys at the latest times: most spine rows now match one of these
	appendBatch(t, f, "dev", lake.Ident{Zone: "clean", Name: "typed"}, typedBatch(t, rand.New(rand.NewPCG(5, 5)), 400, 60, 0), false)
	cached, _, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: "after", Spine: spine, Features: []string{"t_nottl:*"}})
	require.Equal(t, "cache_filled", cached.Join, "a new snapshot, a new entry")
	require.Equal(t, want, got)
	require.NotEqual(t, f.rows(t, "dev", "SELECT * EXCLUDE (label) FROM datasets.before ORDER BY spine_row"),
		f.rows(t, "dev", "SELECT * EXCLUDE (label) FROM datasets.after_c ORDER BY spine_row"), "the new rows are seen")
	entries, _ := filepath.Glob(filepath.Join(c.Dir, "*.pit"))
	require.Len(t, entries, 2)
}

// TestCachedJoinDamagedEntry: an entry cut short, or overwritten with garbage, is removed, the build joins in
// DuckDB with the same rows and says why, and the next build fills the entry again.
func TestCachedJoinDamagedEntry(t *testing.T) {
	f, c := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(6, 6)), 600, 60))
	req := DatasetRequest{Env: "dev", Name: "d", Spine: spine, Features: []string{"t_ttl:*"}}
	_, err := f.b.Build(f.ctx, req)
	require.NoError(t, err)
	want := f.rows(t, "dev", "SELECT * FROM datasets.d ORDER BY spine_row")
	entries, _ := filepath.Glob(filepath.Join(c.Dir, "*.pit"))
	require.Len(t, entries, 1)
	st, err := os.Stat(entries[0])
	require.NoError(t, err)
	// overwrite writes b into the entry at the offset at computes from its header.
	overwrite := func(path string, b []byte, at func(h pitHead) uint64) {
		fh, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		defer fh.Close()
		head := make([]byte, pitHeadLen)
		_, err = fh.ReadAt(head, 0)
		require.NoError(t, err)
		var h pitHead
		_, err = binary.Decode(head, binary.NativeEndian, &h)
		require.NoError(t, err)
		_, err = fh.WriteAt(b, int64(at(h)))
		require.NoError(t, err)
	}
	damage := []func(path string){
		func(path string) { require.NoError(t, os.Truncate(path, st.Size()-9)) },
		func(path string) { require.NoError(t, os.Truncate(path, 100)) },
		func(path string) { overwrite(path, []byte("garbage!garbage!"), func(pitHead) uint64 { return 0 }) },
		func(path string) { // an index naming a row past the end
			overwrite(path, []byte{0xff, 0xff, 0xff, 0x7f}, func(h pitHead) uint64 { return h.IndexOff + 8*h.N + 4*(h.N/2) })
		},
		func(path string) { // a key directory out of order
			overwrite(path, []byte{0, 0, 0, 0}, func(h pitHead) uint64 { return h.IndexOff + 8*h.N + pad8(4*h.N) + 8*h.Keys + 4*(h.Keys/2) })
		},
		func(path string) { // a header whose layout does not add up
			overwrite(path, []byte{0xff, 0xff, 0xff, 0x7f}, func(pitHead) uint64 { return 16 })
		},
	}
	for i, hurt := range damage {
		hurt(entries[0])
		d, err := f.b.Build(f.ctx, req)
		require.NoError(t, err, "damage %d", i)
		require.Equal(t, "duckdb", d.Join, "damage %d", i)
		require.Contains(t, d.JoinNote, "removed, a later build fills it again", "damage %d", i)
		require.Equal(t, want, f.rows(t, "dev", "SELECT * FROM datasets.d ORDER BY spine_row"), "damage %d", i)
		d, err = f.b.Build(f.ctx, req)
		require.NoError(t, err)
		require.Equal(t, "cache_filled", d.Join, "damage %d: filled again", i)
		require.Equal(t, want, f.rows(t, "dev", "SELECT * FROM datasets.d ORDER BY spine_row"))
	}
}

// TestPITCacheEvictsLeastRecentlyUsed: a fill that would pass MaxBytes removes the least recently used entries
// first (a read refreshes an entry), and crashed fills' temporary files once they are old.
func TestPITCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	c := &PITCache{Dir: dir, MaxBytes: 1000}
	old := time.Now().Add(-2 * time.Hour)
	write := func(name string, size int, at time.Time) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644))
		require.NoError(t, os.Chtimes(filepath.Join(dir, name), at, at))
	}
	write("a.pit", 300, old.Add(time.Minute))
	write("b.pit", 300, old)
	write("c.pit", 300, old.Add(2*time.Minute))
	write("tmp-crashed", 500, old)
	write("tmp-running", 500, time.Now())
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	write(fmt.Sprintf("tmp-%d-killedfill", dead.Process.Pid), 500, time.Now()) // its process is gone: removed at once
	write(fmt.Sprintf("tmp-%d-thisfill", os.Getpid()), 500, time.Now())
	write("x.seen", 0, time.Now().Add(-8*24*time.Hour))
	write("y.seen", 0, time.Now())
	c.evict(350)
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	require.Equal(t, []string{"a.pit", "c.pit", "tmp-" + fmt.Sprint(os.Getpid()) + "-thisfill", "tmp-running", "y.seen"}, left,
		"b was the least recently used; a fill may be writing tmp-running and this process's")
	c.evict(800)
	ents, _ = os.ReadDir(dir)
	require.Len(t, ents, 3, "both entries go for 800 bytes: %v", ents)
}

// TestCachedJoinConcurrentBuilds: builds of the same snapshot at once (one fills, the others wait for it or
// read it) all give DuckDB's rows.
func TestCachedJoinConcurrentBuilds(t *testing.T) {
	f, _ := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(8, 8)), 700, 60))
	nb := *f.b
	nb.Cache = nil
	_, err := nb.Build(f.ctx, DatasetRequest{Env: "dev", Name: "plain", Spine: spine, Features: []string{"t_ttl:*"}})
	require.NoError(t, err)
	want := f.rows(t, "dev", "SELECT * FROM datasets.plain ORDER BY spine_row")
	var wg sync.WaitGroup
	joins := make([]string, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: fmt.Sprint("c", i), Spine: spine, Features: []string{"t_ttl:*"}})
			errs[i] = err
			if err == nil {
				joins[i] = d.Join
			}
		}()
	}
	wg.Wait()
	filled := 0
	for i := range 4 {
		require.NoError(t, errs[i])
		require.Contains(t, []string{"cache", "cache_filled"}, joins[i])
		if joins[i] == "cache_filled" {
			filled++
		}
		require.Equal(t, want, f.rows(t, "dev", fmt.Sprintf("SELECT * FROM datasets.c%d ORDER BY spine_row", i)))
	}
	require.Equal(t, 1, filled, "one build fills, the others read")
}

// TestCachedJoinCancelledFill: a fill whose build is cancelled leaves no entry and no temporary file.
func TestCachedJoinCancelledFill(t *testing.T) {
	f, c := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(8, 8)), 100, 60))
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	_, err := f.b.Build(ctx, DatasetRequest{Env: "dev", Name: "x", Spine: spine, Features: []string{"t_ttl:*"}})
	require.Error(t, err)
	ents, _ := os.ReadDir(c.Dir)
	for _, e := range ents {
		require.False(t, strings.HasSuffix(e.Name(), ".pit") || strings.HasPrefix(e.Name(), "tmp-"), e.Name())
	}
}

// TestCachedJoinProdReadsReleasePins: in prod the cache joins the release's pinned snapshot — rows written
// to prod and not yet released (keys 1000 and up) are in no cached build — and a build of the staged snapshot
// (dev, which reads latest) does not read prod's entry.
func TestCachedJoinProdReadsReleasePins(t *testing.T) {
	f, c := cacheFixture(t)
	rel := releasedProdTyped(t, f)
	var spine strings.Builder
	spine.WriteString(typedSpineCSV(rand.New(rand.NewPCG(3, 3)), 600, 60))
	for i := range 200 {
		fmt.Fprintf(&spine, "%d,2024-01-25 00:00:00,%d\n", 1000+i%30, i%3)
	}
	sp := f.file(t, "spine.csv", spine.String())
	req := DatasetRequest{Env: "prod", Name: "p", Spine: sp, Features: []string{"t_nottl:*"}, Force: true}
	first, err := f.b.Build(f.ctx, req)
	require.NoError(t, err)
	require.Equal(t, "cache_filled", first.Join)
	require.Equal(t, []Input{{"clean.typed", rel.Pins[0].SnapshotID}}, first.Lineage.Views[0].Inputs)
	req.Name = "p2"
	second, err := f.b.Build(f.ctx, req)
	require.NoError(t, err)
	require.Equal(t, "cache", second.Join)
	nb := *f.b
	nb.Cache = nil
	req.Name = "p3"
	_, err = nb.Build(f.ctx, req)
	require.NoError(t, err)
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "datasets", Name: "p2"}, {Zone: "datasets", Name: "p3"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	got := f.rows(t, "prod", "SELECT * FROM datasets.p2 ORDER BY spine_row")
	require.Equal(t, f.rows(t, "prod", "SELECT * FROM datasets.p3 ORDER BY spine_row"), got)
	require.Equal(t, []string{"0"}, f.rows(t, "prod", "SELECT count(f_double) FROM datasets.p2 WHERE user_id >= 1000"), "the staged rows are not released")

	entries, _ := filepath.Glob(filepath.Join(c.Dir, "*.pit"))
	n := len(entries)
	devBuild, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "d", Spine: sp, Features: []string{"t_nottl:*"}})
	require.NoError(t, err)
	require.Equal(t, "cache_filled", devBuild.Join, "dev's snapshot is another entry")
	entries, _ = filepath.Glob(filepath.Join(c.Dir, "*.pit"))
	require.Len(t, entries, n+1)
}

// TestCachedJoinReaderReleasedEarly: a reader released after one batch (a write that failed, a client gone)
// stops its goroutines before it unmaps the entry, and leaks none.
func TestCachedJoinReaderReleasedEarly(t *testing.T) {
	f, _ := cacheFixture(t)
	spine := f.file(t, "spine.csv", typedSpineCSV(rand.New(rand.NewPCG(8, 9)), 20000, 60))
	req := DatasetRequest{Env: "dev", Name: "x", Spine: spine, SpineTime: "event_timestamp", Features: []string{"t_ttl:*"}}
	before := runtime.NumGoroutine()
	for range 5 {
		q, _, err := f.b.plan(f.ctx, req)
		require.NoError(t, err)
		require.NotNil(t, q.pit)
		rdr, _, err := f.b.cachedJoin(f.ctx, q.pit)
		require.NoError(t, err)
		require.NotNil(t, rdr)
		require.True(t, rdr.Next())
		require.EqualValues(t, 2048, rdr.RecordBatch().NumRows())
		rdr.Release()
		require.False(t, rdr.Next(), "a released reader is done")
		if q.digest != nil {
			_, _ = q.digest()
		}
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 5*time.Second, 20*time.Millisecond,
		"goroutines: %d before, %d after", before, runtime.NumGoroutine())
}

// TestCachedJoinEmptySpine: a spine without rows gives an empty dataset from the cache, with DuckDB's columns.
func TestCachedJoinEmptySpine(t *testing.T) {
	f, _ := cacheFixture(t)
	spine := f.file(t, "spine.csv", "user_id,event_timestamp,label\n")
	cached, plain, got, want := buildBoth(t, f, DatasetRequest{Env: "dev", Name: "empty", Spine: spine, Features: []string{"t_ttl:*"}})
	require.Equal(t, "cache_filled", cached.Join)
	require.Empty(t, want)
	require.Empty(t, got)
	require.Zero(t, cached.Rows)
	require.Equal(t, plain.Lineage.ColumnTypes, cached.Lineage.ColumnTypes)
}

// TestComparePITIgnoresNullCreated: rows equal in key and event time whose created times are both NULL are
// ordered by position, whatever their NULL slots hold (DuckDB leaves any value there); a NULL comes first.
func TestComparePITIgnoresNullCreated(t *testing.T) {
	a := pitSortEntry{k: 1, t: 10, c: 999, cSet: false, f: 0, p: 5}
	b := pitSortEntry{k: 1, t: 10, c: 1, cSet: false, f: 0, p: 7}
	require.Equal(t, -1, comparePIT(a, b), "by position")
	require.Equal(t, 1, comparePIT(b, a))
	set := pitSortEntry{k: 1, t: 10, c: -5, cSet: true, f: 0, p: 0}
	require.Equal(t, -1, comparePIT(a, set), "a NULL created time first")
	require.Equal(t, -1, comparePIT(set, pitSortEntry{k: 1, t: 10, c: -4, cSet: true}), "then by created time")
}

// TestWarmCacheProdReadsReleasePins: warming in prod fills the entry of the release's pinned snapshot (not the
// staged rows), ahead of the admission a build needs, so prod's first build reads it with the rows of a DuckDB
// build; a SQL view's rows are warmed too; warming again finds the entry; with the cache off, it says so.
func TestWarmCacheProdReadsReleasePins(t *testing.T) {
	f, c := cacheFixture(t)
	pitAdmitFirst = false
	rel := releasedProdTyped(t, f)

	warm, err := f.b.WarmCache(f.ctx, "prod", []string{"t_ttl:f_double", "t_sql:*"}, nil)
	require.NoError(t, err)
	require.Len(t, warm, 2)
	require.Equal(t, "filled", warm[1].State, "a SQL view's rows")
	require.Equal(t, "filled", warm[0].State, warm[0].Reason)
	require.Equal(t, rel.Pins[0].SnapshotID, warm[0].Snapshot)
	require.EqualValues(t, 1200-1200/89-1200/97, warm[0].Rows, "the pinned snapshot's rows with an event time and a key")

	var spine strings.Builder
	spine.WriteString(typedSpineCSV(rand.New(rand.NewPCG(3, 3)), 600, 60))
	for i := range 100 {
		fmt.Fprintf(&spine, "%d,2024-01-25 00:00:00,%d\n", 1000+i%30, i%3)
	}
	sp := f.file(t, "spine.csv", spine.String())
	refs := []string{"t_nottl:*", "t_sql:f_double"}
	first, err := f.b.Build(f.ctx, DatasetRequest{Env: "prod", Name: "p", Spine: sp, Features: refs, Force: true, FullNames: true})
	require.NoError(t, err)
	require.Equal(t, "cache", first.Join, "the first build reads the warmed entries, the table's and the SQL view's")
	nb := *f.b
	nb.Cache = nil
	_, err = nb.Build(f.ctx, DatasetRequest{Env: "prod", Name: "q", Spine: sp, Features: refs, Force: true, FullNames: true})
	require.NoError(t, err)
	_, err = f.envs.Publish(f.ctx, "prod", []lake.Ident{{Zone: "datasets", Name: "p"}, {Zone: "datasets", Name: "q"}}, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, f.rows(t, "prod", "SELECT * FROM datasets.q ORDER BY spine_row"), f.rows(t, "prod", "SELECT * FROM datasets.p ORDER BY spine_row"))
	require.Equal(t, []string{"0,0"}, f.rows(t, "prod", "SELECT count(t_nottl__f_double), count(t_sql__f_double) FROM datasets.p WHERE user_id >= 1000"),
		"the staged rows are not released: neither entry holds them")

	warm, err = f.b.WarmCache(f.ctx, "prod", []string{"t_ttl:f_double"}, nil)
	require.NoError(t, err)
	require.Equal(t, "present", warm[0].State)
	entries, err := c.List()
	require.NoError(t, err)
	require.Len(t, entries, 2, "clean.typed's rows, t_sql's rows")

	nb.Cache = &PITCache{Dir: c.Dir}
	_, err = nb.WarmCache(f.ctx, "prod", []string{"t_ttl:f_double"}, nil)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "datasets.cache_bytes")
}
