//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// TestFaultsLeakNothing repeats every fault a client can cause — leaving mid-result (rows, COPY, a WITH HOLD
// cursor), a cancel mid-stream, SQL errors, an unknown database — 10 times: afterwards the server holds no
// more goroutines than before, its heap has not grown with the repetitions, and it still answers.
func TestFaultsLeakNothing(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	round := func() {
		// Leave in the middle of a result, of a COPY, and with a WITH HOLD cursor open.
		for _, sql := range []string{
			"SELECT i, repeat('x', 100) FROM range(10000000) t(i)",
			"COPY (SELECT i, repeat('x', 100) FROM range(10000000) t(i)) TO STDOUT",
			"DECLARE held CURSOR WITH HOLD FOR SELECT i FROM range(10000000) t(i); FETCH 1000 FROM held",
		} {
			nc, err := net.Dial("tcp", f.addr)
			require.NoError(t, err)
			fe := pgproto3.NewFrontend(nc, nc)
			fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
				Parameters: map[string]string{"user": "x", "database": "dev"}})
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

		timer := time.AfterFunc(100*time.Millisecond, func() { _ = c.PgConn().CancelRequest(context.Background()) })
		rows, err := c.Query(ctx, "SELECT i FROM range(1000000000000) a(i)")
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
		}
		timer.Stop()
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%v", err)
		require.Equal(t, "57014", pe.Code)

		_, err = c.Exec(ctx, "SELECT * FROM raw.nope")
		require.Error(t, err)
		_, err = c.Exec(ctx, "SELECT 'x'::INTEGER")
		require.Error(t, err)
		_, err = pgx.Connect(ctx, f.url("nope"))
		require.Error(t, err)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	round() // warm: pools, caches and buffers that are kept by design
	round()
	require.Eventually(t, func() bool { return busy() <= 1 }, 10*time.Second, 20*time.Millisecond)
	before, goBefore := heap(), runtime.NumGoroutine()
	for range 10 {
		round()
	}
	require.Eventually(t, func() bool { return busy() <= 1 }, 10*time.Second, 20*time.Millisecond,
		"goroutines serving connections or running queries: %d", busy())
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goBefore+2 }, 10*time.Second, 20*time.Millisecond,
		"goroutines: %d before, %d after", goBefore, runtime.NumGoroutine())
	after := heap()
	t.Logf("heap in use: %d KiB before 10 rounds of faults, %d KiB after", before>>10, after>>10)
	require.Less(t, int64(after)-int64(before), int64(4<<20), "the heap does not grow with the faults")
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
	require.Equal(t, int64(3), n)
}

// TestCancelWithAWrongKeyIsIgnored: a CancelRequest naming a session's process id with a wrong secret key
// (anyone can guess pids) does not stop its query, as in PostgreSQL; the right key does (TestCancelRequest).
func TestCancelWithAWrongKeyIsIgnored(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	rows, err := c.Query(ctx, "SELECT i FROM range(2000000) t(i)")
	require.NoError(t, err)
	require.True(t, rows.Next())
	wrong := append([]byte{}, c.PgConn().SecretKey()...)
	wrong[0] ^= 0xff
	for _, key := range [][]byte{wrong, {}, nil} {
		nc, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		b, err := (&pgproto3.CancelRequest{ProcessID: c.PgConn().PID(), SecretKey: key}).Encode(nil)
		require.NoError(t, err)
		_, err = nc.Write(b)
		require.NoError(t, err)
		_, _ = io.ReadAll(nc) // the server closes it, answering nothing
		_ = nc.Close()
	}
	time.Sleep(200 * time.Millisecond)
	n := int64(1)
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Err(), "the query was not cancelled")
	require.Equal(t, int64(2000000), n)
}
