package sqlwire

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
)

// cursor is the result of one statement being sent to the client: command tag only, a few precomputed text
// rows (SHOW), or an engine result streamed batch by batch.
type cursor struct {
	tag    string // command tag; "SELECT" gets the row count appended
	fields []pgproto3.FieldDescription
	static [][][]byte

	res     *engine.Result
	schema  *arrow.Schema  // res's, kept once its rows ended and it was closed (endRows)
	hints   []string       // res.ColumnHints()
	loc     *time.Location // the session's TimeZone
	encs    []colEncoder   // of the current batch
	formats []int16        // per column; nil = all text
	scratch []byte         // values() encodes into it
	ends    []int          // values(): end of each value in scratch, -1 for NULL
	vals    [][]byte       // values(): the result
	batch   arrow.RecordBatch
	row     int // next row of batch

	copy *copyOut // COPY ... TO STDOUT: rows go out as CopyData

	// FETCH and MOVE: rows come from the declared cursor from, limit at a time (0 = all); skip moves
	// without sending.
	from         *cursor
	limit        int64
	skip         bool
	fetchFormats []int16 // the FETCH's own Bind formats (extended protocol); nil = the cursor's

	sent int64
	done bool
}

func textFields(names ...string) []pgproto3.FieldDescription {
	out := make([]pgproto3.FieldDescription, len(names))
	for i, n := range names {
		out[i] = pgproto3.FieldDescription{Name: []byte(n), DataTypeOID: oidText, DataTypeSize: -1, TypeModifier: -1}
	}
	return out
}

// fieldsOf describes a result as RowDescription fields (text format, no table OIDs yet).
func fieldsOf(res *engine.Result, hints []string) []pgproto3.FieldDescription {
	return schemaFields(res.Schema(), hints)
}

// schemaFields is fieldsOf for a result's schema.
func schemaFields(s *arrow.Schema, hints []string) []pgproto3.FieldDescription {
	out := make([]pgproto3.FieldDescription, s.NumFields())
	for i, f := range s.Fields() {
		t := typeOf(f.Type, hints[i])
		out[i] = pgproto3.FieldDescription{Name: []byte(f.Name), DataTypeOID: t.OID, DataTypeSize: t.Size, TypeModifier: t.Typmod}
	}
	return out
}

// describe sends RowDescription, or NoData for a statement that returns no rows (COPY among them).
func (cu *cursor) describe(c *conn) {
	if cu.fields == nil || cu.copy != nil {
		c.be.Send(&pgproto3.NoData{})
		return
	}
	c.be.Send(&pgproto3.RowDescription{Fields: cu.fields})
}

// describeRows is describe for the simple protocol, which sends nothing for a statement without rows.
func (cu *cursor) describeRows(c *conn) {
	if cu.fields != nil && cu.copy == nil {
		c.be.Send(&pgproto3.RowDescription{Fields: cu.fields})
	}
}

// send streams up to max rows (0 = all) and then CommandComplete, or PortalSuspended when rows remain.
// It flushes after every batch so a large result never accumulates in the write buffer.
func (cu *cursor) send(c *conn, max int64) (suspended bool, err error) {
	if cu.copy != nil {
		return false, cu.sendCopy(c)
	}
	if cu.from != nil {
		return false, cu.sendFetch(c)
	}
	start := cu.sent
	for len(cu.static) > 0 && !cu.done {
		if max > 0 && cu.sent-start >= max {
			c.be.Send(&pgproto3.PortalSuspended{})
			return true, nil
		}
		c.be.Send(&pgproto3.DataRow{Values: cu.static[0]})
		cu.static = cu.static[1:]
		cu.sent++
	}
	if cu.res != nil && !cu.done {
		more, err := cu.stream(c, max)
		if err != nil {
			return false, err
		}
		if more {
			c.be.Send(&pgproto3.PortalSuspended{})
			return true, nil
		}
	}
	cu.done = true
	tag := cu.tag
	if tag == "SELECT" {
		tag += " " + strconv.FormatInt(cu.sent, 10)
	}
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	return false, nil
}

