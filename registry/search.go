package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/strata-data/strata/mlflowapi"
)

// SearchInput are the parameters of the registry searches.
type SearchInput struct {
	Filter     string
	MaxResults int64
	OrderBy    []string
	PageToken  string
}

// SearchRegisteredModels filters on name and tags (tags.k != 'v' also matches models without the tag, which
// the client relies on: it appends tag.`mlflow.prompt.is_prompt` != 'true' to every filter). Default order is
// name ASC; max_results defaults to 100 and is capped at 1000.
func (s *Store) SearchRegisteredModels(ctx context.Context, in SearchInput) ([]*RegisteredModel, string, error) {
	if in.MaxResults == 0 {
		in.MaxResults = 100
	}
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		return nil, "", invalidf("Invalid value for max_results. It must be at most 1000, but got value %d", in.MaxResults)
	}
	srch, err := mlflowapi.NewSearch(in.Filter, in.PageToken, in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	var a mlflowapi.SQLArgs
	where := []string{"1 = 1"}
	for _, c := range srch.Clauses {
		switch {
		case c.Type == "attribute" && c.Key == "name":
			if c.IsNum || (c.Op != "=" && c.Op != "!=" && c.Op != "LIKE" && c.Op != "ILIKE") {
				return nil, "", mlflowapi.ClauseError(in.Filter, c, "name takes a quoted string and one of = != LIKE ILIKE")
			}
			where = append(where, mlflowapi.Compare(s.db.Dialect, "m.name", c, c.Str, &a))
		case c.Type == "tag":
			w, err := mlflowapi.TagClause(s.db.Dialect, in.Filter, c, "mlflow_registered_model_tags t", "t.name = m.name", &a, true)
			if err != nil {
				return nil, "", err
			}
			where = append(where, w)
		default:
			return nil, "", mlflowapi.ClauseError(in.Filter, c, "invalid filter key '%s.%s' for registered models; use name or tags.<key>", c.Type, c.Key)
		}
	}
	order, err := orderClause(in.OrderBy, map[string]string{"name": "m.name", "timestamp": "m.creation_time",
		"creation_timestamp": "m.creation_time", "last_updated_timestamp": "m.last_updated_time"}, []string{"m.name ASC"}, "m.name")
	if err != nil {
		return nil, "", err
	}
	q := fmt.Sprintf(`SELECT m.name, m.creation_time, m.last_updated_time, m.description, m.user_id FROM mlflow_registered_models m
		WHERE %s ORDER BY %s %s`, strings.Join(where, " AND "), order, srch.LimitOffset(&a))
	rows, err := s.db.SQL.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", err
	}
	var out []*RegisteredModel
	for rows.Next() {
		var m RegisteredModel
		if err := rows.Scan(&m.Name, &m.CreationTimestamp, &m.LastUpdatedTimestamp, &m.Description, &m.UserID); err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, &m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := mlflowapi.Paginate(srch, out)
	return out, next, s.fillModels(ctx, out)
}

// orderClause renders order_by entries over the allowed keys, then the defaults, then a unique tie-breaker.
func orderClause(orderBy []string, cols map[string]string, defaults []string, tie string) (string, error) {
	var parts []string
	for _, o := range orderBy {
		key, asc, err := mlflowapi.ParseOrderBy(o)
		if err != nil {
			return "", err
		}
		key = strings.TrimPrefix(strings.TrimPrefix(key, "attributes."), "attribute.")
		col, ok := cols[key]
		if !ok {
			return "", invalidf("Invalid order by key '%s' specified.", key)
		}
		dir := " DESC"
		if asc {
			dir = " ASC"
		}
		parts = append(parts, col+dir)
	}
	if len(parts) == 0 {
		parts = defaults
	}
	return strings.Join(append(parts, tie), ", "), nil
}

// SearchModelVersions filters on name, version_number, run_id (IN allowed), source_path and tags. Default
// order is last_updated_timestamp DESC.
func (s *Store) SearchModelVersions(ctx context.Context, in SearchInput) ([]*ModelVersion, string, error) {
	if in.MaxResults == 0 {
		in.MaxResults = 200000
	}
	if in.MaxResults < 0 || in.MaxResults > 200000 {
		return nil, "", invalidf("Invalid value for max_results. It must be at most 200000, but got value %d", in.MaxResults)
	}
	srch, err := mlflowapi.NewSearch(in.Filter, in.PageToken, in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	var a mlflowapi.SQLArgs
	where := []string{"v.deleted = 0"}
	for _, c := range srch.Clauses {
		w, err := s.versionClause(in.Filter, c, &a)
		if err != nil {
			return nil, "", err
		}
		where = append(where, w)
	}
	order, err := orderClause(in.OrderBy, map[string]string{"name": "v.name", "version_number": "v.version",
		"timestamp": "v.creation_time", "creation_timestamp": "v.creation_time", "last_updated_timestamp": "v.last_updated_time"},
		[]string{"v.last_updated_time DESC"}, "v.name, v.version DESC")
	if err != nil {
		return nil, "", err
	}
	cols := "v." + strings.ReplaceAll(strings.Join(strings.Fields(versionCols), " "), ", ", ", v.")
	q := fmt.Sprintf(`SELECT %s FROM mlflow_model_versions v WHERE %s ORDER BY %s %s`,
		cols, strings.Join(where, " AND "), order, srch.LimitOffset(&a))
	rows, err := s.db.SQL.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", err
	}
	var out []*ModelVersion
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := mlflowapi.Paginate(srch, out)
	return out, next, s.fillVersions(ctx, out)
}

func (s *Store) versionClause(filter string, c mlflowapi.Clause, a *mlflowapi.SQLArgs) (string, error) {
	d := s.db.Dialect
	if c.Type == "tag" {
		return mlflowapi.TagClause(d, filter, c, "mlflow_model_version_tags t", "t.name = v.name AND t.version = v.version", a, false)
	}
	if c.Type != "attribute" {
		return "", mlflowapi.ClauseError(filter, c, "invalid filter key '%s.%s' for model versions", c.Type, c.Key)
	}
	switch c.Key {
	case "version_number":
		if !c.IsNum && c.Op != "IN" && c.Op != "NOT IN" {
			return "", mlflowapi.ClauseError(filter, c, "version_number takes a number")
		}
		if c.IsNum {
			return mlflowapi.Compare(d, "v.version", c, int64(c.Num), a), nil
		}
		return mlflowapi.Compare(d, "CAST(v.version AS TEXT)", c, nil, a), nil
	case "name", "run_id", "source_path", "source":
		col := map[string]string{"name": "v.name", "run_id": "v.run_id", "source_path": "v.source", "source": "v.source"}[c.Key]
		if c.IsNum {
			return "", mlflowapi.ClauseError(filter, c, "%s takes a quoted string", c.Key)
		}
		if (c.Op == "IN" || c.Op == "NOT IN") && c.Key != "run_id" {
			return "", mlflowapi.ClauseError(filter, c, "only run_id supports IN")
		}
		switch c.Op {
		case "=", "!=", "LIKE", "ILIKE", "IN", "NOT IN":
			return mlflowapi.Compare(d, col, c, c.Str, a), nil
		}
		return "", mlflowapi.ClauseError(filter, c, "invalid comparator '%s' for %s", c.Op, c.Key)
	}
	return "", mlflowapi.ClauseError(filter, c, "invalid attribute key '%s' for model versions; use name, version_number, run_id, source_path or tags", c.Key)
}
