//go:build duckdb_arrow

package sqlwire_test

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPsql runs the real psql client: its output must be exactly what PostgreSQL would print.
func TestPsql(t *testing.T) {
	f := start(t)
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	run := func(db string, args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/psql", append([]string{"-X", "-h", host, "-p", port, "-U", "analyst", "-d", db}, args...)...)
		cmd.Env = append(os.Environ(), "PGSSLMODE=prefer", "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQLRC=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("dev", "-c", "SELECT id, name, score, id > 1 AS big FROM raw.people ORDER BY id")
	require.NoError(t, err, out)
	require.Equal(t, ` id |  name   | score | big 
----+---------+-------+-----
  1 | Zoë ✓ 1 |   1.5 | f
  2 | Zoë ✓ 2 |       | t
  3 | Zoë ✓ 3 |   3.5 | t
(3 rows)

`, out)

	out, err = run("prod", "-A", "-t", "-c", "SELECT count(*) FROM raw.people", "-c", "SHOW server_version")
	require.NoError(t, err, out)
	require.Equal(t, "2\n15.0 (Strata)\n", out)

	out, err = run("prod", "-c", "SELECT * FROM raw.missing")
	require.Error(t, err)
	require.Contains(t, out, "ERROR:  ")
	require.Contains(t, out, "missing")

	out, err = run("nope", "-c", "SELECT 1")
	require.Error(t, err)
	require.Contains(t, out, `FATAL:  database "nope" does not exist`)
}
