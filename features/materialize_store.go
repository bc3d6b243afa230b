package features

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func micros(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := time.UnixMicro(us).UTC()
	return &t
}

// recordRun stores one instance's run.
func (r *Registry) recordRun(ctx context.Context, run *MaterializeRun) error {
	params, err := json.Marshal(run.Params)
	if err != nil {
		return err
	}
	inputs, err := json.Marshal(run.Inputs)
	if err != nil {
		return err
	}
	dropped, stale := columnList(run.DroppedColumns), columnList(run.StaleColumns)
	_, err = r.db.SQL.ExecContext(ctx, `INSERT INTO strata_materialize_runs (id, run_group, env, view, view_version, instance, params, mode,
		start_us, end_us, min_event_us, max_event_us, watermark_us, row_count, online_rows, snapshot_id, inputs, status, error, actor, started_ms, duration_ms,
		dropped_columns, stale_columns, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
		run.ID, run.Group, run.Env, run.View, run.ViewVersion, run.Instance, string(params), run.Mode,
		micros(run.Start), micros(run.End), micros(run.MinEvent), micros(run.MaxEvent), micros(run.Watermark), run.Rows, run.OnlineRows,
		run.SnapshotID, string(inputs), run.Status, run.Error, run.Actor, run.StartedMs, run.DurationMs, dropped, stale, run.Note)
	if err != nil {
		return fmt.Errorf("record the materialisation of %s: %w", run.Instance, err)
	}
	return nil
}

// watermark returns the watermark of the instance's latest succeeded run when that run materialised the same
// definition version (nil otherwise: the next incremental run is full).
func (r *Registry) watermark(ctx context.Context, env, instance string, version int64) (*time.Time, error) {
	var ver, wm int64
	err := r.db.SQL.QueryRowContext(ctx, `SELECT view_version, watermark_us FROM strata_materialize_runs
		WHERE env = $1 AND instance = $2 AND status = 'succeeded' ORDER BY started_ms DESC, id DESC LIMIT 1`, env, instance).Scan(&ver, &wm)
	if err == sql.ErrNoRows || (err == nil && ver != version) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return fromMicros(wm), nil
}

// MaterializeRuns lists env's materialisation runs, newest first: of one view's instances when view is given,
// at most limit (0 = 100).
func (r *Registry) MaterializeRuns(ctx context.Context, env, view string, limit int) ([]MaterializeRun, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT id, run_group, env, view, view_version, instance, params, mode, start_us, end_us,
		min_event_us, max_event_us, watermark_us, row_count, online_rows, snapshot_id, inputs, status, error, actor, started_ms, duration_ms,
		dropped_columns, stale_columns, note
		FROM strata_materialize_runs WHERE env = $1 AND ($2 = '' OR view = $2) ORDER BY started_ms DESC, id DESC LIMIT $3`, env, view, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MaterializeRun
	for rows.Next() {
		var m MaterializeRun
		var params, inputs, dropped, stale string
		var start, end, minE, maxE, wm int64
		if err := rows.Scan(&m.ID, &m.Group, &m.Env, &m.View, &m.ViewVersion, &m.Instance, &params, &m.Mode, &start, &end, &minE, &maxE, &wm,
			&m.Rows, &m.OnlineRows, &m.SnapshotID, &inputs, &m.Status, &m.Error, &m.Actor, &m.StartedMs, &m.DurationMs,
			&dropped, &stale, &m.Note); err != nil {
			return nil, err
		}
		m.Start, m.End, m.MinEvent, m.MaxEvent, m.Watermark = fromMicros(start), fromMicros(end), fromMicros(minE), fromMicros(maxE), fromMicros(wm)
		m.Table = FeaturesZone + "." + m.Instance
		if err := json.Unmarshal([]byte(params), &m.Params); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(inputs), &m.Inputs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(dropped), &m.DroppedColumns); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(stale), &m.StaleColumns); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// columnList is a run's column list as stored: a JSON array, [] for none.
func columnList(cols []string) string {
	if len(cols) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(cols)
	return string(b)
}
