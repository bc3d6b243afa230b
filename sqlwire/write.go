package sqlwire

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
)

// Writes in dev: CREATE TABLE zone.name AS query, INSERT INTO zone.name [(cols)] query|VALUES, and DROP TABLE
// zone.name go through envs, the write gate (one Iceberg snapshot each, audited with the session user as
// actor), in dev-kind environments only. Each commits at once: a later ROLLBACK does not undo it. Every
// other statement that writes is refused.

// ErrReadOnlyEnv: a write in a prod-kind environment, whose tables change only through releases.
var ErrReadOnlyEnv = errs.New(errs.Forbidden, "read-only environment")

var errReadOnlyTx = &stateError{state: "25006"} // read_only_sql_transaction

const identRE = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

var (
	createRE = regexp.MustCompile(`(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?` + identRE + `\s*\.\s*` + identRE + `\s+AS\s+(.+)$`)
	insertRE = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+` + identRE + `\s*\.\s*` + identRE + `\s*(.*)$`)
	dropRE   = regexp.MustCompile(`(?is)^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?` + identRE + `\s*\.\s*` + identRE + `\s*(CASCADE|RESTRICT)?\s*$`)
)

// mayWrite says whether the session's user may write lake tables in its (dev-kind) environment: a developer
// or an admin there (a trusted session without users is an admin).
func (c *conn) mayWrite() error { return c.roleMayWrite(false) }

// writeCommand runs CREATE TABLE AS, INSERT and DROP TABLE; ok is false for other statements.
// params and oids are the extended protocol's parameters, as for run.
func (c *conn) writeCommand(ctx context.Context, sql string, params [][]byte, oids []uint32) (cur *cursor, ok bool, err error) {
	var run func(context.Context, []string, bindings) (*cursor, error)
	var m []string
	if m = createRE.FindStringSubmatch(sql); m != nil {
		run = c.createTableAs
	} else if m = insertRE.FindStringSubmatch(sql); m != nil {
		run = c.insert
	} else if m = dropRE.FindStringSubmatch(sql); m != nil {
		run = c.dropTable
	} else {
		return nil, false, nil
	}
	e, err := c.s.opts.Envs.Get(ctx, c.env)
	if err != nil {
		return nil, true, err
	}
	if e.Kind != envs.KindDev {
		return nil, true, fmt.Errorf("%s is read-only here: its tables change only through releases (write in a dev "+
			"environment, then `strata release publish`): %w", c.env, errors.Join(ErrReadOnlyEnv, errReadOnlyTx))
	}
	if err := c.mayWrite(); err != nil {
		return nil, true, err
	}
	cur, err = run(c.statementContext(ctx), m, bindings{params, oids})
	return cur, true, err
}

// tableIdent turns the two matched identifiers into a lake table name (unquoted ones fold to lower case).
func tableIdent(zone, name string) (lake.Ident, error) {
	id := lake.Ident{Zone: identName(zone), Name: identName(name)}
	if err := id.Validate(); err != nil {
		return id, fmt.Errorf("table %s: %v: %w", id, err, ErrInvalid)
	}
	return id, nil
}

// actor is who the audit names for the session's writes: the authenticated user, else the startup user.
func (c *conn) actor() string { return c.principal().Actor(c.vars["session_authorization"].value) }

func (c *conn) writeOptions(mode envs.WriteMode, create bool) envs.WriteOptions {
	return envs.WriteOptions{Mode: mode, CreateIfMissing: create, Actor: c.actor(), Action: "sql", Source: "sqlwire"}
}

// columns returns the table's columns in order with their engine types; nil when it does not exist.
func (c *conn) columns(ctx context.Context, id lake.Ident) ([]lake.Column, []string, error) {
	tv, err := c.s.opts.Envs.Describe(ctx, c.env, id)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	types := make([]string, len(tv.Columns))
	for i, col := range tv.Columns {
		if types[i], err = engine.IcebergToDuckDB(col.Type); err != nil {
			return nil, nil, err
		}
	}
	return tv.Columns, types, nil
}

// createTableAs: CREATE [OR REPLACE] TABLE [IF NOT EXISTS] zone.name AS query; the tag is "SELECT n".
func (c *conn) createTableAs(ctx context.Context, m []string, b bindings) (*cursor, error) {
	replace, ifNotExists := m[1] != "", m[2] != ""
	id, err := tableIdent(m[3], m[4])
	if err != nil {
		return nil, err
	}
	query := strings.TrimSpace(m[5])
	if strings.HasSuffix(strings.ToUpper(query), "WITH NO DATA") {
		return nil, fmt.Errorf("CREATE TABLE ... WITH NO DATA is not supported: a lake table is created by its first rows: %w", ErrUnsupported)
	}
	cols, _, err := c.columns(ctx, id)
	if err != nil {
		return nil, err
	}
	if cols != nil && !replace {
		if ifNotExists {
			return &cursor{tag: "CREATE TABLE AS"}, nil
		}
		return nil, fmt.Errorf("relation %s already exists (INSERT INTO it, or CREATE OR REPLACE TABLE): %w", id, &stateError{state: "42P07"})
	}
	mode := envs.Append
	if cols != nil {
		mode = envs.Overwrite
	}
	n, err := c.writeQuery(ctx, id, query, b, c.writeOptions(mode, true))
	if err != nil {
		return nil, err
	}
	return &cursor{tag: "SELECT " + strconv.FormatInt(n, 10)}, nil
}

// insert: INSERT INTO zone.name [(col, ...)] {query | VALUES ...}. Values line up with the table's columns
// by position, as in PostgreSQL; columns not listed are NULL; values are cast to the columns' types.
func (c *conn) insert(ctx context.Context, m []string, b bindings) (*cursor, error) {
	id, err := tableIdent(m[1], m[2])
	if err != nil {
		return nil, err
	}
	cols, types, err := c.columns(ctx, id)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, fmt.Errorf("relation %s does not exist (create it with CREATE TABLE %s AS SELECT ...): %w", id, id, &stateError{state: "42P01"})
	}
	src := strings.TrimSpace(m[3])
	targets := make([]string, len(cols))
	for i, col := range cols {
		targets[i] = col.Name
	}
	if strings.HasPrefix(src, "(") {
		end := closingParen(src)
		inner := src[1:max(end, 1)]
		if end > 0 && !readable[firstWord(inner)] {
			targets = nil
			for _, t := range strings.Split(inner, ",") {
				targets = append(targets, identName(strings.TrimSpace(t)))
			}
			src = strings.TrimSpace(src[end+1:])
		}
	}
	if err := hiddenWrite(src); err != nil {
		return nil, err
	}
	if !readable[firstWord(src)] {
		return nil, fmt.Errorf("INSERT INTO %s takes a SELECT or VALUES (ON CONFLICT, RETURNING and DEFAULT VALUES are not supported): %w", id, ErrUnsupported)
	}
	byName := map[string]int{}
	for i, col := range cols {
		byName[col.Name] = i
	}
	sel := make([]string, len(cols))
	alias := make([]string, len(targets))
	for i, t := range targets {
		j, ok := byName[t]
		if !ok {
			return nil, fmt.Errorf("column %q of relation %s does not exist: %w", t, id, &stateError{state: "42703"})
		}
		if sel[j] != "" {
			return nil, fmt.Errorf("column %q specified more than once: %w", t, &stateError{state: "42701"})
		}
		alias[i] = quoteIdent("strata_c" + strconv.Itoa(i))
		sel[j] = fmt.Sprintf("CAST(%s AS %s) AS %s", alias[i], types[j], quoteIdent(t))
	}
	for j := range sel {
		if sel[j] == "" {
			sel[j] = fmt.Sprintf("CAST(NULL AS %s) AS %s", types[j], quoteIdent(cols[j].Name))
		}
	}
	query := fmt.Sprintf("SELECT %s FROM (%s) AS strata_src(%s)", strings.Join(sel, ", "), src, strings.Join(alias, ", "))
	n, err := c.writeQuery(ctx, id, query, b, c.writeOptions(envs.Append, false))
	if err != nil {
		return nil, err
	}
	return &cursor{tag: "INSERT 0 " + strconv.FormatInt(n, 10)}, nil
}

// writeQuery runs query in the session's environment and writes its rows to id through envs.
func (c *conn) writeQuery(ctx context.Context, id lake.Ident, query string, b bindings, opts envs.WriteOptions) (int64, error) {
	// The rows come from one read: not an EXPLAIN ANALYZE of a write (DuckDB would run it), not a WITH ... INSERT,
	// not a second statement.
	if err := hiddenWrite(query); err != nil {
		return 0, err
	}
	if len(splitStatements(query)) != 1 || !readable[firstWord(query)] {
		return 0, fmt.Errorf("the rows written to %s come from one query (SELECT, WITH, VALUES, ...): %w", id, ErrReadOnly)
	}
	res, err := c.query(ctx, query, b.params, b.oids)
	if err != nil {
		return 0, err
	}
	defer func() { _ = res.Close() }()
	wr, err := c.s.opts.Envs.Write(ctx, c.env, id, res, opts)
	if err != nil {
		return 0, err
	}
	return wr.AddedRows, nil
}

// dropTable: DROP TABLE [IF EXISTS] zone.name, through envs (audited).
func (c *conn) dropTable(ctx context.Context, m []string, _ bindings) (*cursor, error) {
	id, err := tableIdent(m[2], m[3])
	if err != nil {
		return nil, err
	}
	cols, _, err := c.columns(ctx, id)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		if m[1] != "" {
			return &cursor{tag: "DROP TABLE"}, nil
		}
		return nil, fmt.Errorf("table %s does not exist: %w", id, &stateError{state: "42P01"})
	}
	if err := c.s.opts.Envs.Drop(ctx, c.env, id, false, c.actor()); err != nil {
		return nil, err
	}
	return &cursor{tag: "DROP TABLE"}, nil
}

// bindings are a statement's parameter values (text, nil = NULL) and declared types.
type bindings struct {
	params [][]byte
	oids   []uint32
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
