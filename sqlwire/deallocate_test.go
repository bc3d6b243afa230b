//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// psqlODBC prepares each query of a statement handle under one name (_PLAN0x…) and sends
// `DEALLOCATE "_PLAN0x…"` as a simple query in between; the second Parse must then succeed.
func TestDeallocateStatement(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	pc := f.connect(t, "dev", pgx.QueryExecModeExec).PgConn()
	sqlState := func(err error) string {
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%v", err)
		return pe.Code
	}
	exec := func(sql string) ([]*pgconn.Result, error) { return pc.Exec(ctx, sql).ReadAll() }

	_, err := pc.Prepare(ctx, "_PLAN0x1", "SELECT name FROM raw.people WHERE id = $1", nil)
	require.NoError(t, err)
	_, err = pc.Prepare(ctx, "_PLAN0x1", "SELECT count(*) FROM raw.people", nil)
	require.Equal(t, "42P05", sqlState(err), "a name in use is refused as in PostgreSQL")

	res, err := exec(`DEALLOCATE "_PLAN0x1"`)
	require.NoError(t, err)
	require.Equal(t, "DEALLOCATE", res[0].CommandTag.String())
	_, err = pc.Prepare(ctx, "_PLAN0x1", "SELECT count(*) FROM raw.people WHERE id > $1", nil)
	require.NoError(t, err)
	got := pc.ExecPrepared(ctx, "_PLAN0x1", [][]byte{[]byte("1")}, nil, nil).Read()
	require.NoError(t, got.Err)
	require.Equal(t, [][][]byte{{[]byte("2")}}, got.Rows)

	_, err = exec(`DEALLOCATE "_PLAN0x1"`)
	require.NoError(t, err)
	_, err = exec(`DEALLOCATE "_PLAN0x1"`)
	require.Equal(t, "26000", sqlState(err), "deallocating twice: the statement no longer exists")
	_, err = exec(`DEALLOCATE _plan0x1`)
	require.Equal(t, "26000", sqlState(err), "unquoted names fold to lower case")

	for _, name := range []string{"a", "b"} {
		_, err = pc.Prepare(ctx, name, "SELECT 1", nil)
		require.NoError(t, err)
	}
	res, err = exec("DEALLOCATE PREPARE ALL")
	require.NoError(t, err)
	require.Equal(t, "DEALLOCATE ALL", res[0].CommandTag.String())
	for _, name := range []string{"a", "b"} {
		require.Equal(t, "26000", sqlState(pc.ExecPrepared(ctx, name, nil, nil, nil).Read().Err))
	}
	_, err = exec("DEALLOCATE")
	require.Error(t, err, "a name is required")
}
