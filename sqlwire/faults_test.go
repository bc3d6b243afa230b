//go:build duckdb_arrow

package sqlwire_test

import (
	"errors"

	"bufio"
	"context"
	"encoding/binary"
	"github.com/jackc/pgx/v5/pgconn"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// TestDisconnectMidResultDoesNotLeak: a client that reads a few rows of a large result and vanishes leaves
// no goroutine (nor the query's database) behind, and the server keeps serving.
func TestDisconnectMidResultDoesNotLeak(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	warm := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	var n int64
	require.NoError(t, warm.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
	time.Sleep(100 * time.Millisecond) // let the engine refill its spare database
	baseline := busy()
	require.Equal(t, 1, baseline, "the warm connection")

	for range 3 {
		nc, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		fe := pgproto3.NewFrontend(nc, nc)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": "x", "database": "dev"}})
		fe.Send(&pgproto3.Query{String: "SELECT i, repeat('x', 100) FROM range(10000000) t(i)"})
		require.NoError(t, fe.Flush())
		rows := 0
		for rows < 1000 {
			msg, err := fe.Receive()
			require.NoError(t, err)
			if _, ok := msg.(*pgproto3.DataRow); ok {
				rows++
			}
		}
		require.NoError(t, nc.Close())
	}
	require.Eventually(t, func() bool { return busy() <= baseline }, 10*time.Second, 50*time.Millisecond,
		"goroutines serving connections or running queries: baseline %d, now %d", baseline, busy())
	require.NoError(t, warm.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
}

// busy counts the goroutines that serve a connection or run a query.
func busy() int {
	buf := make([]byte, 1<<22)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "sqlwire.(*conn)") || strings.Contains(g, "strata/engine.(*instance).watch") {
			n++
		}
	}
	return n
}

// TestMalformedStartupIsRefused sends broken startup packets; each connection is refused and the server
// keeps accepting.
func TestMalformedStartupIsRefused(t *testing.T) {
	f := start(t)
	packets := map[string][]byte{
		"length too small":     {0, 0, 0, 3},
		"length too large":     {0x7f, 0, 0, 0, 0, 3, 0, 0},
		"unknown code":         {0, 0, 0, 8, 0x12, 0x34, 0x56, 0x78},
		"unterminated params":  append([]byte{0, 0, 0, 13, 0, 3, 0, 0}, "user"...),
		"truncated then close": {0, 0, 0, 100, 0, 3},
	}
	for name, p := range packets {
		nc, err := net.Dial("tcp", f.addr)
		require.NoError(t, err, name)
		_, _ = nc.Write(p)
		if cw, ok := nc.(*net.TCPConn); ok {
			_ = cw.CloseWrite()
		}
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
		reply, err := io.ReadAll(nc)
		require.NoError(t, err, "%s: the server closes the connection", name)
		if len(reply) > 0 {
			require.Equal(t, byte('E'), reply[0], "%s: an ErrorResponse if anything", name)
		}
		_ = nc.Close()
	}
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	var one int
	require.NoError(t, c.QueryRow(context.Background(), "SELECT 1").Scan(&one))
}

// TestOversizedMessageIsRefused: a message header announcing more than the limit ends the connection with
// FATAL 54000 before the body is read.
func TestOversizedMessageIsRefused(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	nc := c.PgConn().Conn()
	hdr := []byte{'Q', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[1:], 1<<30)
	_, err := nc.Write(hdr)
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	fe := pgproto3.NewFrontend(bufio.NewReader(nc), nc)
	msg, err := fe.Receive()
	require.NoError(t, err)
	er, ok := msg.(*pgproto3.ErrorResponse)
	require.True(t, ok, "%T", msg)
	require.Equal(t, "54000", er.Code)
	require.Equal(t, "FATAL", er.Severity)
	_, err = fe.Receive()
	require.Error(t, err, "the connection is closed")

	other := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	var one int
	require.NoError(t, other.QueryRow(context.Background(), "SELECT 1").Scan(&one))
}

// TestCancelRequest: a CancelRequest (another connection with the session's key) stops a running aggregate
// and a result being streamed with 57014; the session goes on.
func TestCancelRequest(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	for _, sql := range []string{
		"SELECT count(*) FROM range(1000000000000) a(i) WHERE i % 7 = 3",
		"SELECT i FROM range(1000000000000) a(i)",
	} {
		timer := time.AfterFunc(500*time.Millisecond, func() { _ = c.PgConn().CancelRequest(context.Background()) })
		rows, err := c.Query(ctx, sql)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
		}
		timer.Stop()
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
		require.Equal(t, "57014", pe.Code, sql)
		var one int
		require.NoError(t, c.QueryRow(ctx, "SELECT 1").Scan(&one))
	}
}
