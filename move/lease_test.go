package move

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// TestLeaseOfADeadProcess: a lease held by a process of this host that no longer exists is taken over at once;
// one held by a live process, or by a process of another host, still blocks until it expires.
func TestLeaseOfADeadProcess(t *testing.T) {
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	defer db.Close()
	hold := func(job, host string, pid int) {
		_, err := db.SQL.ExecContext(ctx, `INSERT INTO strata_move_leases (job, env, run_id, expires_ms, host, pid)
			VALUES ($1, 'dev', 'old-'||$1, $2, $3, $4)`, job, time.Now().Add(time.Hour).UnixMilli(), host, pid)
		require.NoError(t, err)
	}

	gone := exec.Command("true")
	require.NoError(t, gone.Run()) // started and reaped: its pid names no process now
	hold("dead", thisHost(), gone.Process.Pid)
	release, err := acquireLease(ctx, db, "dead", "dev", "new")
	require.NoError(t, err, "the holder was killed: its lease is taken over without waiting for it to expire")
	release()

	alive := exec.Command("sleep", "60")
	require.NoError(t, alive.Start())
	t.Cleanup(func() { _ = alive.Process.Kill(); _ = alive.Wait() })
	hold("alive", thisHost(), alive.Process.Pid)
	_, err = acquireLease(ctx, db, "alive", "dev", "new")
	require.Equal(t, errs.Conflict, errs.KindOf(err), "a live holder keeps its lease: %v", err)

	hold("remote", "another-host.example", gone.Process.Pid)
	_, err = acquireLease(ctx, db, "remote", "dev", "new")
	require.Equal(t, errs.Conflict, errs.KindOf(err), "a holder on another host is not checked: its lease expires")
}
