package lake_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
)

// backends runs fn once per metadata database flavour, in parallel: every run has its own database and warehouse.
func backends(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.DSN(t))
		})
	}
}

var ctx = context.Background()

func write(t *testing.T, l *lake.Lake, env string, id lake.Ident, first, n int64, opts lake.WriteOptions) *lake.WriteResult {
	t.Helper()
	rdr := laketest.Rows(first, n, 1000)
	defer rdr.Release()
	res, err := l.Write(ctx, env, id, rdr, opts)
	require.NoError(t, err)
	return res
}

// countRows reads the row count of every Parquet file from its footer; the files must exist.
func countRows(t *testing.T, files []string) int64 {
	t.Helper()
	var n int64
	for _, f := range files {
		r, err := file.OpenParquetFile(f, false)
		require.NoError(t, err, "data file %s must be readable", f)
		n += r.NumRows()
		require.NoError(t, r.Close())
	}
	return n
}

// parquetFiles lists the Parquet files below dir.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".parquet") {
			out = append(out, path)
		}
		return err
	})
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return out
}

func TestWriteDescribePlan(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		props := map[string]string{"strata.source": "test"}

		var snaps []int64
		for i := range int64(3) {
			res := write(t, l, "dev", id, i*1000, 1000, lake.WriteOptions{CreateIfMissing: true, SnapshotProps: props})
			require.Equal(t, i == 0, res.Created)
			require.EqualValues(t, 1000, res.AddedRows)
			require.Equal(t, 1, res.AddedFiles)
			require.Positive(t, res.AddedBytes)
			snaps = append(snaps, res.SnapshotID)
			time.Sleep(5 * time.Millisecond) // distinct snapshot timestamps for time travel
		}

		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Equal(t, 2, info.FormatVersion)
		require.Equal(t, snaps[2], info.CurrentSnapshotID)
		require.Len(t, info.Snapshots, 3)
		for i, s := range info.Snapshots {
			require.Equal(t, snaps[i], s.ID)
			require.Equal(t, "append", s.Operation)
			require.EqualValues(t, 1000, s.AddedRecords)
			require.EqualValues(t, 1000*(i+1), s.TotalRecords)
			require.Equal(t, "test", s.Summary["strata.source"])
			if i > 0 {
				require.Equal(t, snaps[i-1], s.ParentID)
			}
		}
		require.Len(t, info.Columns, 12)
		require.Equal(t, lake.Column{FieldID: 1, Name: "id", Type: "long"}, info.Columns[0])
		require.Equal(t, "timestamptz", info.Columns[1].Type)
		require.Equal(t, "copy-on-write", info.Properties["write.delete.mode"])
		require.Equal(t, "zstd", info.Properties["write.parquet.compression-codec"])
		require.Equal(t, "true", info.Properties["write.metadata.delete-after-commit.enabled"])
		require.Equal(t, "false", info.Properties["gc.enabled"])
		require.Contains(t, info.Location, filepath.Join(l.Warehouse(), "dev", "raw", "events"))

		list, err := l.ListTables(ctx, "dev", "")
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, id, list[0].Ident)
		require.Equal(t, snaps[2], list[0].SnapshotID)
		require.EqualValues(t, 3000, list[0].Rows)
		require.EqualValues(t, 3, list[0].Files)
		require.Positive(t, list[0].Bytes)
		list, err = l.ListTables(ctx, "dev", "clean")
		require.NoError(t, err)
		require.Empty(t, list)

		// Time travel by id and by time.
		p, err := l.Plan(ctx, "dev", id, lake.SnapshotRef{ID: snaps[0]})
		require.NoError(t, err)
		require.Equal(t, snaps[0], p.SnapshotID)
		require.Len(t, p.Files, 1)
		require.EqualValues(t, 1000, p.Rows)
		require.EqualValues(t, 1000, countRows(t, p.Files))
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{AsOf: info.Snapshots[1].Timestamp})
		require.NoError(t, err)
		require.Equal(t, snaps[1], p.SnapshotID)
		require.EqualValues(t, 2000, countRows(t, p.Files))
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Equal(t, snaps[2], p.SnapshotID)
		require.EqualValues(t, 3000, countRows(t, p.Files))
		require.Len(t, p.Columns, 12)
		_, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{AsOf: info.Snapshots[0].Timestamp.Add(-time.Hour)})
		require.ErrorIs(t, err, lake.ErrNotFound)
		_, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{ID: 42})
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorContains(t, err, "snapshot 42")

		// Overwrite replaces every row in one snapshot; the old snapshot still reads.
		res := write(t, l, "dev", id, 10_000, 500, lake.WriteOptions{Mode: lake.Overwrite})
		info, err = l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 4)
		last := info.Snapshots[3]
		require.Equal(t, res.SnapshotID, last.ID)
		require.Equal(t, "overwrite", last.Operation)
		require.EqualValues(t, 500, last.TotalRecords)
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Len(t, p.Files, 1)
		require.EqualValues(t, 500, countRows(t, p.Files))
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{ID: snaps[2]})
		require.NoError(t, err)
		require.EqualValues(t, 3000, countRows(t, p.Files))

		// An empty overwrite empties the table; an empty append commits nothing.
		res = write(t, l, "dev", id, 0, 0, lake.WriteOptions{Mode: lake.Overwrite})
		p, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.NoError(t, err)
		require.Equal(t, res.SnapshotID, p.SnapshotID)
		require.Empty(t, p.Files)
		res = write(t, l, "dev", id, 0, 0, lake.WriteOptions{})
		require.Equal(t, p.SnapshotID, res.SnapshotID)
		info, err = l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 5)
	})
}

