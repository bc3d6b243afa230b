package move

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/meta"
)

// leaseTTL is how long a run's lease lasts without renewal; a run renews it every leaseTTL/3.
const leaseTTL = 2 * time.Minute

// acquireLease makes runID the one running run of job in env, or returns a Conflict error naming the run that
// holds the lease. A lease whose holder stopped renewing it (a killed process) is taken over once expired.
// The returned function stops renewing and releases the lease.
func acquireLease(ctx context.Context, db *meta.DB, job, env, runID string) (release func(), err error) {
	now := time.Now().UnixMilli()
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		var holder string
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT run_id, expires_ms FROM strata_move_leases WHERE job = $1 AND env = $2`,
			job, env).Scan(&holder, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO strata_move_leases (job, env, run_id, expires_ms) VALUES ($1, $2, $3, $4)`,
				job, env, runID, now+leaseTTL.Milliseconds())
			return err
		case err != nil:
			return err
		case expires > now:
			return errs.E(errs.Conflict, "job %s is already running in %s (run %s): wait for it to end (strata move show %s)",
				job, env, holder, holder)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE strata_move_runs SET status = $1, error = $2, finished_ms = $3
			WHERE id = $4 AND status = $5`, StatusFailed, abandoned(holder), now, holder, StatusRunning); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE strata_move_leases SET run_id = $1, expires_ms = $2 WHERE job = $3 AND env = $4`,
			runID, now+leaseTTL.Milliseconds(), job, env)
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

// abandoned is the error recorded for a run whose process stopped without recording its end.
func abandoned(id string) string {
	return fmt.Sprintf("the run stopped without recording its end (its process was killed?); if it committed a snapshot "+
		"(snapshot property %s = %s), its watermark was not saved", PropRun, id)
}
