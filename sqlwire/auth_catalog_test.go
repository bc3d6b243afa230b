//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
)

// TestAuthCatalogShowsGrants: the catalog shows a user only the environments it may connect to (pg_database,
// psql's \l, the 3D000 message for an unknown database) and only itself among the users (pg_roles).
func TestAuthCatalogShowsGrants(t *testing.T) {
	ctx := context.Background()
	f := startAuth(t, "127.0.0.1")
	require.NoError(t, f.users.AddUser(ctx, "ana", "ana-password", []auth.Grant{{Env: "dev", Role: auth.Developer}}))
	require.NoError(t, f.users.AddUser(ctx, "vic", "vic-password", []auth.Grant{{Env: "prod", Role: auth.Viewer}}))
	require.NoError(t, f.users.AddUser(ctx, "all", "all-password", []auth.Grant{{Env: "*", Role: auth.Viewer}}))
	require.NoError(t, f.users.AddUser(ctx, "eve", "eve-password", []auth.Grant{{Env: "archive", Role: auth.Viewer}}))

	query := func(c *pgx.Conn, sql string) string {
		t.Helper()
		return rowsText(t, c, sql)
	}
	for _, tc := range []struct{ user, db, databases, roles string }{
		{"vic", "prod", "prod", "strata; vic"},
		{"ana", "dev", "dev", "ana; strata"},
		{"all", "dev", "dev; prod", "all; strata"},
	} {
		c, err := f.connect(tc.user, tc.user+"-password", tc.db)
		require.NoError(t, err, tc.user)
		require.Equal(t, tc.databases, query(c, "SELECT datname FROM pg_catalog.pg_database ORDER BY 1"), tc.user)
		require.Equal(t, tc.roles, query(c, "SELECT rolname FROM pg_catalog.pg_roles ORDER BY 1"), tc.user)
		require.Equal(t, tc.roles, query(c, "SELECT usename FROM pg_catalog.pg_user ORDER BY 1"), tc.user)
		require.NoError(t, c.Close(ctx))
	}

	missing := pgError(t, errOf(f.connect("vic", "vic-password", "nope")))
	require.Equal(t, "3D000", missing.Code)
	require.Equal(t, `database "nope" does not exist: the databases are Strata's environments (prod); connect to one of them, e.g. -d prod`,
		missing.Message, "dev is not vic's to know of")
	none := pgError(t, errOf(f.connect("eve", "eve-password", "nope")))
	require.Equal(t, "3D000", none.Code)
	require.Equal(t, `database "nope" does not exist: the databases are Strata's environments, and user "eve" has a role in none; `+
		`an admin gives one with: strata user grant eve --env ENV --role viewer`, none.Message)

	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	cmd := exec.Command("/usr/bin/psql", "-X", "-w", "-h", host, "-p", port, "-U", "vic", "-d", "prod", "-c", `\l`)
	cmd.Env = append(os.Environ(), "PGPASSWORD=vic-password", "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQLRC=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, `                                       List of databases
 Name | Owner  | Encoding | Collate | Ctype | ICU Locale | Locale Provider | Access privileges 
------+--------+----------+---------+-------+------------+-----------------+-------------------
 prod | strata | UTF8     | C       | C     |            | libc            | 
(1 row)

`, string(out))
}
