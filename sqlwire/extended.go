package sqlwire

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
)

// prepared is a statement of the extended protocol (Parse).
type prepared struct {
	sql     string
	oids    []uint32 // declared parameter types, one per $n (0 = unknown)
	nparams int
}

// portal is a bound statement (Bind); its cursor opens at Describe or the first Execute and stays open
// across Execute calls with a row limit.
type portal struct {
	stmt    *prepared
	params  [][]byte
	formats []int16 // result format codes from Bind
	cur     *cursor
	// declared: a SQL cursor (DECLARE); hold: it survives the end of its transaction (WITH HOLD).
	declared, hold bool
}

func (p *portal) close() {
	if p.cur != nil {
		p.cur.close()
		p.cur = nil
	}
}

// extended answers Parse, Bind, Describe, Execute and Close.
func (c *conn) extended(ctx context.Context, msg pgproto3.FrontendMessage) error {
	switch m := msg.(type) {
	case *pgproto3.Parse:
		return c.parse(ctx, m)
	case *pgproto3.Bind:
		return c.bind(m)
	case *pgproto3.Describe:
		return c.describe(ctx, m)
	case *pgproto3.Execute:
		return c.execute(ctx, m)
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(c.stmts, m.Name)
		} else if p, ok := c.portals[m.Name]; ok {
			p.close()
			delete(c.portals, m.Name)
		}
		c.be.Send(&pgproto3.CloseComplete{})
	}
	return nil
}

func (c *conn) parse(ctx context.Context, m *pgproto3.Parse) error {
	stmts := lakesql.Split(m.Query)
	if len(stmts) > 1 {
		return fmt.Errorf("cannot insert multiple commands into a prepared statement: %w", ErrInvalid)
	}
	if _, exists := c.stmts[m.Name]; exists && m.Name != "" {
		return fmt.Errorf("prepared statement %q already exists: %w", m.Name, &stateError{state: "42P05"})
	}
	st := &prepared{}
	if len(stmts) == 1 {
		q, err := c.unqualify(ctx, stmts[0])
		if err != nil {
			return err
		}
		st.sql = q
	}
	st.nparams = max(paramCount(st.sql), len(m.ParameterOIDs))
	st.oids = make([]uint32, st.nparams)
	copy(st.oids, m.ParameterOIDs)
	for n, oid := range castParamOIDs(st.sql) { // $1::int4[]: the client's own cast types what it sends
		if n <= st.nparams && st.oids[n-1] == 0 {
			st.oids[n-1] = oid
		}
	}
	c.stmts[m.Name] = st
	c.be.Send(&pgproto3.ParseComplete{})
	return nil
}

func (c *conn) bind(m *pgproto3.Bind) error {
	st, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return fmt.Errorf("prepared statement %q does not exist: %w", m.PreparedStatement, errUndefinedStatement)
	}
	if len(m.Parameters) != st.nparams {
		return fmt.Errorf("bind message supplies %d parameters, but prepared statement %q requires %d: %w",
			len(m.Parameters), m.PreparedStatement, st.nparams, &stateError{state: "08P01"})
	}
	if old, ok := c.portals[m.DestinationPortal]; ok {
		if m.DestinationPortal != "" {
			return fmt.Errorf("portal %q already exists: %w", m.DestinationPortal, &stateError{state: "42P03"})
		}
		old.close()
	}
	params := make([][]byte, len(m.Parameters)) // Receive's buffers are reused: copy
	for i, p := range m.Parameters {
		if p == nil {
			continue
		}
		code := int16(0)
		if len(m.ParameterFormatCodes) == 1 {
			code = m.ParameterFormatCodes[0]
		} else if i < len(m.ParameterFormatCodes) {
			code = m.ParameterFormatCodes[i]
		}
		v, err := paramText(st.oids[i], code, p)
		if err != nil {
			return fmt.Errorf("parameter $%d: %v: %w", i+1, err, &stateError{state: "22P02"})
		}
		params[i] = v
	}
	formats := append([]int16{}, m.ResultFormatCodes...)
	c.portals[m.DestinationPortal] = &portal{stmt: st, params: params, formats: formats}
	c.be.Send(&pgproto3.BindComplete{})
	return nil
}

