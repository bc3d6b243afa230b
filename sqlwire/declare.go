package sqlwire

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/lakesql"
)

// SQL cursors (DECLARE / FETCH / MOVE / CLOSE), as psycopg2's named cursors and psycopg 3's server-side
// cursors use them. A declared cursor is a portal of the session under its name (psycopg 3 describes it
// with a protocol Describe), so it streams from the engine: FETCH n sends the next n rows and never holds
// the whole result. Cursors move forward only (NO SCROLL). WITH HOLD cursors outlive their transaction.

var errForwardOnly = &stateError{state: "55000"}

// cursorCommand answers DECLARE, FETCH, MOVE and CLOSE; ok is false for any other statement. params and oids
// are the extended protocol's parameters, which a DECLARE's query may use (psycopg 3 binds them so).
func (c *conn) cursorCommand(ctx context.Context, sql string, params [][]byte, oids []uint32) (cur *cursor, ok bool, err error) {
	switch lakesql.FirstWord(sql) {
	case "DECLARE":
		cur, err = c.declare(ctx, sql, bindings{params, oids})
	case "FETCH", "MOVE":
		cur, err = c.fetch(sql)
	case "CLOSE":
		cur, err = c.closeCursor(sql)
	default:
		return nil, false, nil
	}
	return cur, true, err
}

// declare opens "DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [NO SCROLL] CURSOR [WITH[OUT] HOLD] FOR query".
func (c *conn) declare(ctx context.Context, sql string, b bindings) (*cursor, error) {
	toks := copyTokens(sql)
	if len(toks) < 4 {
		return nil, fmt.Errorf("DECLARE name CURSOR FOR query: %w", ErrInvalid)
	}
	name := lakesql.IdentName(toks[1])
	binary, hold := false, false
	i := 2
	for ; i < len(toks) && !strings.EqualFold(toks[i], "FOR"); i++ {
		switch strings.ToUpper(toks[i]) {
		case "BINARY":
			binary = true
		case "INSENSITIVE", "ASENSITIVE", "NO", "CURSOR", "WITHOUT", "HOLD":
		case "WITH":
			hold = i+1 < len(toks) && strings.EqualFold(toks[i+1], "HOLD")
		case "SCROLL":
			if i == 0 || !strings.EqualFold(toks[i-1], "NO") {
				return nil, fmt.Errorf("SCROLL cursors are not supported: cursors here move forward only (NO SCROLL): %w", ErrUnsupported)
			}
		default:
			return nil, fmt.Errorf("DECLARE: unexpected %q (DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH HOLD] FOR query): %w", toks[i], ErrInvalid)
		}
	}
	q := forQuery(sql)
	if q == "" || !lakesql.IsRead(lakesql.FirstWord(q)) {
		return nil, fmt.Errorf("DECLARE ... CURSOR FOR needs a SELECT: %w", ErrInvalid)
	}
	if !hold && !c.inTx {
		return nil, fmt.Errorf("DECLARE CURSOR can only be used in transaction blocks (or WITH HOLD): %w", &stateError{state: "25P01"})
	}
	if _, exists := c.portals[name]; exists {
		return nil, fmt.Errorf("cursor %q already exists: %w", name, &stateError{state: "42P03"})
	}
	res, hints, err := c.typedQuery(c.statementContext(ctx), q, b.params, b.oids)
	if err != nil {
		return nil, err
	}
	cu := &cursor{tag: "SELECT", fields: fieldsOf(res, hints), res: res, hints: hints, loc: c.location()}
	if binary {
		if err := cu.setFormats([]int16{1}); err != nil {
			cu.close()
			return nil, err
		}
	}
	c.portals[name] = &portal{stmt: &prepared{sql: q}, cur: cu, hold: hold, declared: true}
	return &cursor{tag: "DECLARE CURSOR"}, nil
}

