//go:build duckdb_arrow

package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// Description is what a query's result will be, found without running it (Describe).
type Description struct {
	// Schema is the Arrow schema of the result, exactly as Query's Result.Schema gives it.
	Schema *arrow.Schema
	// Hints are the columns' hints, as Result.ColumnHints gives them.
	Hints []string
}

// Describe runs every statement of sql but the last, prepares the last one with tables bound, and returns the
// columns it would produce, without running it: DuckDB binds and plans the statement (its PREPARE gives the result
// types) but reads no row. A protocol's Describe (a driver asking for a statement's columns before fetching them)
// costs the planning only, not a query's start-up and first rows.
//
// Like QueryWith with Reuse, it runs in a pooled database sealed with the same tables and puts it back, so the
// statement that follows finds it ready (a parameterless SELECT stays prepared there for the same text); the same
// rule applies: sql must be a plain read the caller built (SELECT, PREPARE and EXECUTE only, else the database is
// not pooled again).
func (e *Engine) Describe(ctx context.Context, sql string, tables []Table) (Description, error) {
	var in *instance
	var err error
	if e.opts.Pool >= 0 {
		in, err = e.prepareReusable(ctx, tables)
	} else {
		in, err = e.prepare(ctx, tables, nil)
	}
	if err != nil {
		return Description{}, err
	}
	var ps duckdb.PreparedStatement
	keep := false
	if in.poolKey != "" {
		ps, keep, err = in.prepareReused(ctx, sql)
	} else {
		ps, err = in.prepareLast(ctx, sql)
	}
	if err != nil {
		e.retire(in)
		return Description{}, err
	}
	schema, hints, err := in.columnTypesHints(ps)
	if !keep {
		destroyPrepared(&ps)
	}
	if err != nil {
		e.retire(in)
		return Description{}, err
	}
	if in.poolKey != "" {
		e.recycle(in)
	} else {
		e.retire(in)
	}
	return Description{Schema: schema, Hints: hints}, nil
}
