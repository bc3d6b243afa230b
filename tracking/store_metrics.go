package tracking

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/strata-data/strata/mlflowapi"
	"math"
)

// historyToken is the keyset position after the last point of a history page.
type historyToken struct {
	TS    int64   `json:"ts"`
	Step  int64   `json:"step"`
	Value float64 `json:"value"`
	NaN   int     `json:"nan"`
}

// GetMetricHistory returns the points of one metric of a run ordered by (timestamp, step, value), a page at a
// time when maxResults > 0 (the token is empty on the last page). Pages are keyset-paginated on the primary
// key, so fetching page n costs the same as page 1. An unknown key gives no points.
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string, maxResults int64, pageToken string) ([]Metric, string, error) {
	if _, err := s.runInfo(ctx, s.db.SQL, runID); err != nil {
		return nil, "", err
	}
	a := mlflowapi.SQLArgs{runID, key}
	q := `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_metrics WHERE run_id = $1 AND key = $2`
	if pageToken != "" {
		var tok historyToken
		b, err := base64.StdEncoding.DecodeString(pageToken)
		if err != nil || json.Unmarshal(b, &tok) != nil {
			return nil, "", invalidf("Invalid page token, could not base64-decode")
		}
		ts, step, v, isNaN := a.P(tok.TS), a.P(tok.Step), a.P(tok.Value), a.P(tok.NaN)
		q += fmt.Sprintf(` AND (ts > %[1]s OR (ts = %[1]s AND (step > %[2]s OR (step = %[2]s AND (value > %[3]s OR (value = %[3]s AND is_nan > %[4]s))))))`,
			ts, step, v, isNaN)
	}
	q += " ORDER BY ts, step, value, is_nan"
	if maxResults > 0 {
		q += " LIMIT " + a.P(maxResults+1)
	}
	out, err := s.queryMetrics(ctx, q, a)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if maxResults > 0 && int64(len(out)) > maxResults {
		out = out[:maxResults]
		last := out[len(out)-1]
		v, isNaN := storedMetric(float64(last.Value))
		b, _ := json.Marshal(historyToken{TS: last.Timestamp, Step: last.Step, Value: v, NaN: isNaN})
		next = base64.StdEncoding.EncodeToString(b)
	}
	return out, next, nil
}

func (s *Store) queryMetrics(ctx context.Context, q string, a mlflowapi.SQLArgs) ([]Metric, error) {
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
		a := mlflowapi.SQLArgs{id, key}
		q := `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_metrics WHERE run_id = $1 AND key = $2`
		if startStep != nil && endStep != nil {
			q += " AND step >= " + a.P(*startStep) + " AND step <= " + a.P(*endStep)
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
	var a mlflowapi.SQLArgs
	in := a.List(runIDs)
	q := `SELECT run_id, key, value, is_nan, ts, step FROM mlflow_metrics WHERE run_id IN ` + in + ` AND key = ` + a.P(key) +
		` ORDER BY run_id, ts, step, value LIMIT ` + a.P(maxResults)
	return s.queryMetrics(ctx, q, a)
}