func TestNotFoundAndInvalid(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, _ := laketest.New(t, dsn, "dev")
		id := lake.Ident{Zone: "raw", Name: "events"}
		rdr := laketest.Rows(0, 10, 10)
		defer rdr.Release()

		_, err := l.Describe(ctx, "nope", id)
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorContains(t, err, `environment "nope"`)
		require.ErrorContains(t, err, "dev")
		_, err = l.Describe(ctx, "dev", lake.Ident{Zone: "bronze", Name: "events"})
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorContains(t, err, `zone "bronze"`)
		require.ErrorContains(t, err, "raw, clean, features, datasets")
		_, err = l.Describe(ctx, "dev", id)
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorContains(t, err, `table "raw.events"`)
		_, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{})
		require.ErrorIs(t, err, lake.ErrNotFound)
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{})
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorContains(t, err, "CreateIfMissing")
		_, err = l.Write(ctx, "dev", lake.Ident{Zone: "bronze", Name: "x"}, rdr, lake.WriteOptions{CreateIfMissing: true})
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorIs(t, l.Drop(ctx, "dev", id), lake.ErrNotFound)
		_, err = l.ListTables(ctx, "dev", "bronze")
		require.ErrorIs(t, err, lake.ErrNotFound)
		_, err = l.Zones(ctx, "nope")
		require.ErrorIs(t, err, lake.ErrNotFound)
		require.ErrorIs(t, l.Clone(ctx, "dev", id, 0, "prod"), lake.ErrNotFound)

		for _, bad := range []string{"Raw.events", "raw.Events", "raw", "raw.", ".events", "1raw.events",
			"raw.ev-ents", "raw.ev ents", "raw.évents", "raw." + strings.Repeat("x", 129)} {
			_, err := lake.ParseIdent(bad)
			require.ErrorIs(t, err, lake.ErrInvalid, bad)
		}
		got, err := lake.ParseIdent("clean.orders_2026")
		require.NoError(t, err)
		require.Equal(t, lake.Ident{Zone: "clean", Name: "orders_2026"}, got)
		require.Equal(t, "clean.orders_2026", got.String())
		_, err = l.Describe(ctx, "dev", lake.Ident{Zone: "raw", Name: "Bad"})
		require.ErrorIs(t, err, lake.ErrInvalid)
		require.ErrorIs(t, l.EnsureEnv(ctx, "Prod"), lake.ErrInvalid)
		_, err = l.Write(ctx, "dev", id, rdr, lake.WriteOptions{Mode: "upsert"})
		require.ErrorIs(t, err, lake.ErrInvalid)
		_, err = l.Plan(ctx, "dev", id, lake.SnapshotRef{ID: 1, AsOf: time.Now()})
		require.ErrorIs(t, err, lake.ErrInvalid)
	})
}

func TestEnvsAndZones(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		l, db := laketest.New(t, dsn)
		envs, err := l.Envs(ctx)
		require.NoError(t, err)
		require.Empty(t, envs)
		require.NoError(t, l.EnsureEnv(ctx, "prod"))
		require.NoError(t, l.EnsureEnv(ctx, "dev"))
		require.NoError(t, l.EnsureEnv(ctx, "dev")) // idempotent
		envs, err = l.Envs(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"dev", "prod"}, envs)
		zones, err := l.Zones(ctx, "dev")
		require.NoError(t, err)
		require.Equal(t, lake.DefaultZones(), zones)

		// A second Lake (another process) on the same database sees the same environments.
		other := laketest.Open(t, db, l.Warehouse())
		envs, err = other.Envs(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"dev", "prod"}, envs)
	})
}

// extraBatch is rows of laketest.Schema plus one more column.
func extraBatch(first, n int64, name string, typ arrow.DataType, col arrow.Array) array.RecordReader {
	base := laketest.Batch(first, n)
	defer base.Release()
	fields := append(laketest.Schema.Fields(), arrow.Field{Name: name, Type: typ, Nullable: true})
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, append(base.Columns(), col), n)
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		panic(err)
	}
	return rdr
}
