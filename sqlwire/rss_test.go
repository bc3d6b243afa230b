//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// TestFaultsGiveMemoryBack measures the process's resident memory — the Go heap and DuckDB's C allocations of
// the queries' databases together — around clients that fault: each round has one client vanish in the middle
// of a result, one in the middle of a COPY, and one cancel its query mid-stream (CancelRequest) and go on, and
// then 500 connections sit idle at once and close. After the first 20 rounds every buffer the server keeps by
// design (pools, spare databases, allocator arenas) has reached its size, so 100 more rounds must not add
// more than 24 MiB (a leaked database or result would cost each faulting query a chunk of 2,048 rows and
// DuckDB's buffers: over 80 KiB each, 24 MiB for the 300 faults); the 500 idle connections, once closed, leave
// less than 16 MiB behind.
func TestFaultsGiveMemoryBack(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	round := func() {
		vanish(t, f.addr, "SELECT i, repeat('x', 100) FROM range(10000000) t(i)")
		vanish(t, f.addr, "COPY (SELECT i, repeat('x', 100) FROM range(10000000) t(i)) TO STDOUT")
		cancelMidStream(t, f.addr)
	}
	settled := func() int64 {
		require.Eventually(t, func() bool { return busy() <= 1 }, 10*time.Second, 20*time.Millisecond,
			"goroutines serving connections or running queries: %d", busy())
		time.Sleep(200 * time.Millisecond) // the engine closes finished databases in the background
		return rss(t)
	}
	for range 20 {
		round()
	}
	warm := settled()
	for range 100 {
		round()
	}
	after := settled()
	t.Logf("resident memory: %d MiB after 20 rounds of faults, %d MiB after 100 more", warm>>20, after>>20)
	require.Less(t, after-warm, int64(24<<20), "resident memory grows with the faults")

	var idle []net.Conn
	for range 500 {
		nc, fe := startup(t, f.addr)
		untilReady(t, fe)
		idle = append(idle, nc)
	}
	held := rss(t)
	for _, nc := range idle {
		require.NoError(t, nc.Close())
	}
	closed := settled()
	t.Logf("resident memory: %d MiB with 500 idle connections, %d MiB once they closed", held>>20, closed>>20)
	require.Less(t, closed-after, int64(16<<20), "idle connections leave memory behind")
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
	require.Equal(t, int64(3), n)
}

// vanish sends sql, reads 1,000 rows (or COPY lines) of its answer and drops the connection.
func vanish(t *testing.T, addr, sql string) {
	t.Helper()
	nc, fe := startup(t, addr)
	fe.Send(&pgproto3.Query{String: sql})
	require.NoError(t, fe.Flush())
	for rows := 0; rows < 1000; {
		msg, err := fe.Receive()
		require.NoError(t, err)
		switch msg.(type) {
		case *pgproto3.DataRow, *pgproto3.CopyData:
			rows++
		}
	}
	require.NoError(t, nc.Close())
}

// cancelMidStream starts a result that never ends, cancels it once 1,000 rows came (CancelRequest with the
// session's key), reads to the 57014 error and ReadyForQuery, runs a query and closes the session cleanly.
func cancelMidStream(t *testing.T, addr string) {
	t.Helper()
	nc, fe := startup(t, addr)
	defer func() { _ = nc.Close() }()
	var key *pgproto3.BackendKeyData
	for {
		msg, err := fe.Receive()
		require.NoError(t, err)
		if k, ok := msg.(*pgproto3.BackendKeyData); ok {
			key = &pgproto3.BackendKeyData{ProcessID: k.ProcessID, SecretKey: k.SecretKey}
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	require.NotNil(t, key)
	fe.Send(&pgproto3.Query{String: "SELECT i FROM range(1000000000000) t(i)"})
	require.NoError(t, fe.Flush())
	code := ""
	for rows := 0; ; {
		msg, err := fe.Receive()
		require.NoError(t, err)
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if rows++; rows == 1000 {
				cc, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				cf := pgproto3.NewFrontend(cc, cc)
				cf.Send(&pgproto3.CancelRequest{ProcessID: key.ProcessID, SecretKey: key.SecretKey})
				require.NoError(t, cf.Flush())
				_, _ = cc.Read(make([]byte, 1)) // the server closes the cancel connection
				require.NoError(t, cc.Close())
			}
		case *pgproto3.ErrorResponse:
			code = m.Code
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	require.Equal(t, "57014", code)
	fe.Send(&pgproto3.Query{String: "SELECT 1"})
	fe.Send(&pgproto3.Terminate{})
	require.NoError(t, fe.Flush())
	untilReady(t, fe)
}

// startup connects and sends a startup packet for dev; the caller reads the answer.
func startup(t *testing.T, addr string) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "x", "database": "dev"}})
	require.NoError(t, fe.Flush())
	return nc, fe
}

// untilReady reads messages up to ReadyForQuery.
func untilReady(t *testing.T, fe *pgproto3.Frontend) {
	t.Helper()
	for {
		msg, err := fe.Receive()
		require.NoError(t, err)
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return
		}
	}
}

// rss is the process's resident memory after a garbage collection that returns the free heap to the system.
func rss(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	fields := strings.Fields(string(b))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}
