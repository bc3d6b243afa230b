package features

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// Aggregation makes a feature a window aggregation of a source column: at each source row of event time t, the
// function over the rows of the same entity whose event time is in (t - Window, t]. Rows after t never count, so
// a training set built from it has no leakage.
type Aggregation struct {
	Function string   `json:"function"`
	Column   string   `json:"column,omitempty"` // "" only for count: count rows
	Window   Duration `json:"window"`
}

// AggFunctions are the aggregation functions a feature may use.
var AggFunctions = []string{"sum", "count", "mean", "min", "max", "count_distinct", "last"}

func (p parser) aggregation(n *yaml.Node, field string) (*Aggregation, error) {
	f, err := p.mapping(n, field, "function", "column", "window")
	if err != nil {
		return nil, err
	}
	a := &Aggregation{}
	if a.Function, err = p.str(f, field, "function", true); err != nil {
		return nil, err
	}
	if !contains(AggFunctions, a.Function) {
		return nil, p.errf(f.vals["function"], join(field, "function"), "unknown function %q: use %s", a.Function, strings.Join(AggFunctions, ", "))
	}
	if a.Column, err = p.str(f, field, "column", a.Function != "count"); err != nil {
		return nil, err
	}
	wn, ok := f.vals["window"]
	if !ok {
		return nil, p.errf(n, join(field, "window"), "missing: give a window such as 1h, 7d or 30d")
	}
	if a.Window, err = ParseDuration(wn.Value); err != nil || wn.Kind != yaml.ScalarNode || a.Window <= 0 {
		return nil, p.errf(wn, join(field, "window"), "bad window %q: use a positive duration such as 90m, 1h, 7d or 30d", wn.Value)
	}
	if time.Duration(a.Window) < time.Microsecond {
		return nil, p.errf(wn, join(field, "window"), "bad window %q: event times have microsecond precision: use at least 1us", wn.Value)
	}
	return a, nil
}

// aggResultType is the type (Iceberg name) an aggregation of a column of type col gives, or an error.
func aggResultType(a *Aggregation, col string) (string, error) {
	numeric := col == "int" || col == "long" || col == "float" || col == "double" || strings.HasPrefix(col, "decimal")
	switch a.Function {
	case "count", "count_distinct":
		return "long", nil
	case "mean":
		if !numeric {
			return "", fmt.Errorf("mean needs a numeric column, and %s is %s", a.Column, col)
		}
		return "double", nil
	case "sum":
		switch {
		case col == "int" || col == "long":
			return "long", nil
		case numeric:
			return "double", nil
		}
		return "", fmt.Errorf("sum needs a numeric column, and %s is %s", a.Column, col)
	}
	return col, nil // min, max, last
}

// checkAggregation checks an aggregated feature against the source's columns.
func checkAggregation(v *View, cols map[string]string, i int, f Feature) error {
	field := fmt.Sprintf("features[%d].aggregation", i)
	if _, clash := cols[f.Name]; clash {
		return v.errAt(fmt.Sprintf("features[%d].name", i), "the aggregated feature %s has the name of a source column: name it otherwise (e.g. %s_%s)",
			f.Name, f.Name, f.Aggregation.Window)
	}
	a := f.Aggregation
	col := "long"
	if a.Column != "" {
		t, ok := cols[a.Column]
		if !ok {
			return v.errAt(field+".column", "unknown column %q (the source has %s)", a.Column, columnNames(cols))
		}
		col = t
	}
	res, err := aggResultType(a, col)
	if err != nil {
		return v.errAt(field+".function", "%v", err)
	}
	if !compatible(f.Type, res) {
		of := a.Column
		if of == "" {
			of = "rows"
		}
		return v.errAt(fmt.Sprintf("features[%d].type", i), "type mismatch: %s of %s gives %s, but the feature is declared %s", a.Function, of, res, f.Type)
	}
	return nil
}

// hasAggregations says whether any feature of the view is a window aggregation.
func (v *View) hasAggregations() bool {
	for _, f := range v.Features {
		if f.Aggregation != nil {
			return true
		}
	}
	return false
}

