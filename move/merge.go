//go:build duckdb_arrow

package move

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/scratch"
)

// The views the merge SQL reads: the table's rows as the write builds on them, and the run's new rows.
const (
	mergeSchema  = "strata_move"
	currentView  = "current_rows"
	incomingView = "new_rows"
)

// computed is the rows that replace some data files of a table, computed from those files' rows and a run's new
// rows: written with Overwrite, based on the snapshot Base, replacing the files Replace, it is one snapshot.
type computed struct {
	*engine.Result
	Base    int64
	Replace []string // the data files of Base the rows replace (never nil): written with envs.WriteOptions.Replace
	Total   int      // the data files of Base
	cleanup func()
}

// Close ends the query and removes the spooled new rows.
func (c *computed) Close() error {
	err := c.Result.Close()
	c.cleanup()
	return err
}

// computeContents spools src (the run's new rows) to a Parquet file, picks the data files of the snapshot a
// write builds on (envs.WriteBase) whose column bounds can hold a new row's key or partition values
// (envs.FilesMatching), and returns the query that computes the rows replacing those files:
//
//   - merge: the files' rows whose key equals no new row's key, then every new row. The new rows must have one
//     row per key, without NULL in a key column: otherwise the run fails naming a key (which row should win
//     is not something a merge should guess).
//   - overwrite-partition: the files' rows whose partition values appear in no new row, then every new row.
//
// The other files hold no row with those values, so they stay as they are: the snapshot deletes only the
// picked files (a small merge into a large table rewrites a few files, not the table).
//
// Key and partition values are compared with IS NOT DISTINCT FROM (a NULL partition is a partition). The new
// rows' columns are cast to the table's types (a value that does not fit fails the run, it never widens the
// table), and a table column the new rows lack fails the run like any write (envs.SchemaMismatchError); new
// columns need schema: evolve.
func computeContents(ctx context.Context, d Deps, spec *Spec, id lake.Ident, src array.RecordReader) (*computed, error) {
	base, err := d.Envs.WriteBase(ctx, d.Env, id)
	if errors.Is(err, lake.ErrNotFound) {
		base, err = &lake.Plan{Ident: id}, nil
	}
	if err != nil {
		return nil, err
	}
	cols := spec.Target.Key
	if spec.Target.Mode == "overwrite-partition" {
		cols = spec.Target.Partition
	}
	if err := checkMergeColumns(d.Env, id, spec, src.Schema(), base, cols); err != nil {
		return nil, err
	}
	dir, cleanup, err := scratch.MkdirTemp(os.TempDir(), "strata-move-") // removed by the next run if this one is killed
	if err != nil {
		return nil, err
	}
	incoming, err := spool(ctx, src, filepath.Join(dir, "new.parquet"))
	if err != nil {
		cleanup()
		return nil, err
	}
	incoming.Schema, incoming.Name = mergeSchema, incomingView
	tables := []engine.Table{incoming}
	if spec.Target.Mode == "merge" {
		if err := checkMergeKeys(ctx, d.Engine, tables, cols); err != nil {
			cleanup()
			return nil, err
		}
	}
	replace := []string{}
	if base.SnapshotID != 0 && len(base.Columns) > 0 {
		// Only the files whose bounds can hold a new row's key (or partition) are read and rewritten; the
		// snapshot keeps every other file as it is.
		if replace, err = matchingFiles(ctx, d, id, base, tables, cols); err != nil {
			cleanup()
			return nil, err
		}
	}
	hasCurrent := len(replace) > 0
	if hasCurrent {
		cur := envs.EngineTable(base)
		cur.Schema, cur.Name, cur.Files = mergeSchema, currentView, replace
		tables = append(tables, cur)
	}
	res, err := d.Engine.Query(ctx, contentsSQL(incoming, base, cols, hasCurrent), tables)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("compute the %s of %s: %w", spec.Target.Mode, id, err)
	}
	return &computed{Result: res, Base: base.SnapshotID, Replace: replace, Total: len(base.Files), cleanup: cleanup}, nil
}

// matchingFiles returns the data files of base that may hold one of the new rows' values of cols (the merge
// key or the partition columns), judged from the files' column bounds: the files the write replaces.
func matchingFiles(ctx context.Context, d Deps, id lake.Ident, base *lake.Plan, tables []engine.Table, cols []string) ([]string, error) {
	types := map[string]string{}
	for _, c := range base.Columns {
		if t, err := engine.IcebergToDuckDB(c.Type); err == nil {
			types[c.Name] = t
		}
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		q := quoteIdent(c)
		sel[i] = q
		if t, ok := types[c]; ok { // compared with the bounds of the table's column
			sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", q, t, q)
		}
	}
	keys, err := d.Engine.Query(ctx, fmt.Sprintf("SELECT DISTINCT %s FROM %s.%s", strings.Join(sel, ", "), mergeSchema, incomingView), tables)
	if err != nil {
		return nil, fmt.Errorf("list the new rows' keys: %w", err)
	}
	defer keys.Close()
	files, err := d.Envs.FilesMatching(ctx, d.Env, id, base.SnapshotID, keys)
	if err != nil {
		return nil, fmt.Errorf("choose the files of %s to rewrite: %w", id, err)
	}
	return files, nil
}

