//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// Table is one lake table snapshot made visible to SQL as Schema.Name (e.g. raw.orders).
type Table struct {
	Schema, Name string
	// Files are the snapshot's Parquet data files as local paths; a "file://" prefix is accepted and
	// stripped. Files without positional or equality deletes only: the engine does not apply delete files.
	Files []string
	// Columns is the Iceberg schema of the snapshot, in order. Files are read by field id, so a file written
	// before a column was renamed or added still lines up; a column missing from a file reads as NULL.
	Columns []Column
}

// Column is one top-level column of an Iceberg schema.
type Column struct {
	FieldID int
	Name    string
	// Type is the Iceberg type as iceberg-go's Type.String() prints it: boolean, int, long, float, double,
	// decimal(P, S), date, time, timestamp, timestamptz, timestamp_ns, timestamptz_ns, string, uuid, binary,
	// fixed[N], struct<...>, list<...>, map<...>. Children of nested types are matched by name.
	Type     string
	Required bool
}

// Query runs DuckDB SQL in which every table is visible as "schema"."name". The SQL may hold several
// statements; all but the last run first and the last one's rows are returned. The query runs in a private
// in-memory database, so concurrent queries are isolated; unless the engine has ExternalAccess, the SQL can
// read only the tables' files and cannot change settings.
//
// The Result streams: rows are computed as they are read, and memory stays bounded (DuckDB buffers about
// a megabyte ahead). Query itself returns once the first rows are ready, so errors in the SQL, and for an
// aggregate the whole computation, come before it returns. The caller must Close (or Release) the Result,
// which frees the database; it may stop reading early. Cancelling ctx interrupts the query, in Query or
// in Next, which then returns false with ctx's error in Err.
func (e *Engine) Query(ctx context.Context, sql string, tables []Table) (*Result, error) {
	return e.QueryWith(ctx, sql, tables, QueryOptions{})
}

// QueryWith is Query with options; with Reuse the query may run in a pooled database (see QueryOptions).
func (e *Engine) QueryWith(ctx context.Context, sql string, tables []Table, o QueryOptions) (*Result, error) {
	var in *instance
	var err error
	if o.Reuse && e.opts.Pool >= 0 {
		in, err = e.prepareReusable(ctx, tables)
	} else {
		in, err = e.prepare(ctx, tables, nil)
	}
	if err != nil {
		return nil, err
	}
	s, err := in.run(ctx, sql)
	if err != nil {
		e.retire(in)
		return nil, err
	}
	r := &Result{}
	r.init(in, s, e.retire)
	if in.poolKey != "" {
		r.recycle = e.recycle
	}
	return r, nil
}

// prepare opens a database, creates the tables' views and seals it; extraDirs are further directories
// the SQL may access (Export's output).
func (e *Engine) prepare(ctx context.Context, tables []Table, extraDirs []string) (*instance, error) {
	setup, files, err := e.viewsSQL(tables)
	if err != nil {
		return nil, err
	}
	return e.sealed(ctx, setup, files, extraDirs)
}

// sealed opens a database, runs setup and seals it to files and extraDirs.
func (e *Engine) sealed(ctx context.Context, setup string, files, extraDirs []string) (*instance, error) {
	in, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	if setup != "" {
		if err := in.exec(ctx, setup); err != nil {
			e.retire(in)
			return nil, fmt.Errorf("engine: bind tables: %w", err)
		}
	}
	if err := e.sandbox(ctx, in, files, extraDirs); err != nil {
		e.retire(in)
		return nil, err
	}
	return in, nil
}

