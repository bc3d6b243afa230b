package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	icecat "github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"
)

// TestDuckDBWritesRemoteTables: a table whose files live outside the local disk (here iceberg-go's in-memory
// object store, standing in for S3) is written by the engine's DuckDB too: it writes into a local scratch
// directory and the lake uploads the complete files through the table's FileIO. The data files are DuckDB's
// (their footer says so), carry the same rows as the lake's own writer's, and a write whose input fails
// leaves no file in the store and no snapshot.
func TestDuckDBWritesRemoteTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, eng := duckLake(t, 2)
	c, err := l.existingCatalog(ctx, "dev")
	require.NoError(t, err)
	bucket := fmt.Sprintf("mem://strata-%d", time.Now().UnixNano())

	const rowsSQL = `SELECT i AS id, 'c' || (i %% 7) AS category, CASE WHEN i %% 11 = 0 THEN NULL ELSE i * 1.5 END AS amount,
		DATE '2026-01-01' + (i %% 365)::INTEGER AS day, TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL (i) SECOND AS ts
		FROM range(%d, %d) t(i)`
	rows := func(from, to int) array.RecordReader {
		rdr, err := eng.Query(ctx, fmt.Sprintf(rowsSQL, from, to), nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = rdr.Close() })
		return rdr
	}
	got := map[string][]string{}
	for name, fw := range map[string]FileWriter{"duck": eng, "own": nil} {
		id := Ident{Zone: "raw", Name: name}
		sc, err := schemaFromArrow(stripped(rows(0, 1).Schema()))
		require.NoError(t, err)
		_, err = c.CreateTable(ctx, table.Identifier{id.Zone, id.Name}, sc,
			icecat.WithLocation(bucket+"/"+name), icecat.WithProperties(tableProperties()))
		require.NoError(t, err)
		res, err := l.Write(ctx, "dev", id, rows(0, 50_000), WriteOptions{Files: fw})
		require.NoError(t, err, name)
		require.EqualValues(t, 50_000, res.AddedRows)

		tbl, err := l.loadTable(ctx, c, id)
		require.NoError(t, err)
		fsys, err := tbl.FS(ctx)
		require.NoError(t, err)
		files := dataFiles(t, tbl)
		require.NotEmpty(t, files)
		for _, df := range files {
			require.True(t, strings.HasPrefix(df.FilePath(), bucket+"/"+name+"/data/"), df.FilePath())
			if name == "duck" {
				require.Contains(t, createdBy(t, fsys, df.FilePath()), "DuckDB", "written by DuckDB, not the fallback")
			}
		}
		got[name] = rowsOf(t, tbl)

		// A failed input: no snapshot, and the store holds the same files as before.
		before := storeFiles(t, fsys, bucket+"/"+name+"/data")
		_, err = l.Write(ctx, "dev", id, &brokenAfter{RecordReader: rows(100_000, 150_000), left: 5}, WriteOptions{Files: fw})
		require.ErrorContains(t, err, errBroken.Error())
		require.Equal(t, before, storeFiles(t, fsys, bucket+"/"+name+"/data"), name)
		info, err := l.Describe(ctx, "dev", id)
		require.NoError(t, err)
		require.Len(t, info.Snapshots, 1)
	}
	require.Len(t, got["duck"], 50_000)
	require.Equal(t, got["own"], got["duck"])
}

func createdBy(t *testing.T, fsys icebergio.IO, path string) string {
	t.Helper()
	f, err := fsys.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rd, err := file.NewParquetReader(f)
	require.NoError(t, err)
	defer rd.Close()
	return rd.MetaData().GetCreatedBy()
}

func storeFiles(t *testing.T, fsys icebergio.IO, dir string) []string {
	t.Helper()
	var out []string
	mem, ok := fsys.(*icebergio.MemFS)
	require.True(t, ok)
	require.NoError(t, mem.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, path)
		}
		return err
	}))
	return out
}

var errBroken = errors.New("source broke")

// brokenAfter ends with errBroken after left batches, like a source whose connection dropped.
type brokenAfter struct {
	array.RecordReader
	left int
}

func (b *brokenAfter) Next() bool {
	if b.left == 0 {
		return false
	}
	b.left--
	return b.RecordReader.Next()
}

func (b *brokenAfter) Err() error {
	if b.left == 0 {
		return errBroken
	}
	return b.RecordReader.Err()
}
