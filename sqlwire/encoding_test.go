//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// psqlODBC's Unicode driver under an ANSI application (R's RODBC) in the C locale asks for client_encoding
// SQL_ASCII. PostgreSQL accepts it and converts nothing, so UTF-8 text goes out byte for byte; other
// encodings stay refused (22023), since this server converts none.
func TestClientEncodingSQLASCII(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	cfg, err := pgconn.ParseConfig(f.url("dev"))
	require.NoError(t, err)
	cfg.RuntimeParams["client_encoding"] = "SQL_ASCII"
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	require.NoError(t, err, "the startup packet's SQL_ASCII is accepted")
	t.Cleanup(func() { _ = pc.Close(ctx) })
	require.Equal(t, "SQL_ASCII", pc.ParameterStatus("client_encoding"))

	res, err := pc.Exec(ctx, "SELECT name FROM raw.people WHERE id = 2; SHOW client_encoding").ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("Zoë ✓ 2")}, res[0].Rows[0], "UTF-8 bytes unchanged")
	require.Equal(t, "SQL_ASCII", string(res[1].Rows[0][0]))

	_, err = pc.Exec(ctx, "SET client_encoding = 'UTF8'; SET NAMES 'sql_ascii'").ReadAll()
	require.NoError(t, err)
	_, err = pc.Exec(ctx, "SET client_encoding = 'LATIN1'").ReadAll()
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "22023", pe.Code)
}