// sendCopy streams the whole result as COPY data (COPY ignores Execute's row limit, as PostgreSQL does).
func (cu *cursor) sendCopy(c *conn) error {
	if !cu.copy.started {
		names := make([]string, len(cu.fields))
		for i, f := range cu.fields {
			names[i] = string(f.Name)
		}
		cu.copy.start(c, names)
	}
	if _, err := cu.stream(c, 0); err != nil {
		return err
	}
	cu.copy.finish(c)
	cu.done = true
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(copyTag(cu.sent))})
	return nil
}

// stream sends engine rows until the result ends or max rows went out in this call; more reports rows left.
// Rows are encoded straight into the connection's row buffer (rows.go), each value appended in place after
// its length, and reach the socket in writes of at least outFlush bytes and at the end of every batch, so a
// large result never accumulates in memory and a slow query's rows still arrive batch by batch.
func (cu *cursor) stream(c *conn, max int64) (more bool, err error) {
	if err := c.be.Flush(); err != nil { // what pgproto3 holds (RowDescription, CopyOutResponse) goes first
		return false, connErr{err}
	}
	defer func() {
		if ferr := c.writeOut(); ferr != nil && err == nil {
			err = connErr{ferr}
		}
	}()
	var n int64
	binCopy := cu.copy != nil && cu.copy.format == "binary"
	for {
		if max > 0 && n >= max { // as PostgreSQL: suspended once max rows went out, without looking ahead
			return true, nil
		}
		if cu.batch == nil || cu.row >= int(cu.batch.NumRows()) {
			if cu.batch != nil {
				if err := c.writeOut(); err != nil {
					return false, connErr{err}
				}
			}
			if cu.res == nil { // its rows ended before: a finished portal executed again
				return false, nil
			}
			if !cu.res.Next() {
				cu.batch = nil
				if err := cu.res.Err(); err != nil {
					return false, err
				}
				cu.endRows()
				return false, nil
			}
			cu.batch, cu.row = cu.res.RecordBatch(), 0
			cu.setEncoders()
		}
		if cu.skip { // MOVE
			cu.row++
			cu.sent++
			n++
			continue
		}
		switch {
		case cu.copy == nil:
			c.out = cu.appendRow(c.out, 'D', nil)
		case binCopy:
			c.out = cu.appendRow(c.out, 'd', cu.copy.takePending())
		default:
			c.out = appendMessage(c.out, 'd', cu.copy.line(cu.values()))
		}
		if len(c.out) >= outFlush {
			if err := c.writeOut(); err != nil {
				return false, connErr{err}
			}
		}
		cu.row++
		cu.sent++
		n++
	}
}

func (cu *cursor) colOpts(j int) colOpts {
	o := colOpts{loc: cu.loc}
	if j < len(cu.hints) {
		o.hint = cu.hints[j]
	}
	return o
}

// endRows closes the result once its rows ended, so that its engine database goes back to the pool now and
// not when the portal closes: a client may keep a finished portal open until it leaves (ADBC ends a session
// inside its transaction), and a result closed after its session's context was cancelled counts as
// interrupted, which retires the database and with it the in-memory copies of its tables.
func (cu *cursor) endRows() {
	cu.schema = cu.res.Schema()
	cu.close()
}

// resultSchema is the engine result's schema, also after endRows; nil for a cursor without one.
func (cu *cursor) resultSchema() *arrow.Schema {
	if cu.res != nil {
		return cu.res.Schema()
	}
	return cu.schema
}

func (cu *cursor) close() {
	if cu.res != nil {
		_ = cu.res.Close()
		cu.res = nil
	}
}