// viewsSQL returns the statements that create one view per table, and every file the views read.
func (e *Engine) viewsSQL(tables []Table) (string, []string, error) {
	var b strings.Builder
	var files []string
	schemas := map[string]bool{}
	names := map[string]bool{}
	for _, t := range tables {
		if t.Schema == "" || t.Name == "" {
			return "", nil, fmt.Errorf("engine: table %q.%q: schema and name are required: %w", t.Schema, t.Name, ErrInvalid)
		}
		key := strings.ToLower(t.Schema + "." + t.Name)
		if names[key] {
			return "", nil, fmt.Errorf("engine: table %s.%s given twice: %w", t.Schema, t.Name, ErrInvalid)
		}
		names[key] = true
		if !schemas[strings.ToLower(t.Schema)] {
			schemas[strings.ToLower(t.Schema)] = true
			fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", sqlIdent(t.Schema))
		}
		body, paths, err := e.viewSelect(t)
		if err != nil {
			return "", nil, err
		}
		files = append(files, paths...)
		fmt.Fprintf(&b, "CREATE VIEW %s.%s AS %s;\n", sqlIdent(t.Schema), sqlIdent(t.Name), body)
	}
	return b.String(), files, nil
}

// viewSelect returns the SELECT that reads one table snapshot, and its absolute file paths: plain read_parquet
// when the files line up with the schema (plainview.go), else the field-id form of tableSelect.
func (e *Engine) viewSelect(t Table) (string, []string, error) {
	body, paths, err := tableSelect(t)
	if err != nil || len(paths) == 0 || e.opts.FieldIDViews {
		return body, paths, err
	}
	types := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		types[i], _ = duckTypeOf(c.Type) // tableSelect checked them
	}
	if plain := fileLayouts.plainSelect(t, types, paths, nil); plain != "" {
		return plain, paths, nil
	}
	return body, paths, nil
}

// tableSelect returns the field-id SELECT that reads one table snapshot (exact under any schema evolution),
// and its absolute file paths.
func tableSelect(t Table) (string, []string, error) {
	if len(t.Columns) == 0 {
		return "", nil, fmt.Errorf("engine: table %s.%s has no columns: %w", t.Schema, t.Name, ErrInvalid)
	}
	cols := make([]string, len(t.Columns))
	types := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := duckTypeOf(c.Type)
		if err != nil {
			return "", nil, fmt.Errorf("engine: table %s.%s column %q: %w", t.Schema, t.Name, c.Name, err)
		}
		cols[i], types[i] = sqlIdent(c.Name), typ
	}
	if len(t.Files) == 0 {
		typed := make([]string, len(cols))
		for i := range cols {
			typed[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", types[i], cols[i])
		}
		return "SELECT " + strings.Join(typed, ", ") + " LIMIT 0", nil, nil
	}
	paths := make([]string, len(t.Files))
	for i, f := range t.Files {
		p, err := localPath(f)
		if err != nil {
			return "", nil, fmt.Errorf("engine: table %s.%s: %w", t.Schema, t.Name, err)
		}
		paths[i] = p
	}
	entries := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		entries[i] = fmt.Sprintf("%d: {name: %s, type: %s, default_value: NULL}", c.FieldID, sqlString(c.Name), sqlString(types[i]))
	}
	return fmt.Sprintf("SELECT %s FROM read_parquet(%s, schema = MAP {%s})",
		strings.Join(cols, ", "), sqlStringList(paths), strings.Join(entries, ", ")), paths, nil
}

// localPath strips file:// and makes p absolute (the sandbox compares absolute paths).
func localPath(p string) (string, error) {
	if rest, ok := strings.CutPrefix(p, "file://"); ok {
		p = rest
	}
	if strings.Contains(p, "://") {
		return "", fmt.Errorf("file %q is not local: the engine reads local files only: %w", p, ErrInvalid)
	}
	return filepath.Abs(p)
}

// run prepares sql and starts streaming its last statement; a poolable instance reuses what it prepared before.
func (in *instance) run(ctx context.Context, sql string) (*stream, error) {
	if in.poolKey == "" {
		ps, err := in.prepareLast(ctx, sql)
		if err != nil {
			return nil, err
		}
		return in.startStream(ctx, ps)
	}
	ps, keep, err := in.prepareReused(ctx, sql)
	if err != nil {
		return nil, err
	}
	if keep {
		return in.execStream(ctx, ps)
	}
	return in.startStream(ctx, ps)
}
