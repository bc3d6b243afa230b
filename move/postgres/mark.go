package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-data/strata/errs"
)

// MarkTable is the table a postgres target keeps its runs' marks in, in the target database (the first schema
// of the connection's search_path): one row per job, environment and target table, holding the run that last
// committed rows there and that run's watermark. It is written in the transaction that writes the rows, so the
// rows and the mark commit together: a run killed after that commit and before its end is recorded in Strata's
// metadata is completed from the mark by the next run (which then reads past the mark's watermark), and a run
// killed before it left neither.
const MarkTable = "strata_move_marks"

// Mark identifies the run writing a postgres target; Watermark is called once the rows are read, before the
// commit.
type Mark struct {
	Job, Env, Run string
	Watermark     func() string
}

// RunMark is a run's mark read back from the target database.
type RunMark struct {
	Run       string
	Watermark string
	Rows      int64
}

func writeMark(ctx context.Context, tx pgx.Tx, table string, m *Mark, rows int64) error {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+MarkTable+` (job text NOT NULL, env text NOT NULL,
		target text NOT NULL, run_id text NOT NULL, watermark text NOT NULL, rows bigint NOT NULL,
		committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, env, target))`); err != nil {
		return fmt.Errorf("postgres target: create %s: %w", MarkTable, err)
	}
	wm := ""
	if m.Watermark != nil {
		wm = m.Watermark()
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+MarkTable+` (job, env, target, run_id, watermark, rows) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (job, env, target) DO UPDATE SET run_id = EXCLUDED.run_id, watermark = EXCLUDED.watermark,
		rows = EXCLUDED.rows, committed_at = now()`, m.Job, m.Env, table, m.Run, wm, rows)
	if err != nil {
		return fmt.Errorf("postgres target: write the run's mark in %s: %w", MarkTable, err)
	}
	return nil
}

// ReadMark returns the mark of job in env on the target table of the database dsn names; ok is false when there
// is none (no run of the job committed there yet).
func ReadMark(ctx context.Context, dsn, table, job, env string) (m RunMark, ok bool, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return m, false, errs.E(errs.Unavailable, "connect to the postgres target: %s", err.Error())
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	err = conn.QueryRow(ctx, `SELECT run_id, watermark, rows FROM `+MarkTable+` WHERE job = $1 AND env = $2 AND target = $3`,
		job, env, table).Scan(&m.Run, &m.Watermark, &m.Rows)
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pe) && pe.Code == "42P01": // no mark, or no table yet
		return RunMark{}, false, nil
	case err != nil:
		return m, false, errs.E(errs.Unavailable, "postgres target: read %s: %s", MarkTable, err.Error())
	}
	return m, true, nil
}
