package tracking

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
)

// SearchRunsInput are the parameters of SearchRuns.
type SearchRunsInput struct {
	ExperimentIDs []string
	Filter        string
	ViewType      ViewType
	MaxResults    int64
	OrderBy       []string
	PageToken     string
}

// runAttrColumns maps searchable/orderable run attributes (and MLflow's aliases) to columns; the value says
// whether it is numeric.
var runAttrColumns = map[string]struct {
	col     string
	numeric bool
}{
	"run_id": {"r.run_id", false}, "run_name": {"r.name", false}, "run name": {"r.name", false},
	"Run name": {"r.name", false}, "Run Name": {"r.name", false}, "user_id": {"r.user_id", false},
	"status": {"r.status", false}, "artifact_uri": {"r.artifact_uri", false},
	"start_time": {"r.start_time", true}, "end_time": {"r.end_time", true}, "created": {"r.start_time", true},
	"Created": {"r.start_time", true},
}

// orderOnlyRunAttrs can be ordered by but not filtered on.
var orderOnlyRunAttrs = map[string]string{"experiment_id": "r.experiment_id", "lifecycle_stage": "r.lifecycle_stage"}

// SearchRuns finds runs in the given experiments matching MLflow's filter grammar, ordered by order_by
// (metrics/params/tags/attributes; runs lacking an ordered metric come last either way) and then by
// start_time DESC, run_id. The token is empty on the last page.
func (s *Store) SearchRuns(ctx context.Context, in SearchRunsInput) ([]*Run, string, error) {
	if in.MaxResults == 0 {
		in.MaxResults = 1000
	}
	if in.MaxResults < 0 || in.MaxResults > maxSearchResults {
		return nil, "", invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", in.MaxResults, maxSearchResults)
	}
	srch, err := mlflowapi.NewSearch(in.Filter, in.PageToken, in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	for _, id := range in.ExperimentIDs {
		if _, err := parseExperimentID(id); err != nil {
			return nil, "", err
		}
	}
	if len(in.ExperimentIDs) == 0 {
		return nil, "", nil
	}
	where := func(a *mlflowapi.SQLArgs) ([]string, error) {
		var ids []string
		for _, id := range in.ExperimentIDs {
			ids = append(ids, a.P(mustInt(id)))
		}
		w := []string{"r.experiment_id IN (" + strings.Join(ids, ", ") + ")", "r.lifecycle_stage IN " + a.List(in.ViewType.stages())}
		for _, c := range srch.Clauses {
			cl, err := runClause(s.db.Dialect, in.Filter, c, a)
			if err != nil {
				return nil, err
			}
			w = append(w, cl)
		}
		return w, nil
	}
	var infos []RunInfo
	if key, asc, ok := leadingMetric(in.OrderBy); ok {
		infos, err = s.searchByMetric(ctx, where, key, asc, in.OrderBy[1:], srch.Offset+srch.Max+1)
		if int64(len(infos)) > srch.Offset {
			infos = infos[srch.Offset:]
		} else {
			infos = nil
		}
	} else {
		infos, err = s.searchRunsQuery(ctx, where, in.OrderBy, srch)
	}
	if err != nil {
		return nil, "", err
	}
	infos, next := mlflowapi.Paginate(srch, infos)
	runs, err := s.loadRuns(ctx, s.db.SQL, infos)
	return runs, next, err
}

func (s *Store) searchRunsQuery(ctx context.Context, where func(*mlflowapi.SQLArgs) ([]string, error), orderBy []string, srch *mlflowapi.Search) ([]RunInfo, error) {
	var a mlflowapi.SQLArgs
	w, err := where(&a)
	if err != nil {
		return nil, err
	}
	joins, order, err := runOrder(orderBy, &a)
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`SELECT %s FROM mlflow_runs r %s WHERE %s ORDER BY %s %s`,
		prefixCols("r.", runCols), joins, strings.Join(w, " AND "), order, srch.LimitOffset(&a))
	return s.queryRunInfos(ctx, q, a)
}