// forQuery returns what follows the FOR keyword of a DECLARE, outside literals.
func forQuery(sql string) string {
	at := -1
	lakesql.Scan(sql, func(i int) {
		if at < 0 && i+5 <= len(sql) && strings.EqualFold(sql[i:i+3], "FOR") &&
			(i == 0 || isSpace(sql[i-1])) && isSpace(sql[i+3]) {
			at = i + 3
		}
	})
	if at < 0 {
		return ""
	}
	return strings.TrimSpace(sql[at:])
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }

// fetch answers "FETCH|MOVE [FORWARD|NEXT] [n|ALL] [FROM|IN] name": the next n rows (1 by default).
func (c *conn) fetch(sql string) (*cursor, error) {
	toks := copyTokens(sql)
	verb := strings.ToUpper(toks[0])
	n, name := int64(1), ""
	for i := 1; i < len(toks); i++ {
		t := strings.ToUpper(toks[i])
		switch {
		case t == "FORWARD" || t == "NEXT" || t == "FROM" || t == "IN":
		case t == "ALL":
			n = 0
		case t == "BACKWARD" || t == "PRIOR" || t == "ABSOLUTE" || t == "RELATIVE" || t == "LAST" || t == "FIRST":
			return nil, fmt.Errorf("%s %s: cursors here move forward only (FETCH [FORWARD] n|ALL): %w", verb, t, errForwardOnly)
		case t[0] >= '0' && t[0] <= '9' || t[0] == '-' || t[0] == '+':
			v, err := strconv.ParseInt(toks[i], 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%s %s: the count must be a non-negative integer (cursors move forward only): %w", verb, toks[i], errForwardOnly)
			}
			if v == 0 {
				return nil, fmt.Errorf("%s 0 would re-read the current row: cursors here move forward only: %w", verb, errForwardOnly)
			}
			n = v
		default:
			name = lakesql.IdentName(toks[i])
		}
	}
	p, ok := c.portals[name]
	if !ok || !p.declared {
		return nil, fmt.Errorf("cursor %q does not exist: %w", name, errUndefinedCursor)
	}
	cu := &cursor{tag: verb, fields: p.cur.fields, from: p.cur, limit: n}
	if verb == "MOVE" {
		cu.fields, cu.skip = nil, true
	}
	return cu, nil
}

// closeCursor answers "CLOSE name" and "CLOSE ALL".
func (c *conn) closeCursor(sql string) (*cursor, error) {
	toks := copyTokens(sql)
	if len(toks) != 2 {
		return nil, fmt.Errorf("CLOSE name | CLOSE ALL: %w", ErrInvalid)
	}
	if strings.EqualFold(toks[1], "ALL") {
		for name, p := range c.portals {
			if p.declared {
				p.close()
				delete(c.portals, name)
			}
		}
		return &cursor{tag: "CLOSE CURSOR ALL"}, nil
	}
	name := lakesql.IdentName(toks[1])
	p, ok := c.portals[name]
	if !ok || !p.declared {
		return nil, fmt.Errorf("cursor %q does not exist: %w", name, errUndefinedCursor)
	}
	p.close()
	delete(c.portals, name)
	return &cursor{tag: "CLOSE CURSOR"}, nil
}

// sendFetch streams up to limit rows (0 = all) of the declared cursor, or skips them for MOVE, then
// CommandComplete "FETCH n" / "MOVE n".
func (cu *cursor) sendFetch(c *conn) error {
	under := cu.from
	before := under.sent
	under.skip = cu.skip
	defer func() { under.skip = false }()
	if cu.fetchFormats != nil { // this FETCH's Bind formats, for its rows only
		own := under.formats
		under.setFormatCodes(cu.fetchFormats)
		defer under.setFormatCodes(own)
	}
	if under.res != nil && !under.done {
		more, err := under.stream(c, cu.limit)
		if err != nil {
			return err
		}
		under.done = !more
	}
	cu.done = true
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(cu.tag + " " + strconv.FormatInt(under.sent-before, 10))})
	return nil
}

// bindings are a statement's parameter values (text, nil = NULL) and declared types.
type bindings struct {
	params [][]byte
	oids   []uint32
}