// rowsSQL returns the SQL of the view's feature rows over its source rows src: the source itself, plus one
// column per aggregated feature, computed per event time over (t - window, t] of the same entity keys. Rows
// without an event time are dropped (they have no place in time).
func (v *View) rowsSQL(src string, keys []JoinKey) (string, error) {
	if !v.hasAggregations() {
		return src, nil
	}
	ts := "CAST(" + ident(v.EventTime) + " AS TIMESTAMPTZ)"
	order := ts
	if v.CreatedTime != "" {
		order += ", CAST(" + ident(v.CreatedTime) + " AS TIMESTAMPTZ) NULLS FIRST"
	}
	var cols []string
	for _, f := range v.Features {
		a := f.Aggregation
		if a == nil {
			continue
		}
		arg := "*"
		if a.Column != "" {
			arg = ident(a.Column)
		}
		var expr string
		switch a.Function {
		case "sum", "count", "min", "max":
			expr = a.Function + "(" + arg + ")"
		case "mean":
			expr = "avg(" + arg + ")"
		case "count_distinct":
			expr = "count(DISTINCT " + arg + ")"
		case "last":
			// rows equal in event and created time: the greatest value (NULL first) is the last, so that every
			// run computes the same one
			expr = "last(" + arg + " ORDER BY " + order + ", " + arg + " NULLS FIRST)"
		default:
			return "", fmt.Errorf("view %s: unknown aggregation function %q: %w", v.Name, a.Function, ErrInvalid)
		}
		dt, err := engine.IcebergToDuckDB(f.Type)
		if err != nil {
			return "", err
		}
		// (t - window, t] = [t - window + 1us, t]: event times have microsecond precision.
		cols = append(cols, fmt.Sprintf("CAST(%s OVER (PARTITION BY %s ORDER BY %s RANGE BETWEEN to_microseconds(%d) PRECEDING AND CURRENT ROW) AS %s) AS %s",
			expr, strings.Join(keyNames(keys), ", "), ts, time.Duration(a.Window).Microseconds()-1, dt, ident(f.Name)))
	}
	return fmt.Sprintf("SELECT *, %s FROM (%s) WHERE %s IS NOT NULL", strings.Join(cols, ", "), src, ident(v.EventTime)), nil
}

// largestWindow is the longest window of the view's aggregations (0 without any).
func (v *View) largestWindow() time.Duration {
	var w time.Duration
	for _, f := range v.Features {
		if f.Aggregation != nil {
			w = max(w, time.Duration(f.Aggregation.Window))
		}
	}
	return w
}

// The names the late-row recomputation's SQL gives its parts.
const (
	lateSchema   = "strata_materialize"
	replacedView = "replaced_rows" // the rows of the data files the write replaces
)

// recomputeLate computes what an incremental run of a view with window aggregations writes, so that it leaves
// the table as a full run would. A late row (event time at or before the watermark wm) changes the
// aggregations of its entity's rows whose windows hold it: those at event times in [its time, its time +
// window). So for each entity with late rows, the run recomputes its rows at event times in [earliest late
// time, latest late time + the largest window) (before upper, if set) from every source row, and replaces the
// table's rows of that entity and range with them. It rewrites only the data files of base whose bounds can
// hold those entities (envs.FilesMatching; their other rows are kept), in one snapshot based on base, with the
// run's other new rows. Without late rows it appends the new rows.
//
// The new rows are found from the source's keys and times alone (src, without aggregations), and the
// aggregations are computed only over the source rows of entities with new rows, from the largest window
// before their first new row: a row's aggregations depend on its window alone, so the rows written are those
// a full run computes, for a fraction of its work.
//
// An online sink gets the latest of the rows the run wrote per entity; a recomputed row keeps its event and
// created times, so a sink that replaces only strictly newer rows keeps its old values (strata serve loads
// the online store from the table instead).
func (m *Materializer) recomputeLate(ctx context.Context, env string, id lake.Ident, t *target, base *lake.Plan, src string,
	wm time.Time, upper *time.Time, w *plannedWrite) error {
	v := t.inst.View
	plain := *v
	plain.Features = nil
	ids, err := featureTableSQL(&plain, t.keys, src) // keys, event_ts, created_ts
	if err != nil {
		return err
	}
	isNew := newRowCond(id, t, wm, upper)
	late := fmt.Sprintf("epoch_us(event_ts) <= %d", wm.UnixMicro())
	keys := keyNames(t.keys)
	window := v.largestWindow().Microseconds()
	// strata_new: per entity with new rows, its first new event time and the range of its late ones (NULL
	// without late rows). Without a created time, a new row may tie one of the table's on keys and event time:
	// new rows are those the table has fewer of at their keys and event time.
	newRows := "SELECT n.* FROM (" + ids + ") AS n WHERE " + isNew
	if v.CreatedTime == "" {
		newRows = surplusRowsSQL(id, t, ids, wm, upper)
	}
	with := "WITH strata_new AS MATERIALIZED (SELECT " + strings.Join(keys, ", ") + ", min(event_ts) AS strata_first, " +
		"min(event_ts) FILTER (WHERE " + late + ") AS strata_lo, max(event_ts) FILTER (WHERE " + late + ") AS strata_hi " +
		"FROM (" + newRows + ") GROUP BY ALL) "
	replace, n, err := m.lateFiles(ctx, env, id, t, base, with+"SELECT * FROM strata_new WHERE strata_lo IS NOT NULL", w.tables)
	if err != nil {
		return err
	}
	needed, err := neededSourceSQL(t, src, window)
	if err != nil {
		return err
	}
	rows, err := v.rowsSQL(needed, t.keys)
	if err != nil {
		return err
	}
	sel, err := featureTableSQL(v, t.keys, rows)
	if err != nil {
		return err
	}
	redo := func(x string) string { return recomputedCond(x, keys, window, upper) }
	changed := "SELECT n.* FROM (" + sel + ") AS n WHERE " + redo("n") + " OR " + isNew
	w.online, w.rows = with+changed, with+changed
	if n == 0 {
		w.mode = envs.Append
		return nil
	}
	if len(replace) > 0 {
		w.rows = with + "SELECT x.* FROM " + lateSchema + "." + replacedView + " AS x WHERE NOT " + redo("x") + " UNION ALL BY NAME " + changed
		cur := envs.EngineTable(base)
		cur.Schema, cur.Name, cur.Files = lateSchema, replacedView, replace
		w.tables = append(w.tables, cur)
	}
	w.mode, w.basedOn, w.replace = envs.Overwrite, &base.SnapshotID, replace
	return nil
}