func (s *Store) queryRunInfos(ctx context.Context, q string, a mlflowapi.SQLArgs) ([]RunInfo, error) {
	rows, err := s.db.SQL.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var infos []RunInfo
	for rows.Next() {
		info, err := scanRunInfo(rows)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, rows.Err()
}

// leadingMetric reports whether the first order_by key is a metric.
func leadingMetric(orderBy []string) (string, bool, bool) {
	if len(orderBy) == 0 {
		return "", false, false
	}
	key, asc, err := mlflowapi.ParseOrderBy(orderBy[0])
	if err != nil {
		return "", false, false
	}
	typ, k, dotted := strings.Cut(key, ".")
	if t, _ := mlflowapi.EntityType(typ); !dotted || t != "metric" {
		return "", false, false
	}
	return k, asc, true
}

// searchByMetric returns the first `need` runs ordered by a metric the way MLflow orders them (runs with a
// number first, by value; then NaN; then runs without the metric). It queries the three groups in turn so
// the first one walks the (key, value) index in order and stops after `need` rows: search latency stays flat
// as an experiment grows, instead of sorting every run.
func (s *Store) searchByMetric(ctx context.Context, where func(*mlflowapi.SQLArgs) ([]string, error), key string, asc bool,
	rest []string, need int64) ([]RunInfo, error) {
	var out []RunInfo
	for group := 0; group < 3 && int64(len(out)) < need; group++ {
		var a mlflowapi.SQLArgs
		w, err := where(&a)
		if err != nil {
			return nil, err
		}
		joins, order, err := runOrder(rest, &a)
		if err != nil {
			return nil, err
		}
		var q string
		if group < 2 {
			// CROSS JOIN keeps SQLite from reordering the join: the metric index drives the scan.
			q = fmt.Sprintf(`SELECT %s FROM mlflow_latest_metrics om CROSS JOIN mlflow_runs r %s
				WHERE om.key = %s AND om.is_nan = %d AND r.run_id = om.run_id AND %s ORDER BY om.value%s, %s LIMIT %s`,
				prefixCols("r.", runCols), joins, a.P(key), group, strings.Join(w, " AND "), mlflowapi.Dir(asc), order, a.P(need-int64(len(out))))
		} else {
			q = fmt.Sprintf(`SELECT %s FROM mlflow_runs r %s WHERE NOT EXISTS (SELECT 1 FROM mlflow_latest_metrics om
				WHERE om.run_id = r.run_id AND om.key = %s) AND %s ORDER BY %s LIMIT %s`,
				prefixCols("r.", runCols), joins, a.P(key), strings.Join(w, " AND "), order, a.P(need-int64(len(out))))
		}
		infos, err := s.queryRunInfos(ctx, q, a)
		if err != nil {
			return nil, err
		}
		out = append(out, infos...)
	}
	return out, nil
}

func runClause(d meta.Dialect, filter string, c mlflowapi.Clause, a *mlflowapi.SQLArgs) (string, error) {
	switch c.Type {
	case "metric":
		if !mlflowapi.IsComparison(c.Op) {
			return "", mlflowapi.ClauseError(filter, c, "invalid comparator '%s' for metric '%s'; use one of = != < <= > >=", c.Op, c.Key)
		}
		if !c.IsNum {
			return "", mlflowapi.ClauseError(filter, c, "expected a numeric value for metric '%s'", c.Key)
		}
		nanCond := " AND m.is_nan = 0"
		if c.Op == "!=" {
			return fmt.Sprintf("EXISTS (SELECT 1 FROM mlflow_latest_metrics m WHERE m.run_id = r.run_id AND m.key = %s AND (m.value != %s OR m.is_nan = 1))",
				a.P(c.Key), a.P(c.Num)), nil
		}
		return fmt.Sprintf("EXISTS (SELECT 1 FROM mlflow_latest_metrics m WHERE m.run_id = r.run_id AND m.key = %s AND m.value %s %s%s)",
			a.P(c.Key), c.Op, a.P(c.Num), nanCond), nil
	case "parameter":
		return mlflowapi.TagClause(d, filter, c, "mlflow_params t", "t.run_id = r.run_id", a, false)
	case "tag":
		return mlflowapi.TagClause(d, filter, c, "mlflow_tags t", "t.run_id = r.run_id", a, false)
	case "attribute":
		return runAttrClause(d, filter, c, a)
	case "dataset":
		return datasetClause(d, filter, c, a)
	}
	return "", mlflowapi.ClauseError(filter, c, "invalid entity type '%s'", c.Type)
}

func runAttrClause(d meta.Dialect, filter string, c mlflowapi.Clause, a *mlflowapi.SQLArgs) (string, error) {
	attr, ok := runAttrColumns[c.Key]
	if !ok {
		return "", mlflowapi.ClauseError(filter, c, "invalid attribute key '%s'; valid keys are run_id, run_name, user_id, status, start_time, end_time, artifact_uri", c.Key)
	}
	if attr.numeric {
		if !mlflowapi.IsComparison(c.Op) || !c.IsNum {
			return "", mlflowapi.ClauseError(filter, c, "'%s' takes a number and one of = != < <= > >=", c.Key)
		}
		return mlflowapi.Compare(d, attr.col, c, int64(c.Num), a), nil
	}
	switch c.Op {
	case "IN", "NOT IN":
		if c.Key != "run_id" {
			return "", mlflowapi.ClauseError(filter, c, "only ['run_id'] attributes support comparison with a list of quoted string values")
		}
	case "=", "!=", "LIKE", "ILIKE":
		if c.IsNum {
			return "", mlflowapi.ClauseError(filter, c, "expected a quoted string value for attribute '%s'", c.Key)
		}
	default:
		return "", mlflowapi.ClauseError(filter, c, "invalid comparator '%s' for attribute '%s'; use one of = != LIKE ILIKE IN NOT IN", c.Op, c.Key)
	}
	return mlflowapi.Compare(d, attr.col, c, c.Str, a), nil
}

func datasetClause(d meta.Dialect, filter string, c mlflowapi.Clause, a *mlflowapi.SQLArgs) (string, error) {
	switch c.Op {
	case "=", "!=", "LIKE", "ILIKE", "IN", "NOT IN":
	default:
		return "", mlflowapi.ClauseError(filter, c, "invalid comparator '%s' for datasets; use one of = != LIKE ILIKE IN NOT IN", c.Op)
	}
	if c.IsNum {
		return "", mlflowapi.ClauseError(filter, c, "expected a quoted string value for dataset '%s'", c.Key)
	}
	base := `SELECT 1 FROM mlflow_inputs i JOIN mlflow_datasets d ON i.source_type = 'DATASET' AND d.dataset_id = i.source_id`
	switch c.Key {
	case "name", "digest":
		return fmt.Sprintf("EXISTS (%s WHERE i.run_id = r.run_id AND %s)", base, mlflowapi.Compare(d, "d."+c.Key, c, c.Str, a)), nil
	case "context":
		return fmt.Sprintf("EXISTS (%s JOIN mlflow_input_tags it ON it.input_id = i.input_id AND it.key = %s WHERE i.run_id = r.run_id AND %s)",
			base, a.P(TagContext), mlflowapi.Compare(d, "it.value", c, c.Str, a)), nil
	}
	return "", mlflowapi.ClauseError(filter, c, "invalid dataset key '%s'; valid keys are name, digest, context", c.Key)
}

// runOrder renders ORDER BY (and the joins it needs) the way MLflow's SQL store orders runs.
func runOrder(orderBy []string, a *mlflowapi.SQLArgs) (string, string, error) {
	var joins, parts []string
	seen := map[string]bool{}
	startTime := false
	for i, o := range orderBy {
		key, asc, err := mlflowapi.ParseOrderBy(o)
		if err != nil {
			return "", "", err
		}
		typ, k, dotted := strings.Cut(key, ".")
		if !dotted {
			typ, k = "attribute", key
		}
		norm, ok := mlflowapi.EntityType(typ)
		if !ok {
			return "", "", invalidf("Invalid order_by entity type '%s'. Valid values are metric, parameter, tag, attribute", typ)
		}
		if seen[norm+"."+k] {
			return "", "", invalidf("`order_by` contains duplicate fields: %v", orderBy)
		}
		seen[norm+"."+k] = true
		alias := fmt.Sprintf("o%d", i)
		switch norm {
		case "attribute":
			col := orderOnlyRunAttrs[k]
			if attr, ok := runAttrColumns[k]; ok {
				col = attr.col
			}
			if col == "" {
				return "", "", invalidf("Invalid order_by attribute key '%s'", k)
			}
			startTime = startTime || col == "r.start_time"
			parts = append(parts, col+mlflowapi.Dir(asc))
		case "metric":
			joins = append(joins, fmt.Sprintf("LEFT JOIN mlflow_latest_metrics %s ON %s.run_id = r.run_id AND %s.key = %s", alias, alias, alias, a.P(k)))
			parts = append(parts, fmt.Sprintf("CASE WHEN %s.is_nan = 1 THEN 1 WHEN %s.run_id IS NULL THEN 2 ELSE 0 END", alias, alias),
				alias+".value"+mlflowapi.Dir(asc))
		case "parameter", "tag":
			table := map[string]string{"parameter": "mlflow_params", "tag": "mlflow_tags"}[norm]
			joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.run_id = r.run_id AND %s.key = %s", table, alias, alias, alias, a.P(k)))
			parts = append(parts, fmt.Sprintf("CASE WHEN %s.run_id IS NULL THEN 1 ELSE 0 END", alias), alias+".value"+mlflowapi.Dir(asc))
		default:
			return "", "", invalidf("Invalid order_by entity type '%s'", typ)
		}
	}
	if !startTime {
		parts = append(parts, "r.start_time DESC")
	}
	parts = append(parts, "r.run_id")
	return strings.Join(joins, " "), strings.Join(parts, ", "), nil
}
