package move

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/meta"
)

// leaseTTL is how long a run's lease lasts without renewal; a run renews it every leaseTTL/3.
const leaseTTL = 2 * time.Minute

// acquireLease makes runID the one running run of job in env, or returns a Conflict error naming the run that
// holds the lease. A lease whose holder stopped renewing it (a killed process) is taken over once expired, or at
// once when its holder was a process of this host that no longer exists.
// The returned function stops renewing and releases the lease.
func acquireLease(ctx context.Context, db *meta.DB, job, env, runID string) (release func(), err error) {
	now := time.Now().UnixMilli()
	host, pid := thisHost(), int64(os.Getpid())
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		var holder, holderHost string
		var expires, holderPID int64
		err := tx.QueryRowContext(ctx, `SELECT run_id, expires_ms, host, pid FROM strata_move_leases WHERE job = $1 AND env = $2`,
			job, env).Scan(&holder, &expires, &holderHost, &holderPID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO strata_move_leases (job, env, run_id, expires_ms, host, pid)
				VALUES ($1, $2, $3, $4, $5, $6)`, job, env, runID, now+leaseTTL.Milliseconds(), host, pid)
			return err
		case err != nil:
			return err
		case expires > now && !deadHolder(holderHost, holderPID):
			return errs.E(errs.Conflict, "job %s is already running in %s (run %s): wait for it to end (strata move show %s)",
				job, env, holder, holder)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE strata_move_runs SET status = $1, error = $2, finished_ms = $3
			WHERE id = $4 AND status = $5`, StatusFailed, abandoned(holder), now, holder, StatusRunning); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE strata_move_leases SET run_id = $1, expires_ms = $2, host = $3, pid = $4
			WHERE job = $5 AND env = $6`, runID, now+leaseTTL.Milliseconds(), host, pid, job, env)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start job %s: %w", job, err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_, _ = db.SQL.ExecContext(context.WithoutCancel(ctx), `UPDATE strata_move_leases SET expires_ms = $1
					WHERE job = $2 AND env = $3 AND run_id = $4`, time.Now().Add(leaseTTL).UnixMilli(), job, env, runID)
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		_, _ = db.SQL.ExecContext(context.WithoutCancel(ctx), `DELETE FROM strata_move_leases WHERE job = $1 AND env = $2 AND run_id = $3`,
			job, env, runID)
	}, nil
}

// thisHost names this machine in leases; "" when it has no name (its leases then only expire).
func thisHost() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// deadHolder says whether a lease holder is known to be gone: a process of this host that no longer exists. A
// holder on another host, of an unknown host, or whose pid now names another live process is not (its lease
// expires instead).
func deadHolder(host string, pid int64) bool {
	if host == "" || pid <= 0 || host != thisHost() || pid == int64(os.Getpid()) {
		return false
	}
	return errors.Is(syscall.Kill(int(pid), 0), syscall.ESRCH)
}

// abandoned is the error recorded for a run whose process stopped without recording its end.
func abandoned(id string) string {
	return fmt.Sprintf("the run stopped without recording its end (its process was killed?); if it committed a snapshot "+
		"(snapshot property %s = %s), its watermark was not saved", PropRun, id)
}
