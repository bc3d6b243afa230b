//go:build duckdb_arrow

package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// TestWriteParquetFollowsTheLakesCodec: the codec the lake names in the target schema's metadata
// (write.parquet.compression-codec) is the codec of every column chunk written; none named is zstd; a name
// that is no codec is refused before anything is written.
func TestWriteParquetFollowsTheLakesCodec(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	ctx := context.Background()
	for codec, want := range map[string]string{"": "ZSTD", "zstd": "ZSTD", "snappy": "SNAPPY", "uncompressed": "UNCOMPRESSED"} {
		sc := target
		if codec != "" {
			md := arrow.NewMetadata([]string{codecMetadataKey}, []string{codec})
			sc = arrow.NewSchema(target.Fields(), &md)
		}
		src, err := e.Query(ctx, "SELECT 'n' || i AS name, i AS id, i * 1.5 AS amount FROM range(3000) t(i)", nil)
		require.NoError(t, err)
		files, err := e.WriteParquet(ctx, src, t.TempDir(), sc)
		src.Close()
		require.NoError(t, err, codec)
		got := duck(t, "SELECT DISTINCT compression FROM parquet_metadata("+sqlStringList(files)+")")
		require.Equal(t, [][]string{{want}}, got, codec)
	}
	md := arrow.NewMetadata([]string{codecMetadataKey}, []string{"brotli"})
	src, err := e.Query(ctx, "SELECT 1 AS id", nil)
	require.NoError(t, err)
	defer src.Close()
	dir := t.TempDir()
	_, err = e.WriteParquet(ctx, src, dir, arrow.NewSchema(target.Fields(), &md))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, `codec "brotli"`)
}
