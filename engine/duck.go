//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go-bindings"

	"github.com/strata-data/strata/scratch"
)

// This file is the only one that talks to DuckDB's C API. It uses the bindings of duckdb-go directly because
// duckdb-go's own Arrow reader materialises the whole result before returning the first batch (measured: 692 MB
// RSS for 20M rows) and ends a stream that failed half-way as if it had ended cleanly. A streaming pending result
// fixes both: constant memory, and duckdb_result_error is checked when the stream ends.

// instance is one private, in-memory DuckDB database with one connection. Every Query, ReadFile and Export
// opens its own instance and closes it when done, so concurrent calls share nothing but the process.
//
// All methods but interrupt must be called from one goroutine at a time (reader enforces that for the
// streaming results, whose Close may come from another goroutine).
type instance struct {
	db      duckdb.Database
	conn    duckdb.Connection
	tmpDir  string // private spill and scratch directory, removed by close
	tmpDone func() // removes tmpDir and the process's scratch folder once empty

	cancel    context.CancelFunc // interrupts the instance for good
	stopWatch chan struct{}
	watchDone chan struct{}
	closed    bool

	interrupted atomic.Bool // the watcher interrupted DuckDB at least once: never reuse the instance
	readOnly    bool        // every statement prepareLast ran was a SELECT (or PREPARE/EXECUTE of one)
	poolKey     string      // the setup the instance was sealed with, when it may be pooled
	stmts       stmtCache   // statements a pooled instance keeps prepared (stmtcache.go)
	counts      *stmtCounts // the engine's statement counts, set for pooled instances

	setup    bool    // a pooled database of QueryInSetup (kept longer by the sweep: pool.go)
	tables   []Table // the tables a poolable instance was set up with (hot.go)
	uses     int     // how many times the pool handed the instance out again
	hotTried bool    // the instance tried to copy its tables into memory
	hotBytes int64   // memory its in-memory tables hold; set by the load, read after loadDone
	onClose  func()  // releases what the engine charged for the instance; set like hotBytes

	aux        *instance          // second connection to db, used by the load (hot.go); only its db and conn are set
	hasAux     bool               //
	loadCancel context.CancelFunc // stops the load of the in-memory tables
	loadDone   chan struct{}      // closed when the load has ended
}

// openInstance opens a database with the engine's settings. Call start before using it for a request.
func openInstance(o Options) (*instance, error) {
	// below the process's scratch folder, so that the next process removes it when this one is killed
	tmp, tmpDone, err := scratch.MkdirTemp(o.TempDir, "q-")
	if err != nil {
		return nil, fmt.Errorf("engine: create temp dir under %q: %w (set a writable engine temp dir)", o.TempDir, err)
	}
	var cfg duckdb.Config
	if duckdb.CreateConfig(&cfg) == duckdb.StateError {
		tmpDone()
		return nil, errors.New("engine: duckdb: cannot create config")
	}
	defer duckdb.DestroyConfig(&cfg)
	settings := [][2]string{
		{"threads", fmt.Sprint(o.Threads)},
		{"temp_directory", tmp},
		{"autoinstall_known_extensions", "false"},
		{"autoload_known_extensions", "false"},
		{"allow_community_extensions", "false"},
		// Lake views (read_parquet with a field-id schema) give DuckDB no row estimates, so it would take an
		// ASOF join over lake tables for a tiny one and run it as a nested loop (its threshold is 64 rows):
		// 54 CPU-s instead of under 2 for a 1M x 100k point-in-time join. Always plan the real ASOF join.
		{"asof_loop_join_threshold", "0"},
	}
	if o.MemoryLimit != "" {
		settings = append(settings, [2]string{"memory_limit", o.MemoryLimit})
	}
	for _, s := range settings {
		if duckdb.SetConfig(cfg, s[0], s[1]) == duckdb.StateError {
			tmpDone()
			return nil, fmt.Errorf("engine: invalid setting %s=%q: %w", s[0], s[1], ErrInvalid)
		}
	}
	in := &instance{tmpDir: tmp, tmpDone: tmpDone, aux: &instance{}}
	var msg string
	if duckdb.OpenExt(":memory:", &in.db, cfg, &msg) == duckdb.StateError {
		tmpDone()
		return nil, fmt.Errorf("engine: open duckdb: %s: %w", msg, ErrInvalid)
	}
	if duckdb.Connect(in.db, &in.conn) == duckdb.StateError {
		duckdb.Close(&in.db)
		tmpDone()
		return nil, errors.New("engine: duckdb: cannot connect")
	}
	// Arrow output must be types iceberg-go and every Arrow client understand: plain utf8 (not string_view),
	// 32-bit offsets, UUID/JSON as strings, timestamptz in UTC. streaming_buffer_size bounds the rows DuckDB
	// computes ahead of a streaming reader: DuckDB 1.x's default, stated because 2.0 raises it to 10 MiB.
	const session = "SET TimeZone = 'UTC'; SET produce_arrow_string_view = false; " +
		"SET arrow_large_buffer_size = false; SET arrow_lossless_conversion = false; SET parquet_metadata_cache = true; SET streaming_buffer_size = '1MB'"
	if err := in.exec(context.Background(), session); err != nil {
		_ = in.close()
		return nil, err
	}
	// A second connection with the same session settings (TimeZone is per connection and cannot be set once the
	// database is sealed) copies the tables of a pooled database into memory while the first serves queries.
	if duckdb.Connect(in.db, &in.aux.conn) == duckdb.StateError {
		_ = in.close()
		return nil, errors.New("engine: duckdb: cannot connect")
	}
	in.aux.db, in.hasAux = in.db, true
	if err := in.aux.exec(context.Background(), session); err != nil {
		_ = in.close()
		return nil, err
	}
	return in, nil
}

