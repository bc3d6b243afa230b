package sqlwire

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lakesql"
)

// Writes in dev: CREATE TABLE zone.name AS query, INSERT INTO zone.name [(cols)] query|VALUES, and DROP TABLE
// zone.name go through envs, the write gate (one Iceberg snapshot each, audited with the session user as
// actor), in dev-kind environments only; lakesql runs them, with the rules `strata sql` follows too. Each
// commits at once: a later ROLLBACK does not undo it. Every other statement that writes is refused.

// ErrReadOnlyEnv: a write in a prod-kind environment, whose tables change only through releases.
var ErrReadOnlyEnv = errs.New(errs.Forbidden, "read-only environment")

var errReadOnlyTx = &stateError{state: "25006"} // read_only_sql_transaction

// mayWrite says whether the session's user may write lake tables in its (dev-kind) environment: a developer
// or an admin there (a trusted session without users is an admin).
func (c *conn) mayWrite() error { return c.roleMayWrite(false) }

// writeCommand runs CREATE TABLE AS, INSERT and DROP TABLE; ok is false for other statements.
// params and oids are the extended protocol's parameters, as for run.
func (c *conn) writeCommand(ctx context.Context, sql string, params [][]byte, oids []uint32) (cur *cursor, ok bool, err error) {
	w := lakesql.ParseWrite(sql)
	if w == nil {
		return nil, false, nil
	}
	wr := &lakesql.Writer{Envs: c.s.opts.Envs, Env: c.env, Actor: c.actor(), Source: "sqlwire", MayWrite: c.mayWrite,
		CheckQuery: hiddenWrite,
		Query: func(ctx context.Context, sql string) (*engine.Result, error) {
			return c.query(ctx, sql, params, oids)
		}}
	res, err := wr.Run(c.statementContext(ctx), w)
	if err != nil {
		return nil, true, wireError(err)
	}
	return &cursor{tag: commandTag(res)}, true, nil
}

// commandTag is PostgreSQL's tag for a write: the rows CREATE TABLE AS selected, the rows INSERT inserted.
func commandTag(res *lakesql.Result) string {
	switch {
	case res.Statement == lakesql.Create && !res.Changed:
		return "CREATE TABLE AS"
	case res.Statement == lakesql.Create:
		return "SELECT " + strconv.FormatInt(res.Rows, 10)
	case res.Statement == lakesql.Insert:
		return "INSERT 0 " + strconv.FormatInt(res.Rows, 10)
	}
	return "DROP TABLE"
}

// wireError gives a refused write this endpoint's error: the SQLSTATE of its rule (sqlState maps them).
func wireError(err error) error {
	var le *lakesql.Error
	if !errors.As(err, &le) {
		return err
	}
	var to error
	switch le.Rule {
	case lakesql.RuleReadOnlyEnv:
		to = errors.Join(ErrReadOnlyEnv, errReadOnlyTx)
	case lakesql.RuleExists:
		to = &stateError{state: "42P07"} // duplicate_table
	case lakesql.RuleNoTable:
		to = &stateError{state: "42P01"} // undefined_table
	case lakesql.RuleNoColumn:
		to = &stateError{state: "42703"} // undefined_column
	case lakesql.RuleDuplicateColumn:
		to = &stateError{state: "42701"} // duplicate_column
	case lakesql.RuleUnsupported:
		to = ErrUnsupported
	case lakesql.RuleOneRead:
		to = ErrReadOnly
	default: // RuleBadName, RuleColumnCount
		to = ErrInvalid
	}
	return fmt.Errorf("%s: %w", le.Msg, to)
}

// actor is who the audit names for the session's writes: the authenticated user, else the startup user.
func (c *conn) actor() string { return c.principal().Actor(c.vars["session_authorization"].value) }