// writes are the first keywords of DuckDB statements that change state or reach files, extensions or the
// network (refused with 42501); anything neither readable nor here is a syntax error.
var writes = map[string]bool{"CREATE": true, "INSERT": true, "UPDATE": true, "DELETE": true, "DROP": true,
	"ALTER": true, "COPY": true, "ATTACH": true, "DETACH": true, "INSTALL": true, "LOAD": true, "EXPORT": true,
	"IMPORT": true, "PRAGMA": true, "CALL": true, "CHECKPOINT": true, "FORCE": true, "VACUUM": true, "USE": true,
	"MERGE": true, "TRUNCATE": true, "PREPARE": true, "EXECUTE": true, "DEALLOCATE": true, "COMMENT": true,
	"ANALYZE": true, "GRANT": true, "REVOKE": true, "UPSERT": true, "REPLACE": true, "UNINSTALL": true}

// run starts one statement: a session command is answered at once, a read is handed to the engine.
// params are text-format parameter values (nil = NULL), oids their declared types (0 = unknown).
func (c *conn) run(ctx context.Context, sql string, params [][]byte, oids []uint32) (*cursor, error) {
	if cur, ok, err := c.sessionCommand(sql); ok {
		return cur, err
	}
	if cur, ok, err := c.cursorCommand(ctx, sql, params, oids); ok {
		return cur, err
	}
	w := lakesql.FirstWord(sql)
	if w == "COPY" {
		return c.runCopy(ctx, sql)
	}
	if w == "CREATE" || w == "INSERT" || w == "DROP" {
		if cur, ok, err := c.writeCommand(ctx, sql, params, oids); ok {
			return cur, err
		}
	}
	if err := hiddenWrite(sql); err != nil {
		return nil, err
	}
	if !lakesql.IsRead(w) {
		if writes[w] {
			return nil, fmt.Errorf("%s statements are refused: this endpoint reads the lake and, in dev environments, "+
				"writes it only with CREATE TABLE zone.name AS SELECT, INSERT INTO zone.name and DROP TABLE zone.name "+
				"(or `strata table import`, `strata move run`): %w", w, ErrReadOnly)
		}
		return nil, fmt.Errorf("syntax error at or near %q: %w", w, ErrInvalid)
	}
	res, hints, err := c.typedQuery(c.statementContext(ctx), sql, params, oids)
	if err != nil {
		return nil, err
	}
	cur := &cursor{tag: "SELECT", fields: fieldsOf(res, hints), res: res, hints: hints, loc: c.location()}
	c.columnOrigins(sql, cur.fields) // table OID / attnum as pg_attribute has them (catalog_timetravel.go)
	return cur, nil
}

// runCopy starts a COPY ... TO STDOUT.
func (c *conn) runCopy(ctx context.Context, sql string) (*cursor, error) {
	q, co, err := copyCommand(sql)
	if err != nil {
		return nil, err
	}
	if !lakesql.IsRead(lakesql.FirstWord(q)) {
		return nil, fmt.Errorf("COPY (query) takes a SELECT, found %q: %w", lakesql.FirstWord(q), ErrInvalid)
	}
	res, hints, err := c.typedQuery(c.statementContext(ctx), q, nil, nil)
	if err != nil {
		return nil, err
	}
	cu := &cursor{tag: "COPY", fields: fieldsOf(res, hints), res: res, hints: hints, loc: c.location()}
	if co.format == "binary" {
		if err := cu.setFormats([]int16{1}); err != nil {
			cu.close()
			return nil, err
		}
	}
	cu.copy = co // from here on Bind's result formats do not apply
	return cu, nil
}

// query binds the tables sql names in the connection's environment and runs it. Parameters are bound by
// DuckDB's own PREPARE/EXECUTE, as typed literals.
func (c *conn) query(ctx context.Context, sql string, params [][]byte, oids []uint32) (*engine.Result, error) {
	q, err := c.bindQuery(ctx, sql, params, oids)
	if err != nil {
		return nil, err
	}
	if q.setup != nil { // a catalog statement: in the pooled catalog database or a fresh one (catalog.go)
		return q.setup.query(ctx, c.s.opts.Engine, q.full, q.tables)
	}
	// A plain read (one SELECT-like statement) may run in a pooled database sealed with the same table
	// snapshots; the engine still refuses to pool one that ran anything but SELECT/PREPARE/EXECUTE.
	return c.s.opts.Engine.QueryWith(ctx, q.full, q.tables, engine.QueryOptions{Reuse: q.reuse})
}

