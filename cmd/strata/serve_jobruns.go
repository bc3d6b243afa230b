package main

import (
	"context"

	"github.com/strata-data/strata/move"
	"github.com/strata-data/strata/sqlwire"
)

// jobRunsShown is how many of the newest move runs (of every job and environment) strata.job_runs looks at.
const jobRunsShown = 1000

// jobRuns lists an environment's `strata move` runs, newest first, for the SQL endpoint's strata.job_runs.
func (a *app) jobRuns() sqlwire.JobRunLister {
	return sqlwire.JobRunsFunc(func(ctx context.Context, env string) ([]sqlwire.JobRun, error) {
		runs, err := move.Runs(ctx, a.db, "", jobRunsShown)
		if err != nil {
			return nil, err
		}
		var out []sqlwire.JobRun
		for _, r := range runs {
			if r.Env != env {
				continue
			}
			out = append(out, sqlwire.JobRun{ID: r.ID, Job: r.Job, Status: r.Status, Error: r.Error, Source: r.Source,
				Target: r.Target, Actor: r.Actor, RowsRead: r.RowsRead, RowsWritten: r.RowsWritten,
				RowsRejected: r.RowsRejected, Bytes: r.Bytes, SnapshotID: r.SnapshotID, Started: r.StartedAt, Finished: r.FinishedAt})
		}
		return out, nil
	})
}