// start ties the instance to a request: cancelling ctx (or calling interrupt) stops what it runs.
func (in *instance) start(ctx context.Context) {
	wctx, cancel := context.WithCancel(ctx)
	in.cancel = cancel
	in.stopWatch, in.watchDone = make(chan struct{}), make(chan struct{})
	go in.watch(wctx)
}

// watch interrupts the running statement once ctx ends, and again every 20 ms until close: DuckDB drops an
// interrupt that arrives between two statements or while one is being set up (duckdb-go does the same).
func (in *instance) watch(ctx context.Context) {
	defer close(in.watchDone)
	select {
	case <-ctx.Done():
	case <-in.stopWatch:
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		in.interrupted.Store(true)
		duckdb.Interrupt(in.conn)
		select {
		case <-in.stopWatch:
			return
		case <-tick.C:
		}
	}
}

// interrupt stops whatever the instance is running, now and until it is closed. Safe from any goroutine.
func (in *instance) interrupt() { in.cancel() }

// stop ends the watcher: the instance interrupts nothing any more. Idempotent.
func (in *instance) stop() {
	if in.stopWatch != nil {
		close(in.stopWatch)
		<-in.watchDone
		in.cancel()
		in.stopWatch = nil
	}
}

// close disconnects, closes the database and removes the private temp dir. Idempotent.
func (in *instance) close() error {
	if in.closed {
		return nil
	}
	in.closed = true
	in.stop()
	if in.loadDone != nil {
		in.loadCancel()
		<-in.loadDone
	}
	in.dropKept()
	if in.hasAux {
		duckdb.Disconnect(&in.aux.conn)
	}
	duckdb.Disconnect(&in.conn)
	if in.onClose != nil {
		in.onClose()
	}
	duckdb.Close(&in.db)
	err := os.RemoveAll(in.tmpDir)
	if in.tmpDone != nil {
		in.tmpDone()
	}
	return err
}

// exec runs one or more statements and discards their results.
func (in *instance) exec(ctx context.Context, sql string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var res duckdb.Result
	defer duckdb.DestroyResult(&res)
	if duckdb.Query(in.conn, sql, &res) == duckdb.StateError {
		return ctxErr(ctx, parseError(duckdb.ResultError(&res)))
	}
	return nil
}

// prepareLast runs every statement of sql but the last and prepares the last one, whose result the caller
// streams with startStream. The caller destroys the returned statement.
func (in *instance) prepareLast(ctx context.Context, sql string) (duckdb.PreparedStatement, error) {
	return in.prepareStatements(ctx, sql, nil)
}

