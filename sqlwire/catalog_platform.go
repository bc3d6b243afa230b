package sqlwire

import (
	"context"
	"time"

	"github.com/strata-data/strata/features"
)

// The feature store and movement jobs in SQL, beside strata.tables and strata.datasets (catalog_strata.go):
//
//	strata.features   the environment's current feature definitions (entities, views, services)
//	strata.job_runs   the environment's `strata move` runs, newest first
//
// Both are empty when the server has no lister for them (Options.Features, Options.JobRuns).

// FeatureLister lists an environment's current feature definitions; *features.Registry is one.
type FeatureLister interface {
	List(ctx context.Context, env string) ([]features.Def, error)
}

// JobRun is one run of a movement job, as strata.job_runs shows it.
type JobRun struct {
	ID, Job, Status, Error, Source, Target, Actor string
	RowsRead, RowsWritten, RowsRejected, Bytes    int64
	SnapshotID                                    int64 // 0: none
	Started, Finished                             time.Time
}

// JobRunLister lists an environment's job runs, newest first.
type JobRunLister interface {
	JobRuns(ctx context.Context, env string) ([]JobRun, error)
}

// JobRunsFunc adapts a function to JobRunLister.
type JobRunsFunc func(ctx context.Context, env string) ([]JobRun, error)

// JobRuns calls f.
func (f JobRunsFunc) JobRuns(ctx context.Context, env string) ([]JobRun, error) { return f(ctx, env) }

func init() {
	strataTables = append(strataTables,
		strataTable{"features", "kind VARCHAR, name VARCHAR, version BIGINT, digest VARCHAR, file VARCHAR, actor VARCHAR, " +
			"created TIMESTAMPTZ", loadStrataFeatures},
		strataTable{"job_runs", "run_id VARCHAR, job VARCHAR, status VARCHAR, source VARCHAR, target VARCHAR, " +
			"rows_read BIGINT, rows_written BIGINT, rows_rejected BIGINT, bytes BIGINT, snapshot_id BIGINT, actor VARCHAR, " +
			"started TIMESTAMPTZ, finished TIMESTAMPTZ, error VARCHAR", loadStrataJobRuns},
	)
}

func loadStrataFeatures(ctx context.Context, c *conn) ([][]string, error) {
	if c.s.opts.Features == nil {
		return nil, nil
	}
	defs, err := c.s.opts.Features.List(ctx, c.env)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, d := range defs {
		if d.Deleted {
			continue
		}
		out = append(out, []string{string(d.Kind), d.Name, i64(d.Version), d.Digest, d.File, d.Actor,
			ts(time.UnixMilli(d.CreatedMs))})
	}
	return out, nil
}

func loadStrataJobRuns(ctx context.Context, c *conn) ([][]string, error) {
	if c.s.opts.JobRuns == nil {
		return nil, nil
	}
	runs, err := c.s.opts.JobRuns.JobRuns(ctx, c.env)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, r := range runs {
		msg := nullField
		if r.Error != "" {
			msg = r.Error
		}
		out = append(out, []string{r.ID, r.Job, r.Status, r.Source, r.Target, i64(r.RowsRead), i64(r.RowsWritten),
			i64(r.RowsRejected), i64(r.Bytes), idOrNull(r.SnapshotID), r.Actor, ts(r.Started), ts(r.Finished), msg})
	}
	return out, nil
}
