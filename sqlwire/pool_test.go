//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// Point queries reuse a pooled engine database per table snapshot; a write between two statements on one
// connection must still be visible to the second (the pool is keyed by the snapshot's files).
func TestPointQueryReuseSeesNewSnapshot(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeCacheStatement)
	count := func() int64 {
		var n int64
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people WHERE id >= $1", int64(0)).Scan(&n))
		return n
	}
	require.Equal(t, int64(3), count())
	require.Equal(t, int64(3), count()) // served by the pooled database
	rdr := people(7, 8)
	_, err := f.svc.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, rdr, envs.WriteOptions{Mode: envs.Append, Actor: "test"})
	rdr.Release()
	require.NoError(t, err)
	require.Equal(t, int64(5), count())
	var name string
	require.NoError(t, c.QueryRow(ctx, "SELECT name FROM raw.people WHERE id = $1", int64(8)).Scan(&name))
	require.Equal(t, "Zoë ✓ 8", name)
}
