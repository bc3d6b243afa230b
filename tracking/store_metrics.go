package tracking

import (
	"context"
	"math"
)

// GetMetricHistory returns the points of one metric of a run ordered by (timestamp, step, value), a page at a
// time when maxResults > 0 (the token is empty on the last page). An unknown key gives no points.
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string, maxResults int64, pageToken string) ([]Metric, string, error) {
	if _, err := s.runInfo(ctx, s.db.SQL, runID); err != nil {
		return nil, "", err
	}
	offset, err := decodePageToken(pageToken)
	if err != nil {
		return nil, "", err
	}
	a := SQLArgs{runID, key}
	q := `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_metrics WHERE run_id = $1 AND key = $2
		ORDER BY ts, step, value, is_nan`
	if maxResults > 0 {
		q += " LIMIT " + a.p(maxResults+1) + " OFFSET " + a.p(offset)
	}
	out, err := s.queryMetrics(ctx, q, a)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if maxResults > 0 && int64(len(out)) > maxResults {
		out = out[:maxResults]
		next = encodePageToken(offset + maxResults)
	}
	return out, next, nil
}

func (s *Store) queryMetrics(ctx context.Context, q string, a SQLArgs) ([]Metric, error) {
	rows, err := s.db.SQL.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Metric
	for rows.Next() {
		var m Metric
		if err := scanMetric(rows, &m.RunID, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MaxBulkRuns and MaxBulkPoints are the limits of the bulk history endpoints.
const (
	MaxBulkRuns   = 100
	MaxBulkPoints = 2500
)

// GetMetricHistoryBulkInterval samples up to maxResults points per run (evenly spaced by position in
// (step, timestamp, value) order, first and last always kept), optionally within [startStep, endStep]. Points
// carry their run_id.
func (s *Store) GetMetricHistoryBulkInterval(ctx context.Context, runIDs []string, key string, maxResults int64, startStep, endStep *int64) ([]Metric, error) {
	for _, id := range runIDs {
		if _, err := s.runInfo(ctx, s.db.SQL, id); err != nil {
			return nil, err
		}
	}
	var out []Metric
	for _, id := range runIDs {
		a := SQLArgs{id, key}
		q := `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_metrics WHERE run_id = $1 AND key = $2`
		if startStep != nil && endStep != nil {
			q += " AND step >= " + a.p(*startStep) + " AND step <= " + a.p(*endStep)
		}
		all, err := s.queryMetrics(ctx, q+" ORDER BY step, ts, value, is_nan", a)
		if err != nil {
			return nil, err
		}
		for _, i := range evenlySpaced(len(all), int(maxResults)) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// evenlySpaced is MLflow's _evenly_spaced_indices (Python's round: half to even).
func evenlySpaced(total, maxResults int) []int {
	if total <= 0 {
		return nil
	}
	if maxResults < 1 {
		maxResults = 1
	}
	out := []int{}
	if total <= maxResults {
		for i := 0; i < total; i++ {
			out = append(out, i)
		}
		return out
	}
	if maxResults == 1 {
		return []int{total - 1}
	}
	step := float64(total-1) / float64(maxResults-1)
	seen := map[int]bool{}
	for i := 0; i < maxResults; i++ {
		j := int(math.RoundToEven(float64(i) * step))
		if !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	return out
}

// GetMetricHistoryBulk returns all points of a metric for up to 100 runs, ordered by run id and then
// (timestamp, step, value) (the UI's ajax endpoint).
func (s *Store) GetMetricHistoryBulk(ctx context.Context, runIDs []string, key string, maxResults int64) ([]Metric, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	var a SQLArgs
	in := a.list(runIDs)
	q := `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_metrics WHERE run_id IN ` + in + ` AND key = ` + a.p(key) +
		` ORDER BY run_id, ts, step, value LIMIT ` + a.p(maxResults)
	return s.queryMetrics(ctx, q, a)
}
