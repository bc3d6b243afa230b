package lake_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

// fourFiles writes rows 0-99, 100-199, 200-299 and 300-399 of laketest.Rows as four appends and returns the
// table's data files in that order and the head snapshot.
func fourFiles(t *testing.T, l *lake.Lake, id lake.Ident) ([]string, int64) {
	t.Helper()
	var files []string
	var head int64
	for i := range int64(4) {
		head = write(t, l, "dev", id, i*100, 100, lake.WriteOptions{CreateIfMissing: true}).SnapshotID
		p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		for _, f := range p.Files {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	require.Len(t, files, 4)
	return files, head
}

// keys is a reader of one batch: the columns given, by name.
func keys(t *testing.T, names []string, cols ...arrow.Array) array.RecordReader {
	t.Helper()
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: cols[i].DataType(), Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, cols, int64(cols[0].Len()))
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	return rdr
}

func int64s(vals ...any) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(int64(v.(int)))
		}
	}
	return b.NewArray()
}

func strs(vals ...string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func float64s(vals ...any) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(float64))
		}
	}
	return b.NewArray()
}

func timestamps(micros ...int64) arrow.Array {
	b := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	defer b.Release()
	for _, m := range micros {
		b.Append(arrow.Timestamp(m))
	}
	return b.NewArray()
}

// TestFilesMatching: the files whose bounds can hold a key are chosen, and only those; NULL keys match files
// with NULLs; columns the table lacks or whose bounds are not compared do not narrow the choice.
func TestFilesMatching(t *testing.T) {
	t.Parallel()
	l, _ := laketest.New(t, testenv.SQLiteDSN(t), "dev")
	id := lake.Ident{Zone: "raw", Name: "events"}
	files, head := fourFiles(t, l, id)
	epoch := int64(1767225600_000_000) // laketest's event_ts of id 0, in microseconds
	for _, c := range []struct {
		name  string
		names []string
		cols  []arrow.Array
		want  []int // indexes into files
	}{
		{"one range", []string{"id"}, []arrow.Array{int64s(150, 160)}, []int{1}},
		{"two ranges", []string{"id"}, []arrow.Array{int64s(350, 50)}, []int{0, 3}},
		{"bounds are inclusive", []string{"id"}, []arrow.Array{int64s(99, 300)}, []int{0, 3}},
		{"no file", []string{"id"}, []arrow.Array{int64s(1000, -1)}, nil},
		{"no keys", []string{"id"}, []arrow.Array{int64s()}, nil},
		{"timestamp", []string{"event_ts"}, []arrow.Array{timestamps(epoch + 250_000_000)}, []int{2}},
		{"string in every range", []string{"category"}, []arrow.Array{strs("games")}, []int{0, 1, 2, 3}},
		{"string in no range", []string{"category"}, []arrow.Array{strs("zebra")}, nil},
		{"composite", []string{"id", "country"}, []arrow.Array{int64s(250, 120), strs("FR", "AA")}, []int{1, 2}}, // columns are judged one by one
		{"NULL matches files with NULLs", []string{"id", "balance"}, []arrow.Array{int64s(120), float64s(nil)}, []int{1}},
		{"NULL id: no file has one", []string{"id"}, []arrow.Array{int64s(nil)}, nil},
		{"float does not narrow", []string{"amount"}, []arrow.Array{float64s(1e9)}, []int{0, 1, 2, 3}},
		{"unknown column does not narrow", []string{"id", "nope"}, []arrow.Array{int64s(5), strs("x")}, []int{0}},
	} {
		rdr := keys(t, c.names, c.cols...)
		got, err := l.FilesMatching(ctx, "dev", id, head, rdr)
		rdr.Release()
		require.NoError(t, err, c.name)
		var want []string
		for _, i := range c.want {
			want = append(want, files[i])
		}
		require.ElementsMatch(t, want, got, c.name)
	}
	_, err := l.FilesMatching(ctx, "dev", id, 42, keys(t, []string{"id"}, int64s(1)))
	require.ErrorIs(t, err, lake.ErrNotFound)
}