func (c *conn) describe(ctx context.Context, m *pgproto3.Describe) error {
	if m.ObjectType == 'P' {
		p, ok := c.portals[m.Name]
		if !ok {
			return fmt.Errorf("portal %q does not exist: %w", m.Name, errUndefinedCursor)
		}
		if err := c.openPortal(ctx, p); err != nil {
			return err
		}
		p.cur.describe(c)
		return nil
	}
	st, ok := c.stmts[m.Name]
	if !ok {
		return fmt.Errorf("prepared statement %q does not exist: %w", m.Name, errUndefinedStatement)
	}
	c.inferParams(ctx, st)
	c.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: st.oids})
	fields, err := c.statementFields(ctx, st)
	if err != nil {
		return err
	}
	if fields == nil {
		c.be.Send(&pgproto3.NoData{})
	} else {
		c.be.Send(&pgproto3.RowDescription{Fields: fields})
	}
	return nil
}

// inferParams gives the parameters the client left open (OID 0) the types DuckDB infers from their use
// (id = $1 → int8); those DuckDB cannot type either (SELECT $1) are text, which DuckDB casts where used.
// Drivers that ask (asyncpg, pgx) then encode their arguments accordingly.
func (c *conn) inferParams(ctx context.Context, st *prepared) {
	open := false
	for _, o := range st.oids {
		open = open || o == 0
	}
	if !open {
		return
	}
	var types []string
	if lakesql.IsRead(lakesql.FirstWord(st.sql)) {
		if tables, err := c.s.opts.Envs.BindSQL(ctx, c.env, st.sql); err == nil {
			types, _ = c.s.opts.Engine.ParamTypes(ctx, st.sql, tables) // on error the query reports it
		}
	}
	for i, o := range st.oids {
		if o != 0 {
			continue
		}
		st.oids[i] = oidText
		if i < len(types) {
			if oid, ok := duckParamOIDs[types[i]]; ok {
				st.oids[i] = oid
			}
		}
	}
}

// duckParamOIDs are the PostgreSQL types of DuckDB's parameter types (engine.ParamTypes).
var duckParamOIDs = map[string]uint32{"BOOLEAN": oidBool, "SMALLINT": oidInt2, "INTEGER": oidInt4, "BIGINT": oidInt8,
	"HUGEINT": oidNumeric, "FLOAT": oidFloat4, "DOUBLE": oidFloat8, "DECIMAL": oidNumeric, "VARCHAR": oidText,
	"BLOB": oidBytea, "DATE": oidDate, "TIME": oidTime, "TIMESTAMP": oidTimestamp, "TIMESTAMPTZ": oidTimestamptz,
	"INTERVAL": oidInterval, "UUID": oidUUID, "TIME WITH TIME ZONE": oidTimeTZ, "TIMETZ": oidTimeTZ}

// sampleValues are the parameter values a statement is described with, by declared type.
var sampleValues = map[uint32]string{oidBool: "true", oidInt2: "1", oidInt4: "1", oidInt8: "1", oidFloat4: "1",
	oidFloat8: "1", oidNumeric: "1", oidDate: "2000-01-01", oidTime: "00:00:00", oidTimestamp: "2000-01-01 00:00:00",
	oidTimestamptz: "2000-01-01 00:00:00+00", oidInterval: "1 day", oidUUID: "00000000-0000-0000-0000-000000000000",
	oidBytea: "", oidJSON: "null", oidTimeTZ: "00:00:00+00"}

