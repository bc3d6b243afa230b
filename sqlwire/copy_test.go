//go:build duckdb_arrow

package sqlwire_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestCopyToStdout: COPY (query) and COPY zone.table TO STDOUT in text, CSV and binary, with PostgreSQL's
// escaping, NULLs, header, delimiter and NULL options, in both option syntaxes.
func TestCopyToStdout(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	const q = `(SELECT id, name, score, CASE WHEN id = 1 THEN 'a	b\c' || chr(10) || 'd,"e"' WHEN id = 2 THEN '' END AS note FROM raw.people ORDER BY id)`
	cases := []struct{ sql, want string }{
		{"COPY " + q + " TO STDOUT",
			"1\tZoë ✓ 1\t1.5\ta\\tb\\\\c\\nd,\"e\"\n2\tZoë ✓ 2\t\\N\t\n3\tZoë ✓ 3\t3.5\t\\N\n"},
		{"COPY " + q + " TO STDOUT WITH (FORMAT csv, HEADER)",
			"id,name,score,note\n1,Zoë ✓ 1,1.5,\"a\tb\\c\nd,\"\"e\"\"\"\n2,Zoë ✓ 2,,\"\"\n3,Zoë ✓ 3,3.5,\n"},
		{"COPY " + q + " TO STDOUT WITH CSV HEADER DELIMITER AS ';' NULL AS 'NULL'",
			"id;name;score;note\n1;Zoë ✓ 1;1.5;\"a\tb\\c\nd,\"\"e\"\"\"\n2;Zoë ✓ 2;NULL;\n3;Zoë ✓ 3;3.5;NULL\n"},
		{"COPY raw.people (id, score) TO STDOUT (FORMAT text, DELIMITER '|', NULL '')",
			"1|1.5\n2|\n3|3.5\n"},
		{"copy raw.people to stdout", "1\tZoë ✓ 1\t1.5\n2\tZoë ✓ 2\t\\N\n3\tZoë ✓ 3\t3.5\n"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		tag, err := c.PgConn().CopyTo(context.Background(), &buf, tc.sql)
		require.NoError(t, err, tc.sql)
		if tc.sql != "copy raw.people to stdout" { // a table has no row order
			require.Equal(t, tc.want, buf.String(), tc.sql)
		} else {
			require.ElementsMatch(t, bytes.SplitAfter([]byte(tc.want), []byte("\n")), bytes.SplitAfter(buf.Bytes(), []byte("\n")))
		}
		require.Equal(t, "COPY 3", tag.String())
	}

	var buf bytes.Buffer
	_, err := c.PgConn().CopyTo(context.Background(), &buf,
		"COPY (SELECT 7::INTEGER AS i, NULL::TEXT AS t, 'ü'::TEXT AS u) TO STDOUT (FORMAT binary)")
	require.NoError(t, err)
	want := []byte("PGCOPY\n\xff\r\n\x00")      // signature
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 0) // flags, header extension length
	want = binary.BigEndian.AppendUint16(want, 3)
	want = append(binary.BigEndian.AppendUint32(want, 4), 0, 0, 0, 7)
	want = binary.BigEndian.AppendUint32(want, 0xFFFFFFFF)
	want = append(binary.BigEndian.AppendUint32(want, 2), "ü"...)
	want = append(want, 0xFF, 0xFF)
	require.Equal(t, want, buf.Bytes())

	for sql, state := range map[string]string{
		"COPY raw.people TO '/tmp/strata-copy-out.csv'":         "42501",
		"COPY raw.people TO PROGRAM 'id'":                       "42501",
		"COPY raw.people FROM STDIN":                            "42501",
		"COPY raw.people TO STDOUT (FORMAT xml)":                "42601",
		"COPY raw.people TO STDOUT (FORMAT binary, HEADER)":     "42601",
		"COPY (SELECT * FROM raw.nope) TO STDOUT":               "42P01",
		"COPY (SELECT [[1], [2, 3]]) TO STDOUT (FORMAT binary)": "0A000",
	} {
		_, err := c.PgConn().CopyTo(context.Background(), &bytes.Buffer{}, sql)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
		require.Equal(t, state, pe.Code, "%s: %s", sql, pe.Message)
	}
	_, err = os.Stat("/tmp/strata-copy-out.csv")
	require.True(t, os.IsNotExist(err), "COPY TO a file wrote nothing")
}

// TestPsqlCopy: psql's \copy ... to a file, which it sends as COPY ... TO STDOUT.
func TestPsqlCopy(t *testing.T) {
	f := start(t)
	host, port, _ := net.SplitHostPort(f.addr)
	out := filepath.Join(t.TempDir(), "people.csv")
	cmd := exec.Command("/usr/bin/psql", "-X", "-h", host, "-p", port, "-U", "analyst", "-d", "prod",
		"-c", `\copy (SELECT id, name, score FROM raw.people ORDER BY id) to '`+out+`' with (format csv, header)`)
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=5", "PSQLRC=/dev/null")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, string(msg))
	require.Equal(t, "COPY 2\n", string(msg))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "id,name,score\n1,Zoë ✓ 1,1.5\n2,Zoë ✓ 2,\n", string(data))
}
