package move

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strata-data/strata/meta"
)

// Snapshot summary properties of a snapshot a move run committed. The watermark is written with the rows (it
// is computed once the source is drained), so a run killed after its commit but before recording its end
// loses nothing: the next run of the job takes the watermark from the snapshot (see recoverCommitted).
const (
	PropRun       = "strata.move.run"       // the run that wrote the snapshot
	PropJob       = "strata.move.job"       // its job
	PropWatermark = "strata.move.watermark" // the job's watermark after the run (incremental jobs)
)

// Run statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// RunRecord is one run of a job as the run history keeps it. Params hold no secrets: secrets live only in the
// source's settings (${VAR}), which are not recorded.
type RunRecord struct {
	ID              string            `json:"id"`
	Job             string            `json:"job"`
	Env             string            `json:"env"`
	Params          map[string]string `json:"params"`
	Status          string            `json:"status"`
	Error           string            `json:"error,omitempty"`
	Source          string            `json:"source"` // the source type
	Target          string            `json:"target"` // zone.table
	RowsRead        int64             `json:"rows_read"`
	RowsWritten     int64             `json:"rows_written"`
	RowsRejected    int64             `json:"rows_rejected"`
	Bytes           int64             `json:"bytes"`
	SnapshotID      int64             `json:"snapshot_id,omitempty"`
	WatermarkBefore string            `json:"watermark_before,omitempty"`
	WatermarkAfter  string            `json:"watermark_after,omitempty"`
	Actor           string            `json:"actor"`
	StartedAt       time.Time         `json:"started_at"`
	FinishedAt      time.Time         `json:"finished_at,omitempty"`
	DurationMS      int64             `json:"duration_ms"`
	// Staged is true for a prod write: readers see the snapshot once a release pins it. Not kept in history.
	Staged bool `json:"staged,omitempty"`
	// BadRows are the first malformed rows skipped (files sources). Not kept in history.
	BadRows []BadRow `json:"bad_rows,omitempty"`
	// Quarantined is how many skipped rows the run wrote to its quarantine table (on_error.quarantine), in
	// snapshot QuarantineSnapshot. Not kept in history.
	Quarantined        int64 `json:"quarantined,omitempty"`
	QuarantineSnapshot int64 `json:"quarantine_snapshot,omitempty"`
	// Files are the files a files target run wrote (relative to its path). Not kept in history.
	Files []string `json:"files,omitempty"`
	// FilesRewritten of FilesTotal data files of the table were rewritten by a merge or overwrite-partition
	// run: those whose key (or partition) bounds can hold a new row's. A merge whose keys spread over every
	// file rewrites them all; partitioning or sorting the table by the key keeps the fraction small.
	FilesRewritten int `json:"files_rewritten,omitempty"`
	FilesTotal     int `json:"files_total,omitempty"`
}

// BadRow is a malformed source row that was skipped.
type BadRow struct {
	File    string `json:"file"`
	Line    int64  `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

const runColumns = `id, job, env, params, status, error, source_type, target, rows_read, rows_written, rows_rejected,
	bytes, snapshot_id, watermark_before, watermark_after, actor, started_ms, finished_ms, files_rewritten, files_total`

func insertRun(ctx context.Context, db *meta.DB, r *RunRecord) error {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return err
	}
	_, err = db.SQL.ExecContext(ctx, `INSERT INTO strata_move_runs (`+runColumns+`)
		VALUES ($1, $2, $3, $4, $5, '', $6, $7, 0, 0, 0, 0, 0, $8, '', $9, $10, 0, 0, 0)`,
		r.ID, r.Job, r.Env, string(params), StatusRunning, r.Source, r.Target, r.WatermarkBefore, r.Actor, r.StartedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	return nil
}

// finishRun records the outcome; for a committed run with a new watermark it moves the watermark in the same
// transaction.
func finishRun(ctx context.Context, db *meta.DB, r *RunRecord, moveWatermark bool) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE strata_move_runs SET status = $1, error = $2, rows_read = $3, rows_written = $4,
			rows_rejected = $5, bytes = $6, snapshot_id = $7, watermark_after = $8, finished_ms = $9,
			files_rewritten = $10, files_total = $11 WHERE id = $12`,
			r.Status, r.Error, r.RowsRead, r.RowsWritten, r.RowsRejected, r.Bytes, r.SnapshotID, r.WatermarkAfter,
			r.FinishedAt.UnixMilli(), r.FilesRewritten, r.FilesTotal, r.ID)
		if err != nil || !moveWatermark {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE strata_move_watermarks SET value = $1, run_id = $2, updated_ms = $3
			WHERE job = $4 AND env = $5`, r.WatermarkAfter, r.ID, r.FinishedAt.UnixMilli(), r.Job, r.Env)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO strata_move_watermarks (job, env, value, run_id, updated_ms)
			VALUES ($1, $2, $3, $4, $5)`, r.Job, r.Env, r.WatermarkAfter, r.ID, r.FinishedAt.UnixMilli())
		return err
	})
}

// Watermark returns the stored watermark of job in env, and whether there is one.
func Watermark(ctx context.Context, db *meta.DB, job, env string) (string, bool, error) {
	v, _, ok, err := watermarkOf(ctx, db, job, env)
	return v, ok, err
}

// watermarkOf returns the stored watermark of job in env and the run that stored it.
func watermarkOf(ctx context.Context, db *meta.DB, job, env string) (value, runID string, ok bool, err error) {
	err = db.SQL.QueryRowContext(ctx, `SELECT value, run_id FROM strata_move_watermarks WHERE job = $1 AND env = $2`,
		job, env).Scan(&value, &runID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return value, runID, true, nil
}

// Runs lists runs, newest first: of job ("" = every job), at most limit (0 = 100).
func Runs(ctx context.Context, db *meta.DB, job string, limit int) ([]RunRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + runColumns + ` FROM strata_move_runs`
	args := []any{}
	if job != "" {
		q += ` WHERE job = $1`
		args = append(args, job)
	}
	q += fmt.Sprintf(` ORDER BY started_ms DESC, id DESC LIMIT %d`, limit)
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RunRecord{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// GetRun returns one run, or ErrNotFound.
func GetRun(ctx context.Context, db *meta.DB, id string) (*RunRecord, error) {
	r, err := scanRun(db.SQL.QueryRowContext(ctx, `SELECT `+runColumns+` FROM strata_move_runs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("move run %q: %w (list runs with strata move runs)", id, ErrNotFound)
	}
	return r, err
}

type scanner interface{ Scan(dest ...any) error }

func scanRun(s scanner) (*RunRecord, error) {
	var r RunRecord
	var params string
	var started, finished int64
	if err := s.Scan(&r.ID, &r.Job, &r.Env, &params, &r.Status, &r.Error, &r.Source, &r.Target, &r.RowsRead,
		&r.RowsWritten, &r.RowsRejected, &r.Bytes, &r.SnapshotID, &r.WatermarkBefore, &r.WatermarkAfter, &r.Actor,
		&started, &finished, &r.FilesRewritten, &r.FilesTotal); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return nil, fmt.Errorf("run %s: params: %w", r.ID, err)
	}
	r.StartedAt = time.UnixMilli(started).UTC()
	if finished > 0 {
		r.FinishedAt = time.UnixMilli(finished).UTC()
		r.DurationMS = finished - started
	}
	return &r, nil
}