// statementFields describes a statement's result before its parameters are known: a read runs with NULL
// parameters and no rows (LIMIT 0), SHOW is answered, other session commands return no rows.
func (c *conn) statementFields(ctx context.Context, st *prepared) ([]pgproto3.FieldDescription, error) {
	w := lakesql.FirstWord(st.sql)
	switch {
	case w == "SHOW":
		cur, _, err := c.showCommand(st.sql)
		if err != nil {
			return nil, err
		}
		return cur.fields, nil
	case w == "FETCH":
		cur, err := c.fetch(st.sql)
		if err != nil {
			return nil, err
		}
		return cur.fields, nil
	case !lakesql.IsRead(w):
		return nil, nil
	}
	// Typed sample values stand for the parameters, not NULLs: for a NULL, DuckDB keeps the type it guessed
	// at PREPARE or folds the expression to a NULL of another type ($1 || '!' and $1::DECIMAL(12,4) * 2 were
	// described as integers).
	params := make([][]byte, st.nparams)
	for i, o := range st.oids {
		if v, ok := sampleValues[o]; ok {
			params[i] = []byte(v)
		} else if _, isArray := arrayElems[o]; isArray {
			params[i] = []byte("{}")
		} else if o == oidText || o == oidVarchar || o == 0 {
			params[i] = []byte{}
		}
	}
	if fields, ok, err := c.plannedFields(ctx, st.sql, params, st.oids); ok || err != nil {
		return fields, err
	}
	sql := st.sql
	if wrappable(sql) {
		sql = "SELECT * FROM (" + sql + ") AS strata_describe LIMIT 0"
	}
	res, hints, err := c.typedQuery(ctx, sql, params, st.oids)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Close() }()
	fields := fieldsOf(res, hints)
	c.columnOrigins(st.sql, fields) // as the portal's RowDescription will have them
	return fields, nil
}

// plannedFields describes a plain read over lake tables from DuckDB's plan of it, without running it (a LIMIT 0
// query costs DuckDB's start-up and the wait for its first, empty, chunk: 3–11 ms where PostgreSQL takes 0.7).
// ok is false for the statements it leaves to statementFields' query: catalog statements (their catalog
// database) and results with TIME WITH TIME ZONE columns (typed by running them as text, see typedQuery).
func (c *conn) plannedFields(ctx context.Context, sql string, params [][]byte, oids []uint32) (fields []pgproto3.FieldDescription, ok bool, err error) {
	if !wrappable(sql) || isCatalogQuery(lex(sql)) {
		return nil, false, nil
	}
	q, err := c.bindQuery(ctx, sql, params, oids)
	if err != nil || q.setup != nil || !q.reuse {
		return nil, false, err
	}
	d, err := c.s.opts.Engine.Describe(ctx, q.full, q.tables)
	if err != nil {
		return nil, false, err
	}
	hints := append([]string{}, d.Hints...)
	for _, h := range hints {
		if strings.HasPrefix(h, engine.HintTimeTZ) {
			return nil, false, nil
		}
	}
	clientHints(sql, d.Schema, hints)
	fields = schemaFields(d.Schema, hints)
	c.columnOrigins(sql, fields) // as the portal's RowDescription will have them
	return fields, true, nil
}

func (c *conn) openPortal(ctx context.Context, p *portal) error {
	if p.cur != nil {
		return nil
	}
	cur, err := c.run(ctx, p.stmt.sql, p.params, p.stmt.oids)
	if err != nil {
		return err
	}
	if err := cur.setFormats(p.formats); err != nil {
		cur.close()
		return err
	}
	p.cur = cur
	return nil
}

func (c *conn) execute(ctx context.Context, m *pgproto3.Execute) error {
	p, ok := c.portals[m.Portal]
	if !ok {
		return fmt.Errorf("portal %q does not exist: %w", m.Portal, errUndefinedCursor)
	}
	if p.stmt.sql == "" {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if err := c.openPortal(ctx, p); err != nil {
		return err
	}
	_, err := p.cur.send(c, int64(m.MaxRows))
	return err
}

// paramText turns a parameter into its text form: binary parameters are decoded by pgx's codecs.
func paramText(oid uint32, code int16, v []byte) ([]byte, error) {
	if code == 0 {
		return append([]byte{}, v...), nil
	}
	if code != 1 {
		return nil, fmt.Errorf("unknown format code %d", code)
	}
	if oid == oidTimeTZ {
		return timeTZText(v)
	}
	m := pgtype.NewMap()
	typ, ok := m.TypeForOID(oid)
	if !ok || oid == oidText || oid == oidVarchar || oid == oidJSON {
		return append([]byte{}, v...), nil
	}
	val, err := typ.Codec.DecodeValue(m, oid, pgtype.BinaryFormatCode, v)
	if err != nil {
		return nil, err
	}
	if oid == oidBytea {
		return appendBytea(nil, val.([]byte)), nil
	}
	return m.Encode(oid, pgtype.TextFormatCode, val, nil)
}
