package envs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
)

// TestEngineWritesFollowTheTablesCodec: with the engine writing the data files (as strata does), a table of
// full-precision doubles, which zstd shrinks by less than a tenth, is written uncompressed from its second write
// on, and a write of data that compresses well turns it back to zstd (lake's codec "auto", see lake/codec.go).
func TestEngineWritesFollowTheTablesCodec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng, db, lk := engineAndLake(t)
	svc := envs.New(db, lk, envs.Options{Files: eng})
	require.NoError(t, svc.Init(ctx))
	id := lake.Ident{Zone: "features", Name: "scores"}

	write := func(sql string) []string { // returns the codecs of the files this write added
		before := map[string]bool{}
		for _, f := range files(t, svc, ctx) {
			before[f] = true
		}
		src, err := eng.Query(ctx, sql, nil)
		require.NoError(t, err)
		defer src.Close()
		_, err = svc.Write(ctx, "dev", id, src, envs.WriteOptions{CreateIfMissing: true})
		require.NoError(t, err)
		var added []string
		for _, f := range files(t, svc, ctx) {
			if !before[f] {
				added = append(added, "'"+f+"'")
			}
		}
		require.NotEmpty(t, added)
		res, err := eng.Query(ctx, "SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata(["+strings.Join(added, ", ")+"])", nil)
		require.NoError(t, err)
		defer res.Close()
		require.True(t, res.Next())
		return []string{strings.Clone(res.RecordBatch().Column(0).ValueStr(0))}
	}
	const random = "SELECT random() * 1000 AS a, random() * 1000 AS b FROM range(200000)"
	require.Equal(t, []string{"ZSTD"}, write(random), "a new table starts with zstd")
	require.Equal(t, []string{"UNCOMPRESSED"}, write(random), "zstd saved less than a tenth: uncompressed")
	require.Equal(t, []string{"UNCOMPRESSED"}, write("SELECT CAST(i AS DOUBLE) AS a, CAST(2 * i AS DOUBLE) AS b FROM range(200000) t(i)"))
	require.Equal(t, []string{"ZSTD"}, write(random), "the last write compressed well: zstd again")
}

func files(t *testing.T, svc *envs.Service, ctx context.Context) []string {
	tables, err := svc.BindSQL(ctx, "dev", "SELECT * FROM features.scores")
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, tb := range tables {
		out = append(out, tb.Files...)
	}
	return out
}