// prepareStatements is prepareLast; ran, if set, is told of every statement run before the last (its index, the
// number of statements and its type).
func (in *instance) prepareStatements(ctx context.Context, sql string, ran func(i, n int, typ duckdb.StatementType)) (duckdb.PreparedStatement, error) {
	var stmt duckdb.PreparedStatement
	var ex duckdb.ExtractedStatements
	n := duckdb.ExtractStatements(in.conn, sql, &ex)
	defer duckdb.DestroyExtracted(&ex)
	if n == 0 {
		if msg := duckdb.ExtractStatementsError(ex); msg != "" {
			return stmt, parseError(msg)
		}
		return stmt, fmt.Errorf("engine: the query is empty: %w", ErrInvalid)
	}
	in.readOnly = true
	for i := duckdb.IdxT(0); i < n; i++ {
		if err := ctx.Err(); err != nil {
			return stmt, err
		}
		var ps duckdb.PreparedStatement
		if duckdb.PrepareExtractedStatement(in.conn, ex, i, &ps) == duckdb.StateError {
			err := parseError(duckdb.PrepareError(ps))
			duckdb.DestroyPrepare(&ps)
			return stmt, ctxErr(ctx, err)
		}
		typ := duckdb.PreparedStatementType(ps)
		switch typ {
		case duckdb.StatementTypeSelect, duckdb.StatementTypePrepare, duckdb.StatementTypeExecute:
		default:
			in.readOnly = false
		}
		if i == n-1 {
			return ps, nil
		}
		var res duckdb.Result
		state := duckdb.ExecutePrepared(ps, &res)
		msg := duckdb.ResultError(&res)
		duckdb.DestroyResult(&res)
		duckdb.DestroyPrepare(&ps)
		if state == duckdb.StateError {
			return stmt, ctxErr(ctx, parseError(msg))
		}
		if ran != nil {
			ran(int(i), int(n), typ)
		}
	}
	panic("unreachable")
}

func destroyPrepared(ps *duckdb.PreparedStatement) { duckdb.DestroyPrepare(ps) }

// columnTypes returns the Arrow schema a prepared statement will produce, without running it.
func (in *instance) columnTypes(ps duckdb.PreparedStatement) (*arrow.Schema, error) {
	schema, _, err := in.columnTypesHints(ps)
	return schema, err
}

// columnTypesHints is columnTypes with the columns' hints (see ColumnHints).
func (in *instance) columnTypesHints(ps duckdb.PreparedStatement) (*arrow.Schema, []string, error) {
	n := duckdb.PreparedStatementColumnCount(ps)
	names := make([]string, n)
	types := make([]duckdb.LogicalType, n)
	hints := make([]string, n)
	for i := range n {
		names[i] = duckdb.PreparedStatementColumnName(ps, i)
		types[i] = duckdb.PreparedStatementColumnLogicalType(ps, i)
		hints[i] = columnHint(types[i])
	}
	defer func() {
		for i := range types {
			duckdb.DestroyLogicalType(&types[i])
		}
	}()
	var opts duckdb.ArrowOptions
	duckdb.ConnectionGetArrowOptions(in.conn, &opts)
	defer duckdb.DestroyArrowOptions(&opts)
	schema, ed := duckdb.NewArrowSchema(opts, types, names)
	defer duckdb.DestroyErrorData(&ed)
	if duckdb.ErrorDataHasError(ed) {
		return nil, nil, fmt.Errorf("engine: result types have no Arrow form: %s", duckdb.ErrorDataMessage(ed))
	}
	return schema, hints, nil
}

// queryStrings runs a small query and returns its rows as strings ("" for NULL).
func (in *instance) queryStrings(ctx context.Context, sql string) ([][]string, error) {
	ps, err := in.prepareLast(ctx, sql)
	if err != nil {
		return nil, err
	}
	s, err := in.startStream(ctx, ps)
	if err != nil {
		return nil, err
	}
	defer s.release()
	var rows [][]string
	for s.next() {
		for i := 0; i < int(s.cur.NumRows()); i++ {
			row := make([]string, s.cur.NumCols())
			for c := range row {
				if col := s.cur.Column(c); col.IsValid(i) {
					row[c] = strings.Clone(col.ValueStr(i)) // the batch's memory goes with the next batch
				}
			}
			rows = append(rows, row)
		}
	}
	return rows, s.err
}

// stream is the streaming result of one statement, read as Arrow record batches of up to 2048 rows.
type stream struct {
	ctx    context.Context
	in     *instance
	res    duckdb.Result
	opts   duckdb.ArrowOptions
	schema *arrow.Schema
	live   bool // res and opts need destroying

	// atEnd, if set, runs once when the result is exhausted without error and before next reports the end;
	// an error it returns becomes the stream's error. It may use the connection.
	atEnd func() error
	// explain, if set, rewrites an error DuckDB reports while streaming (to name a file's line, say).
	explain func(error) error

	hints []string // ColumnHints

	// first is the chunk execStream fetched to wait for the first rows (nil once handed out); atEOF says that
	// fetch found the end of the result instead.
	first duckdb.DataChunk
	atEOF bool

	cur  arrow.RecordBatch
	err  error
	done bool
	rows atomic.Int64 // read by Rows from any goroutine
}