// TestReplaceKeepsOtherFiles: a Replace write commits one snapshot that deletes exactly the listed files and
// adds the new ones; every other file stays, by path. No files listed adds the rows; a file of another
// snapshot, or no BasedOn, is refused.
func TestReplaceKeepsOtherFiles(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		files, head := fourFiles(t, l, id)
		res := write(t, l, "dev", id, 1000, 10, lake.WriteOptions{Mode: lake.Replace, BasedOn: &head, Replace: files[1:2]})
		require.Equal(t, 1, res.AddedFiles)
		p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Equal(t, res.SnapshotID, p.SnapshotID)
		require.Len(t, p.Files, 4)
		require.Subset(t, p.Files, []string{files[0], files[2], files[3]}, "untouched files are kept")
		require.NotContains(t, p.Files, files[1])
		require.EqualValues(t, 310, p.Rows)
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		last := info.Snapshots[len(info.Snapshots)-1]
		require.Equal(t, "overwrite", last.Operation)
		require.Equal(t, "1", last.Summary["deleted-data-files"])
		require.Equal(t, "100", last.Summary["deleted-records"])

		head = res.SnapshotID
		res = write(t, l, "dev", id, 2000, 5, lake.WriteOptions{Mode: lake.Replace, BasedOn: &head, Replace: []string{}})
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Len(t, p.Files, 5)
		require.EqualValues(t, 315, p.Rows)

		head = res.SnapshotID
		rdr := laketest.Rows(0, 1, 1)
		defer rdr.Release()
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Replace, BasedOn: &head, Replace: files[1:2]})
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorContains(t, err, "is not a data file of the snapshot")
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Replace, Replace: files[:1]})
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorContains(t, err, "needs BasedOn")
		info, err = l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Equal(t, head, info.CurrentSnapshotID, "refused writes commit nothing")
		require.Len(t, parquetFiles(t, filepath.Join(l.Warehouse(), "dev")), 6, "and leave no file")
	})
}

// TestReplaceConflictsAndFailures: a Replace write commits nothing, and leaves no file, when another writer
// (another process) commits while it writes its files, when its base is stale from the start, and when its
// input fails.
func TestReplaceConflictsAndFailures(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, db := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		files, head := fourFiles(t, l, id)
		peer := laketest.Open(t, db, l.Warehouse())
		racing := false
		w, err := lake.Open(ctx, db, lake.Options{Warehouse: l.Warehouse(), Hook: func(p string) {
			if p == "write:files-written" && racing {
				racing = false
				write(t, peer, "dev", id, 150, 1, lake.WriteOptions{})
			}
		}})
		require.NoError(t, err)
		dataDir := filepath.Join(l.Warehouse(), "dev", "raw", "events", "data")
		for _, c := range []struct {
			name   string
			race   bool
			input  func(array.RecordReader) array.RecordReader
			wantIs error
		}{
			{"a concurrent append lands before the commit", true, nil, lake.ErrConflict},
			{"the base is stale", false, nil, lake.ErrConflict},
			{"the input fails", false, func(r array.RecordReader) array.RecordReader { return laketest.FailAfter(r, 2) }, laketest.ErrBroken},
		} {
			before, err := l.Describe(ctx, "dev", id)
			require.NoError(t, err)
			nfiles := len(parquetFiles(t, dataDir))
			racing = c.race
			var rdr array.RecordReader = laketest.Rows(5000, 3000, 1000)
			if c.input != nil {
				rdr = c.input(rdr)
				head = before.CurrentSnapshotID
			}
			_, err = w.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: lake.Replace, BasedOn: &head, Replace: files[:1]})
			rdr.Release()
			require.ErrorIs(t, err, c.wantIs, c.name)
			after, err := l.Describe(ctx, "dev", id)
			require.NoError(t, err)
			wantSnaps, wantFiles := len(before.Snapshots), nfiles
			if c.race {
				wantSnaps, wantFiles = wantSnaps+1, wantFiles+1 // the peer's append
			}
			require.Len(t, after.Snapshots, wantSnaps, c.name)
			require.Len(t, parquetFiles(t, dataDir), wantFiles, "%s: the write's files are removed", c.name)
			p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{})
			require.NoError(t, err)
			require.Contains(t, p.Files, files[0], c.name)
		}
	})
}