// checkMergeColumns checks the key or partition columns and the new rows' columns against the table.
func checkMergeColumns(env string, id lake.Ident, spec *Spec, sc *arrow.Schema, base *lake.Plan, cols []string) error {
	for _, c := range cols {
		if len(sc.FieldIndices(c)) == 0 {
			return fmt.Errorf("%w: %s column %q is not among the new rows' columns (%s)", ErrInvalid, keyWord(spec), c, fieldNames(sc))
		}
	}
	if base.SnapshotID == 0 {
		return nil
	}
	mm := &envs.SchemaMismatchError{Env: env, Table: id}
	inTable := map[string]bool{}
	for _, c := range base.Columns {
		inTable[c.Name] = true
		if len(sc.FieldIndices(c.Name)) == 0 {
			mm.Missing = append(mm.Missing, c)
		}
	}
	for _, f := range sc.Fields() {
		if !inTable[f.Name] && spec.Schema != "evolve" {
			mm.Extra = append(mm.Extra, lake.Column{Name: f.Name, Type: envs.LakeTypeName(f.Type)})
		}
	}
	if len(mm.Missing) > 0 || len(mm.Extra) > 0 {
		return mm
	}
	return nil
}

func keyWord(spec *Spec) string {
	if spec.Target.Mode == "merge" {
		return "merge key"
	}
	return "partition"
}

func fieldNames(sc *arrow.Schema) string {
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// checkMergeKeys fails when the new rows hold a key twice or a NULL in a key column, naming the first such keys.
func checkMergeKeys(ctx context.Context, eng *engine.Engine, tables []engine.Table, key []string) error {
	quoted := quoteAll(key)
	var nulls []string
	for _, k := range quoted {
		nulls = append(nulls, k+" IS NULL")
	}
	q := fmt.Sprintf(`SELECT %s, count(*) AS n FROM %s.%s GROUP BY ALL HAVING count(*) > 1 OR %s ORDER BY n DESC LIMIT 3`,
		strings.Join(quoted, ", "), mergeSchema, incomingView, strings.Join(nulls, " OR "))
	res, err := eng.Query(ctx, q, tables)
	if err != nil {
		return fmt.Errorf("check the merge key: %w", err)
	}
	defer res.Close()
	var bad []string
	for res.Next() {
		rb := res.RecordBatch()
		for r := 0; r < int(rb.NumRows()); r++ {
			var vals []string
			for c := range key {
				vals = append(vals, rb.Column(c).ValueStr(r))
			}
			n := rb.Column(len(key)).(*array.Int64).Value(r)
			bad = append(bad, fmt.Sprintf("(%s)=(%s) %d times", strings.Join(key, ", "), strings.Join(vals, ", "), n))
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("check the merge key: %w", err)
	}
	if len(bad) > 0 {
		return errs.E(errs.BadData, "merge: the new rows must hold each key once and no NULL key: %s; deduplicate them in the source (e.g. SELECT DISTINCT ON (%s) ... ORDER BY %s, updated_at DESC)",
			strings.Join(bad, ", "), strings.Join(key, ", "), strings.Join(key, ", "))
	}
	return nil
}

// contentsSQL is the query of the table's new contents (see computeContents).
func contentsSQL(incoming engine.Table, base *lake.Plan, cols []string, hasCurrent bool) string {
	types := map[string]string{}
	for _, c := range base.Columns {
		if t, err := engine.IcebergToDuckDB(c.Type); err == nil {
			types[c.Name] = t
		}
	}
	sel := make([]string, len(incoming.Columns))
	for i, c := range incoming.Columns {
		q := quoteIdent(c.Name)
		if t, ok := types[c.Name]; ok && hasCurrent {
			sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", q, t, q)
		} else {
			sel[i] = q
		}
	}
	newRows := fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(sel, ", "), mergeSchema, incomingView)
	if !hasCurrent {
		return newRows
	}
	var match []string
	for _, c := range quoteAll(cols) {
		match = append(match, fmt.Sprintf("n.%s IS NOT DISTINCT FROM c.%s", c, c))
	}
	return fmt.Sprintf(`SELECT * FROM %s.%s AS c WHERE NOT EXISTS (SELECT 1 FROM %s.%s AS n WHERE %s)
UNION ALL BY NAME %s`, mergeSchema, currentView, mergeSchema, incomingView, strings.Join(match, " AND "), newRows)
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteIdent(n)
	}
	return out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// spool writes src's rows to a Parquet file at path, with a field id per column so the engine can read it as a
// table, and returns that table (without schema and name).
func spool(ctx context.Context, src array.RecordReader, path string) (engine.Table, error) {
	in := src.Schema()
	fields := make([]arrow.Field, in.NumFields())
	t := engine.Table{Files: []string{path}}
	for i, f := range in.Fields() {
		id := strconv.Itoa(i + 1)
		f.Metadata = arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{id})
		fields[i] = f
		t.Columns = append(t.Columns, engine.Column{FieldID: i + 1, Name: f.Name, Type: envs.LakeTypeName(f.Type)})
	}
	sc := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		return t, err
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(128*1024))
	w, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		return t, fmt.Errorf("spool the new rows: %w", err)
	}
	for src.Next() {
		if err := ctx.Err(); err != nil {
			_ = w.Close()
			return t, err
		}
		rb := src.RecordBatch()
		rec := array.NewRecordBatch(sc, rb.Columns(), rb.NumRows())
		err := w.WriteBuffered(rec)
		rec.Release()
		if err != nil {
			_ = w.Close()
			return t, fmt.Errorf("spool the new rows: %w", err)
		}
	}
	if err := src.Err(); err != nil {
		_ = w.Close()
		return t, err
	}
	if err := w.Close(); err != nil {
		return t, fmt.Errorf("spool the new rows: %w", err)
	}
	return t, nil
}