// neededSourceSQL selects the source rows (of src) the aggregations of an incremental run's rows need: those
// of the entities in strata_new, from the largest window (µs) before the entity's first new row.
func neededSourceSQL(t *target, src string, window int64) (string, error) {
	match := make([]string, len(t.keys))
	for i, k := range t.keys {
		dt, err := engine.IcebergToDuckDB(k.Type)
		if err != nil {
			return "", err
		}
		match[i] = fmt.Sprintf("c.%s IS NOT DISTINCT FROM CAST(s.%s AS %s)", ident(k.Name), ident(k.Name), dt)
	}
	return fmt.Sprintf("SELECT s.* FROM (%s) AS s WHERE EXISTS (SELECT 1 FROM strata_new AS c WHERE %s AND epoch_us(CAST(s.%s AS TIMESTAMPTZ)) > epoch_us(c.strata_first) - %d)",
		src, strings.Join(match, " AND "), ident(t.inst.View.EventTime), window), nil
}

// recomputedCond is the SQL condition that the feature table row aliased x is one an incremental run
// recomputes: of an entity with late rows in strata_new, at an event time in [its first late row, its last late
// row + window µs), before upper if set.
func recomputedCond(x string, keys []string, window int64, upper *time.Time) string {
	conds := make([]string, len(keys))
	for i, k := range keys {
		conds[i] = "l." + k + " IS NOT DISTINCT FROM " + x + "." + k
	}
	cond := fmt.Sprintf("EXISTS (SELECT 1 FROM strata_new AS l WHERE %s AND %s.event_ts >= l.strata_lo AND epoch_us(%s.event_ts) < epoch_us(l.strata_hi) + %d)",
		strings.Join(conds, " AND "), x, x, window)
	if upper != nil {
		cond += fmt.Sprintf(" AND epoch_us(%s.event_ts) < %d", x, upper.UnixMicro())
	}
	return "(" + cond + ")"
}

// lateFiles returns the data files of base that may hold a row of an entity with a late row (lateRows, over
// tables, lists those entities), never nil, and the number of such entities.
func (m *Materializer) lateFiles(ctx context.Context, env string, id lake.Ident, t *target, base *lake.Plan, lateRows string, tables []engine.Table) ([]string, int64, error) {
	types := map[string]string{}
	for _, c := range base.Columns {
		if dt, err := engine.IcebergToDuckDB(c.Type); err == nil {
			types[c.Name] = dt
		}
	}
	cols := make([]string, len(t.keys))
	for i, k := range t.keys {
		cols[i] = ident(k.Name)
		if dt, ok := types[k.Name]; ok { // compared with the bounds of the table's column
			cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", ident(k.Name), dt, ident(k.Name))
		}
	}
	res, err := m.Engine.Query(ctx, "SELECT DISTINCT "+strings.Join(cols, ", ")+" FROM ("+lateRows+")", tables)
	if err != nil {
		return nil, 0, fmt.Errorf("find the entities with late rows: %w", err)
	}
	defer res.Close()
	counted := &eventStats{RecordReader: res}
	files, err := m.Envs.FilesMatching(ctx, env, id, base.SnapshotID, counted)
	if err != nil {
		return nil, 0, fmt.Errorf("choose the files of %s to rewrite: %w", id, err)
	}
	if files == nil {
		files = []string{}
	}
	return files, counted.rows, nil
}
