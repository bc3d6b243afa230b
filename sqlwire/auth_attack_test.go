//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
)

// TestAuthCannotBeWidenedFromSQL: an authenticated viewer cannot become someone else or reach another
// environment from inside its session: SET session_authorization / SET SESSION AUTHORIZATION / SET ROLE to
// another user are 42501 and change nothing (current_user, the catalog, the write gate); RESET and DISCARD
// ALL keep the authenticated user; three-part names and strata.at read only the session's environment.
func TestAuthCannotBeWidenedFromSQL(t *testing.T) {
	ctx := context.Background()
	f := startAuth(t, "127.0.0.1")
	require.NoError(t, f.users.AddUser(ctx, "ana", "ana-password", []auth.Grant{{Env: "*", Role: auth.Admin}}))
	require.NoError(t, f.users.AddUser(ctx, "vic", "vic-password", []auth.Grant{{Env: "prod", Role: auth.Viewer}}))
	vic, err := f.connect("vic", "vic-password", "prod")
	require.NoError(t, err)
	defer func() { _ = vic.Close(ctx) }()
	user := func() string {
		var u string
		require.NoError(t, vic.QueryRow(ctx, "SELECT current_user").Scan(&u))
		return u
	}
	require.Equal(t, "vic", user())
	for _, sql := range []string{
		"SET session_authorization = 'ana'",
		"SET SESSION AUTHORIZATION 'ana'",
		"SET SESSION AUTHORIZATION ana",
		"SET ROLE ana",
		"SET role = 'ana'",
	} {
		_, err := vic.Exec(ctx, sql)
		require.Equal(t, "42501", pgError(t, err).Code, sql)
		require.Equal(t, "vic", user(), sql)
	}
	for _, sql := range []string{"RESET session_authorization", "RESET ALL", "DISCARD ALL", "SET SESSION AUTHORIZATION DEFAULT", "RESET ROLE"} {
		_, _ = vic.Exec(ctx, sql)
		require.Equal(t, "vic", user(), sql)
	}
	require.Equal(t, []string{"prod"}, texts(t, vic, "SELECT datname FROM pg_catalog.pg_database ORDER BY 1"))
	_, err = vic.Exec(ctx, "CREATE TABLE raw.x AS SELECT 1 AS a")
	require.Error(t, err)

	// Reading dev from a prod session: a three-part name is DuckDB's catalog, not another environment.
	_, err = vic.Exec(ctx, "SELECT * FROM dev.raw.people")
	require.Error(t, err)
	_, err = vic.Exec(ctx, "SELECT * FROM strata.at('dev.raw.people', 1)")
	require.Equal(t, "22023", pgError(t, err).Code)

	// The same user, allowed to, may set its own name (psql's \c does not, but some pools do).
	_, err = vic.Exec(ctx, "SET session_authorization = 'vic'")
	require.NoError(t, err)
	_, err = pgx.Connect(ctx, "postgres://vic@"+f.addr+"/dev?sslmode=disable&password=vic-password")
	require.Equal(t, "42501", pgError(t, err).Code, "no role in dev")
}
