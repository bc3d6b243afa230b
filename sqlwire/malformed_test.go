//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// TestMalformedMessagesInSession sends broken messages after a good startup. A message that cannot be
// decoded ends that connection with FATAL 08P01 naming the problem (or, where the decoder reports only
// EOF, a plain close); one that decodes but is wrong (parameter counts, format codes, unknown portals) is
// an ERROR and the session answers its next query. Every other client is served throughout.
func TestMalformedMessagesInSession(t *testing.T) {
	f := start(t)
	other := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	msg := func(typ byte, body []byte) []byte {
		b := []byte{typ, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
		return append(b, body...)
	}
	enc := func(m pgproto3.FrontendMessage) []byte {
		b, err := m.Encode(nil)
		require.NoError(t, err)
		return b
	}
	startup := enc(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "x", "database": "dev"}})
	parse := enc(&pgproto3.Parse{Name: "s", Query: "SELECT $1::int"})
	then := append(enc(&pgproto3.Sync{}), enc(&pgproto3.Query{String: "SELECT 42"})...)
	cases := []struct {
		name string
		m    []byte
		want string // the error, "" for a silent close
		goOn bool   // the session answers SELECT 42 afterwards
	}{
		{"unknown message type", msg('!', []byte("x")), "FATAL 08P01 invalid frontend message: unknown message type: !", false},
		{"length below 4", []byte{'Q', 0, 0, 0, 2}, "FATAL 08P01 invalid frontend message: invalid message length", false},
		{"query without NUL", msg('Q', []byte("SELECT 1")), "FATAL 08P01 invalid frontend message: Query body is invalid", false},
		{"bind with a negative length", append(parse, msg('B', []byte{0, 's', 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0, 0, 0})...),
			"FATAL 08P01 invalid frontend message: Bind body is invalid", false},
		{"parse without NUL", msg('P', []byte("sSELECT 1")), "", false},
		{"copy data outside COPY", msg('d', []byte("1\n")), "FATAL 08P01 unsupported protocol message", false},
		{"function call", msg('F', []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0}), "FATAL 08P01 unsupported protocol message", false},
		{"bind with too many parameters", append(parse, msg('B', []byte{0, 's', 0, 0, 0, 0, 2, 0, 0, 0, 1, '1', 0, 0, 0, 1, '2', 0, 0})...),
			"ERROR 08P01 bind message supplies 2 parameters, but prepared statement \"s\" requires 1", true},
		{"bind with format code 7", append(parse, msg('B', []byte{0, 's', 0, 0, 1, 0, 7, 0, 1, 0, 0, 0, 1, '1', 0, 0})...),
			"ERROR 22P02 parameter $1: unknown format code 7", true},
		{"execute of no portal", msg('E', []byte{'n', 'o', 0, 0, 0, 0, 0}), `ERROR 34000 portal "no" does not exist`, true},
		{"describe of no statement", msg('D', []byte{'S', 'n', 'o', 0}), `ERROR 26000 prepared statement "no" does not exist`, true},
	}
	for _, tc := range cases {
		nc, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		_, err = nc.Write(startup)
		require.NoError(t, err)
		require.NoError(t, readUntilReady(nc))
		_, _ = nc.Write(append(append([]byte{}, tc.m...), then...))
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		fe := pgproto3.NewFrontend(nc, io.Discard)
		var errs []string
		answered := false
		for {
			m, err := fe.Receive()
			if err != nil {
				var ne net.Error
				require.False(t, errors.As(err, &ne) && ne.Timeout(), "%s: the server answers or closes", tc.name)
				break
			}
			if e, ok := m.(*pgproto3.ErrorResponse); ok {
				errs = append(errs, e.Severity+" "+e.Code+" "+e.Message)
			}
			if d, ok := m.(*pgproto3.DataRow); ok && string(d.Values[0]) == "42" {
				answered = true
			}
			if _, ok := m.(*pgproto3.ReadyForQuery); ok && answered {
				break
			}
		}
		_ = nc.Close()
		if tc.want == "" {
			require.Empty(t, errs, tc.name)
		} else {
			require.Len(t, errs, 1, "%s: %q", tc.name, errs)
			require.True(t, strings.HasPrefix(errs[0], tc.want), "%s: %q", tc.name, errs[0])
		}
		require.Equal(t, tc.goOn, answered, "%s: the session goes on", tc.name)
		var n int64
		require.NoError(t, other.QueryRow(context.Background(), "SELECT count(*) FROM raw.people").Scan(&n), tc.name)
		require.Equal(t, int64(3), n)
	}
}