// startStream executes a prepared statement as a streaming result. It takes ownership of ps.
func (in *instance) startStream(ctx context.Context, ps duckdb.PreparedStatement) (*stream, error) {
	defer duckdb.DestroyPrepare(&ps)
	return in.execStream(ctx, ps)
}

// execStream executes a prepared statement as a streaming result; ps stays the caller's and may run again.
func (in *instance) execStream(ctx context.Context, ps duckdb.PreparedStatement) (*stream, error) {
	var pending duckdb.PendingResult
	defer duckdb.DestroyPending(&pending)
	if duckdb.PendingPreparedStreaming(ps, &pending) == duckdb.StateError {
		return nil, ctxErr(ctx, parseError(duckdb.PendingError(pending)))
	}
	s := &stream{ctx: ctx, in: in}
	if duckdb.ExecutePending(pending, &s.res) == duckdb.StateError {
		err := ctxErr(ctx, parseError(duckdb.ResultError(&s.res)))
		duckdb.DestroyResult(&s.res)
		return nil, err
	}
	s.live = true
	s.opts = duckdb.ResultGetArrowOptions(&s.res)
	n := duckdb.ColumnCount(&s.res)
	names := make([]string, n)
	types := make([]duckdb.LogicalType, n)
	s.hints = make([]string, n)
	for i := range n {
		names[i] = duckdb.ColumnName(&s.res, i)
		types[i] = duckdb.ColumnLogicalType(&s.res, i)
		s.hints[i] = columnHint(types[i])
	}
	defer func() {
		for i := range types {
			duckdb.DestroyLogicalType(&types[i])
		}
	}()
	schema, ed := duckdb.NewArrowSchema(s.opts, types, names)
	defer duckdb.DestroyErrorData(&ed)
	if duckdb.ErrorDataHasError(ed) {
		s.release()
		return nil, fmt.Errorf("engine: result types have no Arrow form: %s", duckdb.ErrorDataMessage(ed))
	}
	s.schema = schema
	// DuckDB 2.0 returns from ExecutePending as soon as a streaming result starts, before any row exists: wait
	// for the first chunk here, so that an error (or a cancel) before the first rows fails the statement, not
	// its first Next, and a statement whose first rows are ready has run as far as DuckDB 1.x's did.
	if !s.fetch() {
		if msg := duckdb.ResultError(&s.res); msg != "" {
			err := ctxErr(ctx, parseError(msg))
			s.release()
			return nil, err
		}
	}
	return s, nil
}

// fetch fetches the next non-empty chunk into s.first; false at the end of the result or on an error.
func (s *stream) fetch() bool {
	for {
		chunk := duckdb.FetchChunk(s.res)
		if chunk.Ptr == nil {
			s.atEOF = true
			return false
		}
		if duckdb.DataChunkGetSize(chunk) > 0 {
			s.first = chunk
			return true
		}
		duckdb.DestroyDataChunk(&chunk)
	}
}

// nextChunk hands out the chunk fetched ahead, then fetches; ok is false at the end or on an error.
func (s *stream) nextChunk() (duckdb.DataChunk, bool) {
	if s.first.Ptr == nil && (s.atEOF || !s.fetch()) {
		return duckdb.DataChunk{}, false
	}
	chunk := s.first
	s.first = duckdb.DataChunk{}
	return chunk, true
}

// next fetches the next batch; it returns false at the end or on error (see s.err).
func (s *stream) next() bool {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	if s.done || s.err != nil {
		return false
	}
	if err := s.ctx.Err(); err != nil {
		s.fail(err)
		return false
	}
	chunk, ok := s.nextChunk()
	if !ok {
		s.finish()
		return false
	}
	size := duckdb.DataChunkGetSize(chunk)
	rec, ed := duckdb.DataChunkToArrowArray(s.opts, s.schema, chunk)
	duckdb.DestroyDataChunk(&chunk)
	hasErr := duckdb.ErrorDataHasError(ed)
	msg := duckdb.ErrorDataMessage(ed)
	duckdb.DestroyErrorData(&ed)
	if hasErr {
		s.fail(fmt.Errorf("engine: convert result to Arrow: %s", msg))
		return false
	}
	s.cur = rec
	s.rows.Add(int64(size))
	return true
}

