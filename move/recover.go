//go:build duckdb_arrow

package move

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/move/files"
	"github.com/strata-data/strata/move/postgres"
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
	wm, hasWM := last.Summary[PropWatermark]
	return completeRun(ctx, d, spec, last.Summary[PropRun], wm, hasWM, func(run *RunRecord) {
		run.SnapshotID = last.ID
		run.RowsWritten = last.AddedRecords
		run.RowsRead = max(run.RowsRead, last.AddedRecords)
	})
}

// completeRun records run id of spec as succeeded, with the watermark wm its target committed, unless it is
// unknown, already recorded as succeeded, or the run whose watermark the metadata DB holds; set fills in what
// the target says the run wrote.
func completeRun(ctx context.Context, d Deps, spec *Spec, id, wm string, hasWM bool, set func(*RunRecord)) error {
	run, err := GetRun(ctx, d.DB, id)
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
	run.Status, run.Error = StatusSucceeded, ""
	set(run)
	if hasWM {
		run.WatermarkAfter = wm
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = time.Now().UTC()
	}
	return finishRun(ctx, d.DB, run, spec.Incremental != nil && hasWM && wm != "")
}

// recoverPostgresTarget is recoverCommitted for a postgres target: the run and watermark committed with the
// rows are in the target database's mark (postgres.MarkTable).
func recoverPostgresTarget(ctx context.Context, d Deps, spec *Spec, lookup func(string) (string, bool)) ([]string, error) {
	dsn, secrets, err := expandSecrets(spec.Target.DSN, spec.where("target", "dsn"), lookup)
	if err != nil {
		return secrets, err
	}
	m, ok, err := postgres.ReadMark(ctx, dsn, spec.Target.Table, spec.Name, d.Env)
	if err != nil || !ok {
		return secrets, err
	}
	return secrets, completeRun(ctx, d, spec, m.Run, m.Watermark, true, func(run *RunRecord) {
		run.RowsWritten = m.Rows
		run.RowsRead = max(run.RowsRead, m.Rows)
	})
}

// cleanFilesTarget removes from a files target the files of the job's earlier runs in this environment that did
// not succeed (a killed run leaves the files it completed; a failed one removed its own, unless that failed
// too), so that this run, reading from the job's recorded watermark again, replaces those rows instead of
// duplicating them.
func cleanFilesTarget(ctx context.Context, d Deps, spec *Spec, ps Params, lookup func(string) (string, bool)) error {
	runs, err := Runs(ctx, d.DB, spec.Name, 0)
	if err != nil {
		return err
	}
	var stale []string
	for _, r := range runs {
		if r.Env == d.Env && r.Status != StatusSucceeded && r.Target == targetName(spec) {
			stale = append(stale, r.ID)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	path, err := substitutePath(spec.Target.Path, ps)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, path, lookup)
	if err != nil {
		return err
	}
	for _, id := range stale {
		if _, err := files.RemoveRun(ctx, store, id); err != nil {
			return fmt.Errorf("remove the files of run %s, which did not succeed: %w", id, err)
		}
	}
	return nil
}
