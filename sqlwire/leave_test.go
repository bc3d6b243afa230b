//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// TestClientLeavesDuringCompute: a client that sends an aggregate that would run for minutes and closes
// its socket before any row is ready stops the query: DuckDB is interrupted, the goroutines return, and
// the server serves others meanwhile. Both protocols.
func TestClientLeavesDuringCompute(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	warm := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	var one int
	require.NoError(t, warm.QueryRow(ctx, "SELECT 1").Scan(&one))
	time.Sleep(100 * time.Millisecond)
	baseline := busy()

	const slow = "SELECT count(*) FROM range(1000000000000) a(i) WHERE hash(i) % 7 = 3"
	for _, extended := range []bool{false, true} {
		nc, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		fe := pgproto3.NewFrontend(nc, nc)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": "x", "database": "dev"}})
		require.NoError(t, fe.Flush())
		for { // up to ReadyForQuery
			msg, err := fe.Receive()
			require.NoError(t, err)
			if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
		if extended {
			fe.Send(&pgproto3.Parse{Query: slow})
			fe.Send(&pgproto3.Bind{})
			fe.Send(&pgproto3.Execute{})
			fe.Send(&pgproto3.Sync{})
		} else {
			fe.Send(&pgproto3.Query{String: slow})
		}
		require.NoError(t, fe.Flush())
		require.Eventually(t, func() bool { return busy() > baseline+1 }, 5*time.Second, 10*time.Millisecond, "the query runs")
		time.Sleep(300 * time.Millisecond)
		require.NoError(t, nc.Close())
		require.Eventually(t, func() bool { return busy() <= baseline }, 15*time.Second, 20*time.Millisecond,
			"extended=%v: the query stopped when the client left: baseline %d, now %d", extended, baseline, busy())
		require.NoError(t, warm.QueryRow(ctx, "SELECT 1").Scan(&one))
	}
}

// TestManyIdleConnections: 500 idle sessions cost bounded memory and goroutines on the server, and a
// new client is still served at once, as is an idle one.
func TestManyIdleConnections(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	first := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goBefore := runtime.NumGoroutine()

	const n = 500
	startup := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "idle", "database": "dev"}})
	packet, err := startup.Encode(nil)
	require.NoError(t, err)
	for i := range n {
		nc, err := net.Dial("tcp", f.addr)
		require.NoError(t, err, "connection %d", i)
		t.Cleanup(func() { _ = nc.Close() })
		_, err = nc.Write(packet)
		require.NoError(t, err)
		require.NoError(t, readUntilReady(nc), "connection %d", i)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := (int64(after.HeapInuse) - int64(before.HeapInuse)) / n
	goroutines := runtime.NumGoroutine() - goBefore
	t.Logf("500 idle connections: %d bytes of heap and %.2f goroutines each", perConn, float64(goroutines)/n)
	require.Less(t, perConn, int64(32<<10), "heap per idle connection")
	require.LessOrEqual(t, goroutines, n+5, "one goroutine per idle connection")

	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	var count int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&count))
	require.Equal(t, int64(3), count)
	require.NoError(t, first.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&count), "an idle session is still served")
}

// readUntilReady reads server messages up to the first ReadyForQuery ('Z').
func readUntilReady(nc net.Conn) error {
	hdr := make([]byte, 5)
	for {
		if _, err := io.ReadFull(nc, hdr); err != nil {
			return err
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
		if _, err := io.ReadFull(nc, body); err != nil {
			return err
		}
		if hdr[0] == 'Z' {
			return nil
		}
	}
}