// boundQuery is a client's statement ready for the engine: the DuckDB SQL to run (with its parameters bound),
// the tables it reads and, for a catalog statement, the catalog it needs.
type boundQuery struct {
	full   string
	tables []engine.Table
	setup  *catalogSetup
	reuse  bool // a plain read that may run in a pooled database
}

// bindQuery checks sql, rewrites it for the engine and binds the tables it names (see query).
func (c *conn) bindQuery(ctx context.Context, sql string, params [][]byte, oids []uint32) (boundQuery, error) {
	// Every statement DuckDB runs for a client passes here (plain reads, COPY's and DECLARE's queries, Describe,
	// the sources of dev writes): none may hide a write behind EXPLAIN ANALYZE or WITH.
	if err := hiddenWrite(sql); err != nil {
		return boundQuery{}, err
	}
	if len(lakesql.Split(sql)) > 1 { // the simple protocol splits before, Parse refuses: a statement built from pieces
		return boundQuery{}, fmt.Errorf("one statement at a time: %w", ErrInvalid)
	}
	sql, at, err := c.tableFunctions(ctx, sql) // strata.at('zone.table', ...) (timetravel_func.go)
	if err != nil {
		return boundQuery{}, err
	}
	setup, sql, err := c.catalogQuery(ctx, sql) // pg_catalog / information_schema emulation (catalog.go)
	if err != nil {
		return boundQuery{}, err
	}
	full := sql
	if len(params) > 0 {
		lits := make([]string, len(params))
		for i, p := range params {
			var oid uint32
			if i < len(oids) {
				oid = oids[i]
			}
			lits[i] = literal(p, oid)
		}
		full = "PREPARE strata_stmt AS " + sql + ";\nEXECUTE strata_stmt(" + strings.Join(lits, ", ") + ")"
	}
	tables, err := c.bindTables(ctx, full) // honours strata.as_of / strata.snapshot (catalog_timetravel.go)
	if err != nil {
		return boundQuery{}, err
	}
	tables = append(tables, at...)
	reuse := len(lakesql.Split(sql)) == 1 && lakesql.IsRead(lakesql.FirstWord(sql))
	return boundQuery{full: full, tables: tables, setup: setup, reuse: reuse}, nil
}

// duckCasts are the DuckDB types of parameter OIDs a client declares; others stay text for DuckDB to cast.
var duckCasts = map[uint32]string{oidBool: "BOOLEAN", oidInt2: "SMALLINT", oidInt4: "INTEGER", oidInt8: "BIGINT",
	oidFloat4: "REAL", oidFloat8: "DOUBLE", oidNumeric: "DECIMAL(38,10)", oidDate: "DATE", oidTime: "TIME",
	oidTimestamp: "TIMESTAMP", oidTimestamptz: "TIMESTAMPTZ", oidInterval: "INTERVAL", oidUUID: "UUID",
	oidBytea: "BLOB", oidJSON: "JSON", oidOID: "BIGINT", oidTimeTZ: "TIMETZ"}

// literal quotes a text-format parameter as a SQL literal, cast to its declared type.
func literal(v []byte, oid uint32) string {
	if v == nil {
		if t, ok := duckCasts[oid]; ok {
			return "CAST(NULL AS " + t + ")" // typed, so that describing with NULLs finds the result types
		}
		if oid == oidText || oid == oidVarchar {
			return "CAST(NULL AS VARCHAR)"
		}
		return "NULL"
	}
	s := string(v)
	if elem, ok := arrayElems[oid]; ok {
		if lit, err := arrayLiteral(s, elem); err == nil {
			return lit
		}
	}
	if oid == oidBytea {
		s = strings.TrimPrefix(s, `\x`)
		return "from_hex('" + strings.ReplaceAll(s, "'", "''") + "')"
	}
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if t, ok := duckCasts[oid]; ok {
		return "CAST(" + q + " AS " + t + ")"
	}
	return q
}
