//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"net"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestPgjdbcPreparedParameters runs pgjdbc's prepared statements with parameters (setInt, setLong,
// setString, setBigDecimal, setTimestamp, setDate, setBoolean, setDouble, setNull, setObject of java.time
// values, UUID, interval, setBytes, setArray), each more often than its prepareThreshold so that named
// statements with binary results run too, and a batch of INSERTs, through tests/java/PgjdbcPrepared.java.
func TestPgjdbcPreparedParameters(t *testing.T) {
	t.Parallel()
	jar := pgjdbcJar(t)
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	for _, sql := range []string{
		`CREATE TABLE clean.typed AS SELECT * FROM (VALUES
			(1::BIGINT, 'Zoë ✓ 日本', 12.345::DECIMAL(10,3), 1.5::DOUBLE, TIMESTAMPTZ '2026-07-01 12:00:00.25+00', DATE '2026-01-02', TRUE),
			(2, NULL, NULL, NULL, NULL, NULL, NULL)) t(id, name, amount, score, at_tz, day, flag)`,
		"CREATE TABLE clean.big AS SELECT i AS id FROM range(100000) t(i)",
	} {
		_, err := c.Exec(context.Background(), sql)
		require.NoError(t, err)
	}
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	cmd := exec.Command("java", "-cp", jar, "../tests/java/PgjdbcPrepared.java",
		"jdbc:postgresql://"+host+":"+port+"/dev?user=analyst&sslmode=disable")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, `typed 0 [Zoë ✓ 日本 12.345 2026-07-01T12:00:00.250Z]
typed 6 [Zoë ✓ 日本 12.345 2026-07-01T12:00:00.250Z]
nulls 0 [null, null, 0.0/true, null, null, false/true]
nulls 6 [null, null, 0.0/true, null, null, false/true]
exprs 0 42 it's! 0.9375 1999-12-31 23:59:59.123456 2026-02-28 true 2026-07-01T06:30:00Z
exprs 6 54 it's! 0.9375 1999-12-31 23:59:59.123456 2026-02-28 true 2026-07-01T06:30:00Z
more 0 8 3.0 0001ff 6ba7b810-9dad-11d1-80b4-00c04fd430c8 10:11:12 [1, null, 3] [a b, x"y, ] 2026-01-02T03:04:05.500 1 day 02:00:00
more 6 8 3.0 0001ff 6ba7b810-9dad-11d1-80b4-00c04fd430c8 10:11:12 [1, null, 3] [a b, x"y, ] 2026-01-02T03:04:05.500 1 day 02:00:00
loop sum 450450
batch [1, 1, 1]
batched [0:zero, 1:row 1, 2:row 2, 3:row 3]
`, string(out))
}
