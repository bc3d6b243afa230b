//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/sqlwire"
)

type fakeFeatures map[string][]features.Def

func (f fakeFeatures) List(_ context.Context, env string) ([]features.Def, error) { return f[env], nil }

type fakeRuns struct {
	mu   sync.Mutex
	runs map[string][]sqlwire.JobRun
}

func (f *fakeRuns) JobRuns(_ context.Context, env string) ([]sqlwire.JobRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sqlwire.JobRun(nil), f.runs[env]...), nil
}

// TestStrataFeaturesAndJobRuns: the feature definitions and the movement job runs of the environment are
// queryable as strata.features and strata.job_runs (each environment its own; deleted definitions left out);
// a new run shows in the very next statement; the catalog lists both.
func TestStrataFeaturesAndJobRuns(t *testing.T) {
	created := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	defs := fakeFeatures{
		"dev": {
			{Env: "dev", Kind: "entity", Name: "user", Version: 1, Digest: "d1", File: "features/user.yaml", Actor: "ann", CreatedMs: created.UnixMilli()},
			{Env: "dev", Kind: "view", Name: "user_stats", Version: 3, Digest: "d3", File: "features/stats.yaml", Actor: "ann", CreatedMs: created.UnixMilli()},
			{Env: "dev", Kind: "view", Name: "gone", Version: 2, Deleted: true, CreatedMs: created.UnixMilli()},
		},
		"prod": {{Env: "prod", Kind: "view", Name: "user_stats", Version: 2, Digest: "d2", File: "features/stats.yaml", Actor: "ci", CreatedMs: created.UnixMilli()}},
	}
	runs := &fakeRuns{runs: map[string][]sqlwire.JobRun{"dev": {{ID: "r1", Job: "orders", Status: "failed", Source: "postgres",
		Target: "raw.orders", RowsRead: 10, Actor: "ann", Started: created, Finished: created.Add(2 * time.Second), Error: "boom"}}}}
	f := start(t, func(o *sqlwire.Options) { o.Features, o.JobRuns = defs, runs })
	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	prod := f.connect(t, "prod", pgx.QueryExecModeExec)
	const feats = "SELECT kind || ' ' || name || ' v' || version || ' ' || digest || ' ' || file || ' ' || actor || ' ' || " +
		"strftime(created, '%Y-%m-%d %H:%M') FROM strata.features ORDER BY kind, name"
	require.Equal(t, []string{"entity user v1 d1 features/user.yaml ann 2026-11-30 08:00", "view user_stats v3 d3 features/stats.yaml ann 2026-11-30 08:00"}, texts(t, dev, feats))
	require.Equal(t, []string{"view user_stats v2 d2 features/stats.yaml ci 2026-11-30 08:00"}, texts(t, prod, feats))

	const jobs = "SELECT run_id || ' ' || job || ' ' || status || ' ' || source || ' ' || target || ' ' || rows_read || ' ' || " +
		"rows_written || ' ' || coalesce(CAST(snapshot_id AS VARCHAR), 'none') || ' ' || " +
		"CAST(epoch(finished) - epoch(started) AS BIGINT) || 's ' || coalesce(error, '-') FROM strata.job_runs"
	require.Equal(t, []string{"r1 orders failed postgres raw.orders 10 0 none 2s boom"}, texts(t, dev, jobs))
	require.Empty(t, texts(t, prod, jobs))

	runs.mu.Lock()
	runs.runs["dev"] = append([]sqlwire.JobRun{{ID: "r2", Job: "orders", Status: "succeeded", Source: "postgres", Target: "raw.orders",
		RowsRead: 10, RowsWritten: 10, SnapshotID: 42, Actor: "ann", Started: created.Add(time.Hour), Finished: created.Add(time.Hour + time.Second)}},
		runs.runs["dev"]...)
	runs.mu.Unlock()
	require.Equal(t, []string{"r2 orders succeeded postgres raw.orders 10 10 42 1s -", "r1 orders failed postgres raw.orders 10 0 none 2s boom"},
		texts(t, dev, jobs+" ORDER BY started DESC"), "a new run shows in the next statement")
	require.Equal(t, []string{"features", "job_runs"}, texts(t, dev,
		"SELECT table_name FROM information_schema.tables WHERE table_schema = 'strata' AND table_name IN ('features', 'job_runs') ORDER BY 1"))
}