// finish runs when DuckDB has no more chunks: it decides between a clean end and an error.
func (s *stream) finish() {
	if msg := duckdb.ResultError(&s.res); msg != "" {
		err := parseError(msg)
		if s.explain != nil && s.ctx.Err() == nil {
			err = s.explain(err)
		}
		s.fail(ctxErr(s.ctx, err))
		return
	}
	if err := s.ctx.Err(); err != nil {
		s.fail(err)
		return
	}
	s.release()
	if s.atEnd != nil {
		if err := s.atEnd(); err != nil {
			s.fail(err)
			return
		}
	}
	s.done = true
}

func (s *stream) fail(err error) {
	s.err = err
	s.release()
}

// release frees the DuckDB result (not the instance).
func (s *stream) release() {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	if s.first.Ptr != nil {
		duckdb.DestroyDataChunk(&s.first)
		s.first = duckdb.DataChunk{}
	}
	if s.live {
		s.live = false
		duckdb.DestroyArrowOptions(&s.opts)
		duckdb.DestroyResult(&s.res)
	}
}

// Error is an error DuckDB reported. Kind is DuckDB's error class as it prefixes its messages ("Parser",
// "Binder", "Catalog", "Conversion", "Invalid Input", "Interrupt", "Out of Memory", ...); Msg is the rest of
// the message, which often names the offending line of SQL. Errors of kinds caused by the SQL or the data
// match ErrInvalid with errors.Is.
type Error struct {
	Kind string
	Msg  string
}

func (e *Error) Error() string {
	if e.Kind == "" {
		return e.Msg
	}
	return e.Kind + " Error: " + e.Msg
}

// Unwrap maps user-caused kinds to ErrInvalid.
func (e *Error) Unwrap() error {
	switch e.Kind {
	case "Parser", "Syntax", "Binder", "Catalog", "Conversion", "Invalid Input", "Out of Range",
		"Permission", "Mismatch Type", "Invalid Type", "Not implemented", "Constraint", "Dependency",
		"Decimal", "Divide by Zero", "Parameter Not Resolved", "Parameter Not Allowed", "Invalid Configuration":
		return ErrInvalid
	}
	return nil
}

// parseError splits DuckDB's "<Kind> Error: <message>" text into an *Error.
func parseError(msg string) error {
	if msg == "" {
		msg = "unknown DuckDB error"
	}
	if i := strings.Index(msg, " Error: "); i > 0 && i < 40 && !strings.ContainsAny(msg[:i], ":\n") {
		return &Error{Kind: msg[:i], Msg: msg[i+len(" Error: "):]}
	}
	return &Error{Msg: msg}
}

// ctxErr prefers the context's error when the statement failed because the context ended.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// jsonColumns returns the paths to the parts of the statement's result columns that have DuckDB's JSON type,
// which its JSON reader gives a key whose values have different JSON types (see jsonPath).
func (in *instance) jsonColumns(ps duckdb.PreparedStatement) []jsonPath {
	var out []jsonPath
	for i := range duckdb.PreparedStatementColumnCount(ps) {
		t := duckdb.PreparedStatementColumnLogicalType(ps, i)
		out = appendJSONPaths(out, jsonPath{duckdb.PreparedStatementColumnName(ps, i)}, t)
		duckdb.DestroyLogicalType(&t)
	}
	return out
}

func appendJSONPaths(out []jsonPath, path jsonPath, t duckdb.LogicalType) []jsonPath {
	if duckdb.LogicalTypeGetAlias(t) == "JSON" {
		return append(out, append(jsonPath(nil), path...))
	}
	child := func(step string, c duckdb.LogicalType) {
		out = appendJSONPaths(out, append(path, step), c)
		duckdb.DestroyLogicalType(&c)
	}
	switch duckdb.GetTypeId(t) {
	case duckdb.TypeStruct:
		for i := range duckdb.StructTypeChildCount(t) {
			child(duckdb.StructTypeChildName(t, i), duckdb.StructTypeChildType(t, i))
		}
	case duckdb.TypeList:
		child(jsonEach, duckdb.ListTypeChildType(t))
	case duckdb.TypeArray:
		child(jsonEach, duckdb.ArrayTypeChildType(t))
	case duckdb.TypeMap:
		child(jsonEach, duckdb.MapTypeValueType(t))
	}
	return out
}
