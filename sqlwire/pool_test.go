//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"testing"
	"time"

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

// TestFinishedPortalGivesItsDatabaseBack: a result read to the end gives its engine database back to the pool at
// once, though the client keeps the portal open in its transaction and then leaves without ending it, as ADBC's
// driver does. Before, the database went back only when the portal closed, which at the session's end came after
// the session's statements were cancelled: the database counted as interrupted and was retired, and with it the
// in-memory copies of its tables (the next read was from Parquet, and copied them again).
func TestFinishedPortalGivesItsDatabaseBack(t *testing.T) {
	t.Parallel()
	f, eng := startCatalog(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeCacheStatement)
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
	require.Equal(t, int64(3), n)
	waitPooled(t, eng)
	pooled := eng.Pooled()

	tx, err := c.Begin(ctx)
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "SELECT id, name FROM raw.people ORDER BY id")
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var id int64
		var name string
		require.NoError(t, rows.Scan(&id, &name))
		names = append(names, name)
	}
	require.NoError(t, rows.Err())
	require.Len(t, names, 3)
	require.Equal(t, pooled, eng.Pooled(), "the database is back in the pool while the portal is still open")

	require.NoError(t, c.Close(ctx)) // Terminate, inside the transaction
	require.Never(t, func() bool { return eng.Pooled() < pooled }, 500*time.Millisecond, 10*time.Millisecond,
		"the session's end retired the database")
	// A finished portal executed again sends no rows and does not fail.
	c2 := f.connect(t, "dev", pgx.QueryExecModeCacheStatement)
	tx2, err := c2.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx2.Rollback(ctx) }()
	res := c2.PgConn().ExecParams(ctx, "SELECT name FROM raw.people", nil, nil, nil, nil).Read()
	require.NoError(t, res.Err)
	require.Len(t, res.Rows, 3)
}
