package features

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Catalog tells the column types (Iceberg names) of what a view reads, as one environment's readers see it.
type Catalog interface {
	// TableColumns returns the columns of zone.table by name; an unknown table is an error matching ErrNotFound.
	TableColumns(ctx context.Context, table string) (map[string]string, error)
	// QueryColumns returns the columns a SQL query returns by name (the query is already rendered).
	QueryColumns(ctx context.Context, sql string) (map[string]string, error)
}

// Validate checks every view against the tables of an environment: the source table exists (or the SQL runs),
// and the entities' join keys, the event and created times and every feature are columns of compatible types.
func Validate(ctx context.Context, d *Defs, cat Catalog) error {
	keys := map[string][]JoinKey{}
	for _, e := range d.Entities {
		keys[e.Name] = e.JoinKeys
	}
	for i := range d.Views {
		if err := validateView(ctx, &d.Views[i], keys, cat); err != nil {
			return err
		}
	}
	return nil
}

func validateView(ctx context.Context, v *View, keys map[string][]JoinKey, cat Catalog) error {
	cols, err := sourceColumns(ctx, v, cat)
	if err != nil {
		return err
	}
	for _, e := range v.Entities {
		for _, k := range keys[e] {
			if err := checkColumn(v, cols, "entities", k.Name, k.Type, "join key of entity "+e); err != nil {
				return err
			}
		}
	}
	for _, tc := range []struct{ field, col string }{{"event_time", v.EventTime}, {"created_time", v.CreatedTime}} {
		if tc.col == "" {
			continue
		}
		t, ok := cols[tc.col]
		if !ok {
			return v.errAt(tc.field, "unknown column %q (the source has %s)", tc.col, columnNames(cols))
		}
		if t != "timestamp" && t != "timestamptz" && t != "timestamp_ns" && t != "timestamptz_ns" && t != "date" {
			return v.errAt(tc.field, "type mismatch: column %s is %s, not a timestamp or date", tc.col, t)
		}
	}
	for i, f := range v.Features {
		if f.Aggregation != nil {
			if err := checkAggregation(v, cols, i, f); err != nil {
				return err
			}
			continue
		}
		if err := checkColumn(v, cols, fmt.Sprintf("features[%d].name", i), f.Name, f.Type, "feature"); err != nil {
			return err
		}
	}
	return nil
}

func sourceColumns(ctx context.Context, v *View, cat Catalog) (map[string]string, error) {
	if v.Source.Table != "" {
		cols, err := cat.TableColumns(ctx, v.Source.Table)
		if errors.Is(err, ErrNotFound) {
			return nil, v.errAt("source.table", "unknown table %s: import or create it first", v.Source.Table)
		}
		return cols, err
	}
	sql, _, err := v.RenderSQL(nil)
	if err != nil {
		return nil, v.errAt("source.params", "%v", err)
	}
	cols, err := cat.QueryColumns(ctx, sql)
	if err != nil {
		return nil, v.errAt("source.sql", "the query fails: %v", err)
	}
	return cols, nil
}

func checkColumn(v *View, cols map[string]string, field, col, want, what string) error {
	got, ok := cols[col]
	if !ok {
		return v.errAt(field, "unknown column %q (%s; the source has %s)", col, what, columnNames(cols))
	}
	if !compatible(want, got) {
		return v.errAt(field, "type mismatch: %s %s is declared %s but the column is %s", what, col, want, got)
	}
	return nil
}

// compatible says whether a column of type got can be read as the declared type want without loss.
func compatible(want, got string) bool {
	if want == got {
		return true
	}
	switch want {
	case "long":
		return got == "int"
	case "double":
		return got == "int" || got == "long" || got == "float" || strings.HasPrefix(got, "decimal")
	case "timestamp", "timestamptz":
		return strings.HasPrefix(got, "timestamp")
	}
	return false
}

func columnNames(cols map[string]string) string {
	var out []string
	for n := range cols {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
