package features

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// EnvCatalog is the Catalog of one environment: table columns as env's readers see them (release pins in prod),
// and query columns from DuckDB describing the query over the same tables.
type EnvCatalog struct {
	Envs   *envs.Service
	Engine *engine.Engine
	Env    string
}

// TableColumns implements Catalog.
func (c *EnvCatalog) TableColumns(ctx context.Context, table string) (map[string]string, error) {
	id, err := lake.ParseIdent(table)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	tv, err := c.Envs.Describe(ctx, c.Env, id)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, fmt.Errorf("table %s in %s: %w", table, c.Env, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, col := range tv.Columns {
		out[col.Name] = col.Type
	}
	return out, nil
}

// QueryColumns implements Catalog: DuckDB describes the query without running it.
func (c *EnvCatalog) QueryColumns(ctx context.Context, sql string) (map[string]string, error) {
	tables, err := c.Envs.BindSQL(ctx, c.Env, sql)
	if err != nil {
		return nil, err
	}
	return c.describe(ctx, sql, tables)
}

func (c *EnvCatalog) describe(ctx context.Context, sql string, tables []engine.Table) (map[string]string, error) {
	res, err := c.Engine.Query(ctx, "SELECT column_name, column_type FROM (DESCRIBE "+sql+"\n)", tables)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	out := map[string]string{}
	for res.Next() {
		rec := res.RecordBatch()
		names, types := rec.Column(0).(*array.String), rec.Column(1).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			// Clone: the batch's buffers are freed once the result moves on.
			name, duck := strings.Clone(names.Value(i)), strings.Clone(types.Value(i))
			t, err := engine.DuckDBToIceberg(duck)
			if err != nil {
				t = duck
			}
			out[name] = t
		}
	}
	return out, res.Err()
}
