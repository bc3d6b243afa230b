package lakesql

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
)

// Verb names a lake write, as PostgreSQL's command tags start.
type Verb string

// The lake writes.
const (
	Create Verb = "CREATE TABLE"
	Insert Verb = "INSERT"
	Drop   Verb = "DROP TABLE"
)

const identRE = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

// catalogRE is the optional database before zone.name (database.zone.name): the environment written is
// accepted (as PostgreSQL accepts the current database's name), any other is refused by name rather than misread.
const catalogRE = `(?:` + identRE + `\s*\.\s*)?`

var (
	createRE = regexp.MustCompile(`(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?` + catalogRE + identRE + `\s*\.\s*` + identRE + `\s+AS\s+(.+)$`)
	insertRE = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+` + catalogRE + identRE + `\s*\.\s*` + identRE + `\s*(.*)$`)
	dropRE   = regexp.MustCompile(`(?is)^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?` + catalogRE + identRE + `\s*\.\s*` + identRE + `\s*(CASCADE|RESTRICT)?\s*$`)
)

// Write is one statement recognised as a lake write; Writer.Run checks and runs it.
type Write struct {
	Verb Verb
	m    []string // the statement's regular expression match, without the catalog group
	// catalog is the database that qualified the name (database.zone.name), "" if none: accepted when it is
	// the environment written, refused otherwise, since the database is the environment, chosen when connecting.
	catalog string
}

// ParseWrite recognises sql, one statement, as a lake write: CREATE [OR REPLACE] TABLE [IF NOT EXISTS]
// zone.name AS ..., INSERT INTO zone.name ... or DROP TABLE [IF EXISTS] zone.name [CASCADE|RESTRICT], with
// comments anywhere. It returns nil for every other statement (a temporary table, an unqualified name, UPDATE,
// ...).
func ParseWrite(sql string) *Write {
	sql = StripComments(sql)
	for _, p := range []struct {
		verb    Verb
		re      *regexp.Regexp
		catalog int // the catalog group's index
	}{{Create, createRE, 3}, {Insert, insertRE, 1}, {Drop, dropRE, 2}} {
		if m := p.re.FindStringSubmatch(sql); m != nil {
			catalog := m[p.catalog]
			return &Write{Verb: p.verb, m: append(m[:p.catalog:p.catalog], m[p.catalog+1:]...), catalog: catalog}
		}
	}
	return nil
}

// Table returns the zone and name the statement writes, folded as PostgreSQL folds identifiers (not yet
// checked: Run refuses a name that is not a valid zone.name).
func (w *Write) Table() (zone, name string) {
	if w.Verb == Insert {
		return IdentName(w.m[1]), IdentName(w.m[2])
	}
	if w.Verb == Create {
		return IdentName(w.m[3]), IdentName(w.m[4])
	}
	return IdentName(w.m[2]), IdentName(w.m[3])
}

// Writer runs lake writes in one environment. Its fields are set once; Run may be called for one statement
// after another (each commits on its own), not concurrently.
type Writer struct {
	Envs   *envs.Service // the write gate; required
	Env    string        // the environment written; required
	Actor  string        // who writes, for the audit log and the snapshot summary
	Source string        // the interface that wrote (strata.source of the snapshot): "sqlwire", "sql"
	// Query runs one read in Env (its zone.name tables resolved as Env's readers see them) and returns its rows;
	// Run closes the result. Required for CREATE TABLE AS and INSERT.
	Query func(ctx context.Context, sql string) (*engine.Result, error)
	// MayWrite, if set, is the caller's own permission check (a session's role), run after the environment's.
	MayWrite func() error
	// CheckQuery, if set, checks the query whose rows a write takes before it runs (beyond being one read).
	CheckQuery func(sql string) error
}

// Result is what a write did.
type Result struct {
	Statement Verb   `json:"statement"`
	Env       string `json:"env"`
	Table     string `json:"table"`
	// Changed is false when IF [NOT] EXISTS found nothing to do: then nothing was written or audited.
	Changed bool `json:"changed"`
	// Created says the table was created; Replaced that CREATE OR REPLACE overwrote its rows.
	Created  bool `json:"created,omitempty"`
	Replaced bool `json:"replaced,omitempty"`
	// Rows is how many rows were written (CREATE TABLE AS, INSERT); SnapshotID the snapshot they are in.
	Rows       int64  `json:"rows"`
	SnapshotID int64  `json:"snapshot_id,omitempty"`
	AuditID    string `json:"audit_id,omitempty"`
}

// Run checks w against the environment's rules and the table, then runs it: one new snapshot for CREATE TABLE
// AS and INSERT, the table removed for DROP TABLE, each through envs and audited. A refused statement
// returns an *Error (nothing written); the query's and envs' own errors come back as they are.
func (wr *Writer) Run(ctx context.Context, w *Write) (*Result, error) {
	if err := wr.Check(ctx); err != nil {
		return nil, err
	}
	if db := IdentName(w.catalog); w.catalog != "" && db != wr.Env {
		zone, name := w.Table()
		if _, err := wr.Envs.Get(ctx, db); err == nil {
			return nil, refuse(RuleUnsupported, "cross-database references are not implemented: %s.%s.%s: this "+
				"session's database (environment) is %s; connect to database %s to write it", db, zone, name, wr.Env, db)
		}
		return nil, refuse(RuleBadName, "table %s.%s.%s: lake tables are named zone.name; the database (environment) "+
			"is the one this session writes, %s: write %s.%s", IdentName(w.catalog), zone, name, wr.Env, zone, name)
	}
	switch w.Verb {
	case Create:
		return wr.createTableAs(ctx, w.m)
	case Insert:
		return wr.insert(ctx, w.m)
	}
	return wr.drop(ctx, w.m)
}

// Check says whether the writer may write at all: its environment is dev-kind (an *Error of RuleReadOnlyEnv
// if not) and MayWrite allows it. Run checks it first; a caller may check it before a script starts.
func (wr *Writer) Check(ctx context.Context) error {
	e, err := wr.Envs.Get(ctx, wr.Env)
	if err != nil {
		return err
	}
	if e.Kind != envs.KindDev {
		return refuse(RuleReadOnlyEnv, "%s is read-only here: its tables change only through releases (write in "+
			"a dev environment, then `strata release publish`)", wr.Env)
	}
	if wr.MayWrite != nil {
		return wr.MayWrite()
	}
	return nil
}

// tableIdent turns the two matched identifiers into a lake table name (unquoted ones fold to lower case).
func tableIdent(zone, name string) (lake.Ident, error) {
	id := lake.Ident{Zone: IdentName(zone), Name: IdentName(name)}
	if err := id.Validate(); err != nil {
		return id, refuse(RuleBadName, "table %s: %v", id, err)
	}
	return id, nil
}

func (wr *Writer) result(v Verb, id lake.Ident) *Result {
	return &Result{Statement: v, Env: wr.Env, Table: id.String()}
}

func (wr *Writer) writeOptions(mode envs.WriteMode, create bool) envs.WriteOptions {
	return envs.WriteOptions{Mode: mode, CreateIfMissing: create, Actor: wr.Actor, Action: "sql", Source: wr.Source}
}

// columns returns the table's columns in order with their engine types; nil when it does not exist.
func (wr *Writer) columns(ctx context.Context, id lake.Ident) ([]lake.Column, []string, error) {
	tv, err := wr.Envs.Describe(ctx, wr.Env, id)
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

// createTableAs: CREATE [OR REPLACE] TABLE [IF NOT EXISTS] zone.name AS query.
func (wr *Writer) createTableAs(ctx context.Context, m []string) (*Result, error) {
	replace, ifNotExists := m[1] != "", m[2] != ""
	id, err := tableIdent(m[3], m[4])
	if err != nil {
		return nil, err
	}
	query := strings.TrimSpace(m[5])
	if strings.HasSuffix(strings.ToUpper(query), "WITH NO DATA") {
		return nil, refuse(RuleUnsupported, "CREATE TABLE ... WITH NO DATA is not supported: a lake table is created by its first rows")
	}
	cols, _, err := wr.columns(ctx, id)
	if err != nil {
		return nil, err
	}
	res := wr.result(Create, id)
	if cols != nil && !replace {
		if ifNotExists {
			return res, nil
		}
		return nil, refuse(RuleExists, "relation %s already exists (INSERT INTO it, or CREATE OR REPLACE TABLE)", id)
	}
	mode := envs.Append
	if cols != nil {
		mode = envs.Overwrite
	}
	return wr.writeQuery(ctx, res, id, query, wr.writeOptions(mode, true))
}

// insert: INSERT INTO zone.name [(col, ...)] {query | VALUES ...}. Values line up with the table's columns
// by position, as in PostgreSQL; columns not listed are NULL; values are cast to the columns' types.
func (wr *Writer) insert(ctx context.Context, m []string) (*Result, error) {
	id, err := tableIdent(m[1], m[2])
	if err != nil {
		return nil, err
	}
	cols, types, err := wr.columns(ctx, id)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, refuse(RuleNoTable, "relation %s does not exist (create it with CREATE TABLE %s AS SELECT ...)", id, id)
	}
	src := strings.TrimSpace(m[3])
	targets := make([]string, len(cols))
	for i, col := range cols {
		targets[i] = col.Name
	}
	if strings.HasPrefix(src, "(") {
		end := ClosingParen(src)
		inner := src[1:max(end, 1)]
		if end > 0 && !IsRead(FirstWord(inner)) {
			targets = nil
			for _, t := range strings.Split(inner, ",") {
				targets = append(targets, IdentName(strings.TrimSpace(t)))
			}
			src = strings.TrimSpace(src[end+1:])
		}
	}
	if err := wr.checkQuery(src); err != nil {
		return nil, err
	}
	if !IsRead(FirstWord(src)) {
		return nil, refuse(RuleUnsupported, "INSERT INTO %s takes a SELECT or VALUES (ON CONFLICT, RETURNING and DEFAULT VALUES are not supported)", id)
	}
	byName := map[string]int{}
	for i, col := range cols {
		byName[col.Name] = i
	}
	sel := make([]string, len(cols))
	alias := make([]string, len(targets))
	nulls := make([]string, len(targets))
	for i, t := range targets {
		j, ok := byName[t]
		if !ok {
			return nil, refuse(RuleNoColumn, "column %q of relation %s does not exist", t, id)
		}
		if sel[j] != "" {
			return nil, refuse(RuleDuplicateColumn, "column %q specified more than once", t)
		}
		alias[i], nulls[i] = quoteIdent(t), "NULL"
		sel[j] = fmt.Sprintf("CAST(%s AS %s) AS %s", alias[i], types[j], alias[i])
	}
	for j := range sel {
		if sel[j] == "" {
			sel[j] = fmt.Sprintf("CAST(NULL AS %s) AS %s", types[j], quoteIdent(cols[j].Name))
		}
	}
	// The empty UNION ALL branch has one column per target: DuckDB refuses a query that gives another number
	// of values (a subquery alias would silently keep extra columns, and name missing ones in its own words).
	query := fmt.Sprintf("SELECT %s FROM ((%s) UNION ALL (SELECT %s WHERE false)) AS strata_src(%s)",
		strings.Join(sel, ", "), src, strings.Join(nulls, ", "), strings.Join(alias, ", "))
	res, err := wr.writeQuery(ctx, wr.result(Insert, id), id, query, wr.writeOptions(envs.Append, false))
	if valueCountError(err, src) {
		return nil, refuse(RuleColumnCount, "INSERT INTO %s gives another number of values than its %d target columns "+
			"(%s): give one value per column, or name the columns the values fill: INSERT INTO %s (column, ...) ...",
			id, len(targets), strings.Join(targets, ", "), id)
	}
	return res, err
}

// valueCountError says whether err is DuckDB's refusal of insert's UNION ALL, not of the source's own set
// operations (a source with one keeps DuckDB's message).
func valueCountError(err error, src string) bool {
	var de *engine.Error
	if !errors.As(err, &de) || de.Kind != "Binder" || !strings.Contains(de.Msg, "same number of result columns") {
		return false
	}
	plain := []byte(strings.Repeat(" ", len(src))) // src without literals and comments
	Scan(src, func(i int) { plain[i] = src[i] })
	return !setOperationRE.Match(plain)
}

var setOperationRE = regexp.MustCompile(`(?i)\b(UNION|INTERSECT|EXCEPT)\b`)

func (wr *Writer) checkQuery(sql string) error {
	if wr.CheckQuery == nil {
		return nil
	}
	return wr.CheckQuery(sql)
}

// writeQuery runs query and writes its rows to id through envs.
func (wr *Writer) writeQuery(ctx context.Context, res *Result, id lake.Ident, query string, opts envs.WriteOptions) (*Result, error) {
	// The rows come from one read: not an EXPLAIN ANALYZE of a write (DuckDB would run it), not a WITH ... INSERT,
	// not a second statement.
	if err := wr.checkQuery(query); err != nil {
		return nil, err
	}
	if len(Split(query)) != 1 || !IsRead(FirstWord(query)) {
		return nil, refuse(RuleOneRead, "the rows written to %s come from one query (SELECT, WITH, VALUES, ...)", id)
	}
	rows, err := wr.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	w, err := wr.Envs.Write(ctx, wr.Env, id, rows, opts)
	if err != nil {
		return nil, err
	}
	res.Changed, res.Created, res.Replaced = true, w.Created, opts.Mode == envs.Overwrite
	res.Rows, res.SnapshotID, res.AuditID = w.AddedRows, w.SnapshotID, w.AuditID
	return res, nil
}

// drop: DROP TABLE [IF EXISTS] zone.name, through envs (audited).
func (wr *Writer) drop(ctx context.Context, m []string) (*Result, error) {
	id, err := tableIdent(m[2], m[3])
	if err != nil {
		return nil, err
	}
	cols, _, err := wr.columns(ctx, id)
	if err != nil {
		return nil, err
	}
	res := wr.result(Drop, id)
	if cols == nil {
		if m[1] != "" {
			return res, nil
		}
		return nil, refuse(RuleNoTable, "table %s does not exist", id)
	}
	if err := wr.Envs.Drop(ctx, wr.Env, id, false, wr.Actor); err != nil {
		return nil, err
	}
	res.Changed = true
	return res, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
