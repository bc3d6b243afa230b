//go:build duckdb_arrow

package move

import (
	"context"
	"errors"
	"time"

	"github.com/strata-data/strata/lake"
)

// PropEnv is the snapshot summary property naming the environment of the run that wrote the snapshot (a table
// cloned into another environment keeps the snapshots, and their properties, of the first one).
const PropEnv = "strata.move.env"

// recoverCommitted completes the record of a run of spec that committed a snapshot of target but was killed
// before recording its end, and moves the job's watermark to the one that snapshot carries. Without it, the
// next run would read from the older watermark in the metadata DB and load the committed rows again.
//
// Runs of a job in an environment are serialised by the lease, and a run's snapshot is committed only once its
// source is drained, with the watermark of exactly the rows it holds (PropWatermark); so the latest snapshot
// of the job is the newest watermark, and it is newer than the DB's when its run is not recorded as succeeded
// and did not store the DB's watermark.
func recoverCommitted(ctx context.Context, d Deps, spec *Spec, target lake.Ident) error {
	info, err := d.Envs.Lake().Describe(ctx, d.Env, target)
	if errors.Is(err, lake.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var last *lake.Snapshot
	for i := len(info.Snapshots) - 1; i >= 0 && last == nil; i-- {
		s := &info.Snapshots[i]
		if s.Summary[PropJob] == spec.Name && s.Summary[PropEnv] == d.Env && s.Summary[PropRun] != "" {
			last = s
		}
	}
	if last == nil {
		return nil
	}
	run, err := GetRun(ctx, d.DB, last.Summary[PropRun])
	if errors.Is(err, ErrNotFound) || (err == nil && run.Status == StatusSucceeded) {
		return nil
	}
	if err != nil {
		return err
	}
	_, wmRun, _, err := watermarkOf(ctx, d.DB, spec.Name, d.Env)
	if err != nil || wmRun == run.ID {
		return err
	}
	wm, hasWM := last.Summary[PropWatermark]
	run.Status, run.Error, run.SnapshotID = StatusSucceeded, "", last.ID
	run.RowsWritten = last.AddedRecords
	run.RowsRead = max(run.RowsRead, last.AddedRecords)
	if hasWM {
		run.WatermarkAfter = wm
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = time.Now().UTC()
	}
	return finishRun(ctx, d.DB, run, spec.Incremental != nil && hasWM && wm != "")
}
