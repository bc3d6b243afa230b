//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// FuzzFrontendMessages feeds arbitrary bytes to the server as a client's whole conversation (startup packet
// and messages, decoded by pgproto3 and answered by the session): the server must answer or close, never
// crash or hang, and keep serving others. Seeds are in testdata/fuzz/FuzzFrontendMessages.
func FuzzFrontendMessages(f *testing.F) {
	fx := start(f)
	f.Add([]byte{0, 0, 0, 8, 4, 210, 22, 47}) // SSLRequest
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := net.Dial("tcp", fx.addr)
		require.NoError(t, err)
		defer func() { _ = nc.Close() }()
		_, _ = nc.Write(data)
		_ = nc.(*net.TCPConn).CloseWrite()
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(20*time.Second)))
		_, err = io.Copy(io.Discard, nc)
		require.NoError(t, err, "the server answers and closes within the deadline")
	})
	c := fx.connect(f, "dev", pgx.QueryExecModeSimpleProtocol)
	var one int
	require.NoError(f, c.QueryRow(context.Background(), "SELECT 1").Scan(&one))
}
