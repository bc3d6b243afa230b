//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// QueryDeferred is Query for a result that is to be written to a table. The SQL is checked and prepared
// before QueryDeferred returns (errors in it come from here), but it runs only when the Result is first read,
// and when a Result nothing of which has been read is handed to WriteParquet (of any Engine), its rows are
// not read at all: its own database runs COPY (the query) TO Parquet, so they never pass through Go or a
// second database (a 1M x 100k x 50 training set moved every row DuckDB → Arrow → Go → DuckDB). The Result
// then ends as if read: Next returns false, Err nil, Rows the rows written, Copied true.
//
// Errors while running the query come from Next and Err, or from WriteParquet. As with Query, every
// statement of sql but the last runs first; only a result of one SELECT statement is copied (any other is
// read by WriteParquet like a Query's). The database may write into its own private temporary directory,
// where the copy writes its files before WriteParquet moves them; the sandbox is otherwise Query's.
func (e *Engine) QueryDeferred(ctx context.Context, sql string, tables []Table) (*Result, error) {
	in, err := e.prepareDeferred(ctx, tables)
	if err != nil {
		return nil, err
	}
	lz, schema, hints, err := in.prepareLazy(ctx, sql)
	if err != nil {
		e.retire(in)
		return nil, err
	}
	r := &Result{}
	r.init(in, &stream{ctx: ctx, in: in, schema: schema, hints: hints}, e.retire)
	r.lazy = lz
	return r, nil
}

// prepareDeferred opens a database with the tables' views, sealed so that it can also write into its own
// temporary directory.
func (e *Engine) prepareDeferred(ctx context.Context, tables []Table) (*instance, error) {
	setup, files, err := e.viewsSQL(tables)
	if err != nil {
		return nil, err
	}
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
	if err := e.sandbox(ctx, in, files, []string{in.tmpDir + string(filepath.Separator)}); err != nil {
		e.retire(in)
		return nil, err
	}
	return in, nil
}

// lazyStart is a deferred query that has not started: its prepared last statement, and that statement's text
// when the query may be copied (one SELECT statement), else "".
type lazyStart struct {
	ps    duckdb.PreparedStatement
	query string
}

// prepareLazy prepares sql's last statement (running the others) and returns it with the schema and column
// hints its result will have.
func (in *instance) prepareLazy(ctx context.Context, sql string) (*lazyStart, *arrow.Schema, []string, error) {
	single := true
	ps, err := in.prepareStatements(ctx, sql, func(int, int, duckdb.StatementType) { single = false })
	if err != nil {
		return nil, nil, nil, err
	}
	schema, err := in.columnTypes(ps)
	if err != nil {
		duckdb.DestroyPrepare(&ps)
		return nil, nil, nil, err
	}
	hints := make([]string, schema.NumFields())
	for i := range hints {
		t := duckdb.PreparedStatementColumnLogicalType(ps, duckdb.IdxT(i))
		hints[i] = columnHint(t)
		duckdb.DestroyLogicalType(&t)
	}
	lz := &lazyStart{ps: ps}
	if single && duckdb.PreparedStatementType(ps) == duckdb.StatementTypeSelect {
		lz.query = strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")
	}
	return lz, schema, hints, nil
}

// startLazy runs a deferred query that has not started yet; an error becomes the stream's. Called with r.mu held.
func (r *reader) startLazy() {
	lz := r.lazy
	if lz == nil {
		return
	}
	r.lazy = nil
	s := r.s
	started, err := r.in.execStream(s.ctx, lz.ps)
	duckdb.DestroyPrepare(&lz.ps)
	if err != nil {
		s.fail(err)
		return
	}
	s.res, s.opts, s.live, s.schema, s.hints = started.res, started.opts, true, started.schema, started.hints
	s.first, s.atEOF = started.first, started.atEOF
}

// dropLazy frees the statement of a deferred query that never started. Called with r.mu held.
func (r *reader) dropLazy() {
	if r.lazy != nil {
		duckdb.DestroyPrepare(&r.lazy.ps)
		r.lazy = nil
	}
}

// Copied reports whether WriteParquet wrote the result's rows by a COPY in the query's own database (see
// QueryDeferred) rather than reading them.
func (r *Result) Copied() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.copied
}

// errNotCopied: the COPY statement could not be prepared from the query's text; the rows are read instead.
var errNotCopied = errors.New("engine: the query cannot be copied")

// copyParquet is WriteParquet for a deferred query nothing of which has been read: its own database copies the
// query's rows, cast to schema's types, to Parquet in its temporary directory, and the files are moved into
// dir. It returns errNotCopied, having changed nothing, when the query's text cannot be wrapped in a COPY (the
// caller then reads the rows). On any other error the Result fails with it and no file remains. ctx, besides
// the query's own context, interrupts the copy.
func (r *Result) copyParquet(ctx context.Context, dir string, schema *arrow.Schema) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lz, s := r.lazy, r.s
	if r.closed || lz == nil || lz.query == "" {
		return nil, errNotCopied
	}
	plan, err := planParquet(s.schema, schema)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(r.in.tmpDir, "write-")
	if err != nil {
		return nil, fmt.Errorf("engine: write parquet: %w", err)
	}
	defer os.RemoveAll(scratch)
	stop := context.AfterFunc(ctx, r.in.interrupt)
	defer stop()
	ps, err := r.in.prepareLast(ctx, plan.copySQL("(\n"+lz.query+"\n)", filepath.Join(scratch, "out")))
	if err != nil {
		if ctx.Err() == nil && s.ctx.Err() == nil {
			return nil, errNotCopied
		}
		err = ctxErr(ctx, err)
		r.dropLazy()
		s.fail(err)
		return nil, err
	}
	r.dropLazy()
	rows, files, err := r.in.runCopy(ctx, ps)
	if err != nil {
		if ctx.Err() == nil {
			err = ctxErr(s.ctx, err)
		}
		s.fail(err)
		return nil, err
	}
	out, err := moveFiles(files, rows, dir)
	if err != nil {
		s.fail(err)
		return nil, err
	}
	s.rows.Store(rows)
	s.done = true
	r.finished.Store(true)
	r.copied = true
	return out, nil
}

// innermost unwraps readers that promise to deliver exactly the rows of the reader they wrap, with the same
// column names and types (metadata aside), by an Unwrap method.
func innermost(rdr array.RecordReader) array.RecordReader {
	for {
		u, ok := rdr.(interface{ Unwrap() array.RecordReader })
		if !ok {
			return rdr
		}
		rdr = u.Unwrap()
	}
}
