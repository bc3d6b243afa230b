package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
)

// A strata sql script that writes lake tables runs statement by statement. The statements between two lake
// writes run together in one DuckDB database, as a script without writes does: the temporary tables, macros
// and settings they make last until the next lake write, and the query of a CREATE TABLE AS or INSERT runs in
// the same database as the statements before it (it may read their temporary tables). Each lake write commits
// on its own, in order, through envs (lakesql, the rules the PostgreSQL endpoint follows too), and every
// statement after it reads the new snapshot. The script stops at its first error; the writes before it stay.

// sqlScript is a script split into statements; writes[i] is statement i's lake write, nil for the others.
type sqlScript struct {
	stmts  []string
	writes []*lakesql.Write
}

// parseScript splits query and refuses, before anything runs, a statement that would write a lake table in a
// way strata sql does not: UPDATE, DELETE, ALTER, TRUNCATE, a write inside WITH or EXPLAIN, ...
func parseScript(query, env string) (*sqlScript, error) {
	s := &sqlScript{}
	for _, st := range lakesql.Split(query) {
		w := lakesql.ParseWrite(st)
		if w != nil {
			if zone, _ := w.Table(); duckSchemas[zone] {
				w = nil // a table of the script's own DuckDB database
			}
		}
		if w == nil {
			if err := refuseWrite(st); err != nil {
				return nil, err
			}
			if err := refuseOutside(st, env); err != nil {
				return nil, err
			}
		}
		s.stmts = append(s.stmts, st)
		s.writes = append(s.writes, w)
	}
	return s, nil
}

// hasWrites says whether the script writes a lake table.
func (s *sqlScript) hasWrites() bool {
	for _, w := range s.writes {
		if w != nil {
			return true
		}
	}
	return false
}

// endsWithWrite says whether the script's last statement is a lake write (it then prints what it wrote, no rows).
func (s *sqlScript) endsWithWrite() bool {
	return len(s.writes) > 0 && s.writes[len(s.writes)-1] != nil
}

// refuseWrite says what to do instead when a statement that is not one of lakesql's writes would write a lake
// table (zone.name): its lake tables are read-only views in DuckDB, where it could only fail in DuckDB's words.
// A script's temporary tables, macros and views stay allowed.
func refuseWrite(stmt string) error {
	for _, q := range engine.WrittenNames(stmt) {
		if duckSchemas[strings.ToLower(q.Schema)] {
			continue
		}
		return fmt.Errorf("%w: strata sql writes lake tables only with CREATE TABLE zone.name AS SELECT ..., INSERT "+
			"INTO zone.name [(columns)] SELECT ...|VALUES ... and DROP TABLE zone.name, each a statement of its own, "+
			"and this statement writes %s otherwise (%s): in a dev environment rewrite the table with CREATE OR REPLACE "+
			"TABLE %s AS SELECT ... (the rows it should hold), or load files with strata table import; prod's tables "+
			"change only through releases (strata release publish)", errUsage, q, lakesql.FirstWord(stmt), q)
	}
	return nil
}

// copyFromRE matches COPY zone.name [(cols)] FROM ...: rows loaded into a table.
var copyFromRE = regexp.MustCompile(`(?is)^\s*COPY\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*\.\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*(\([^)]*\))?\s*FROM\b`)

// refuseOutside refuses, saying what to do, the statements that would take strata sql outside the lake: another
// database (ATTACH, DETACH), DuckDB extensions from the network (INSTALL: the engine runs offline), and COPY
// zone.name FROM a file (a lake table loads through the write gate). Files stay readable and writable as in
// DuckDB (read_csv('x.csv'), COPY (query) TO 'x.parquet'): they are the user's own.
func refuseOutside(stmt, env string) error {
	switch w := lakesql.FirstWord(stmt); w {
	case "ATTACH", "DETACH":
		return fmt.Errorf("%w: %s is refused: strata sql reads the environment's lake tables (and files: read_parquet('x.parquet'), "+
			"read_csv('x.csv')); load another database's rows into the lake with strata move run or strata table import --env %s",
			errUsage, w, env)
	case "INSTALL", "FORCE", "UNINSTALL":
		if w == "FORCE" && strings.Join(lakesql.Words(stmt, 2), " ") != "FORCE INSTALL" {
			break
		}
		return fmt.Errorf("%w: %s is refused: strata sql runs DuckDB offline, with the extensions built into it", errUsage, w)
	}
	if m := copyFromRE.FindStringSubmatch(lakesql.StripComments(stmt)); m != nil && !duckSchemas[lakesql.IdentName(m[1])] {
		table := lakesql.IdentName(m[1]) + "." + lakesql.IdentName(m[2])
		return fmt.Errorf("%w: COPY %s FROM is refused: load a file into a lake table with strata table import --env %s %s FILE, "+
			"or INSERT INTO %s SELECT * FROM read_csv('FILE')", errUsage, table, env, table, table)
	}
	return nil
}

// scriptRun runs a script with lake writes in env.
type scriptRun struct {
	a       *app
	env     string
	eng     *engine.Engine
	pending []string // statements read but not run yet: they run with the next query
	results []*lakesql.Result
	report  io.Writer // where each write is reported as it commits; nil: only at the end
	// made are the temporary tables, views and macros the statements since the last lake write create; gone
	// are those a lake write ended (lower-cased name → the write's statement number), for a clearer error.
	made, gone map[string]int
}

// scriptObjectRE matches a statement that makes an object of the script's own database: CREATE [OR REPLACE]
// [TEMP|TEMPORARY] TABLE|VIEW|MACRO|FUNCTION [IF NOT EXISTS] name (unqualified, or in temp or main).
var scriptObjectRE = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?(?:TABLE|VIEW|MACRO|FUNCTION)\s+` +
	`(?:IF\s+NOT\s+EXISTS\s+)?(?:(?:temp|main)\s*\.\s*)?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*(?:\(|\bAS\b|$)`)

// missingRE finds the name in DuckDB's error for an object that does not exist.
var missingRE = regexp.MustCompile(`(?:Table|View|Macro|Function|Table Function) with name "?([^"\s!]+)"? does not exist`)

// note records the objects statement st makes.
func (r *scriptRun) note(st string) {
	if m := scriptObjectRE.FindStringSubmatch(lakesql.StripComments(st)); m != nil {
		name := strings.ToLower(lakesql.IdentName(m[1]))
		if r.made == nil {
			r.made = map[string]int{}
		}
		r.made[name] = 1
		delete(r.gone, name)
	}
}

// wrote records that the lake write of statement n ended the objects made before it.
func (r *scriptRun) wrote(n int) {
	for name := range r.made {
		if r.gone == nil {
			r.gone = map[string]int{}
		}
		r.gone[name] = n
	}
	r.made = nil
}

// explain adds to err, when it is DuckDB's for an object a lake write ended, why it is gone and what to do.
func (r *scriptRun) explain(err error) error {
	m := missingRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	n, ok := r.gone[strings.ToLower(m[1])]
	if !ok {
		return err
	}
	return fmt.Errorf("%w\n%s was made by this script before its lake write (statement %d): temporary tables, views, macros "+
		"and settings last until the next lake write, after which the statements read the new snapshots in a new "+
		"database. Make it again after that write, or keep its rows in a lake table (CREATE TABLE zone.name AS ...)",
		err, m[1], n)
}

// run runs s; the returned result (nil when the script ends with a write) holds the last statement's rows.
func (r *scriptRun) run(ctx context.Context, s *sqlScript) (*engine.Result, error) {
	wr := &lakesql.Writer{Envs: r.a.envs, Env: r.env, Actor: r.a.actor(), Source: "sql", Query: r.query}
	if err := wr.Check(ctx); err != nil {
		return nil, err // prod: refused before anything runs
	}
	for i, st := range s.stmts {
		w := s.writes[i]
		if w == nil {
			r.pending = append(r.pending, st)
			r.note(st)
			continue
		}
		if w.Verb == lakesql.Drop {
			if err := r.flush(ctx); err != nil {
				return nil, err
			}
		}
		res, err := wr.Run(ctx, w)
		if ferr := r.flush(ctx); err == nil { // the statements before a write that ran no query
			err = ferr
		}
		if err != nil {
			return nil, r.statementError(s, i, r.explain(err))
		}
		r.wrote(i + 1)
		r.results = append(r.results, res)
		if r.report != nil {
			printWrite(r.report, res)
		}
	}
	if len(r.pending) == 0 {
		return nil, nil
	}
	return r.query(ctx, "")
}

// query runs the pending statements and then sql ("": none) in one DuckDB database, binding the lake tables
// they name as env's readers see them now.
func (r *scriptRun) query(ctx context.Context, sql string) (*engine.Result, error) {
	stmts := r.pending
	if sql != "" {
		stmts = append(stmts, sql)
	}
	r.pending = nil
	full := strings.Join(stmts, ";\n")
	tables, err := r.a.envs.BindSQL(ctx, r.env, full)
	if err != nil {
		return nil, r.explain(err)
	}
	res, err := r.eng.Query(ctx, full, tables)
	if err != nil {
		return nil, r.explain(err)
	}
	return res, nil
}

// flush runs the pending statements, reading the last one's rows to the end.
func (r *scriptRun) flush(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	res, err := r.query(ctx, "")
	if err != nil {
		return err
	}
	defer res.Close()
	for res.Next() {
	}
	return res.Err()
}

// statementError is the error of the script's lake write i.
func (r *scriptRun) statementError(s *sqlScript, i int, err error) error {
	zone, name := s.writes[i].Table()
	return &scriptError{n: i + 1, of: len(s.stmts), what: fmt.Sprintf("%s %s.%s", s.writes[i].Verb, zone, name), err: err}
}

// scriptError is a lake write of strata sql that failed: which statement of how many, and why.
type scriptError struct {
	n, of int
	what  string
	err   error
}

func (e *scriptError) Error() string {
	if e.of == 1 {
		return e.err.Error()
	}
	return fmt.Sprintf("statement %d of %d (%s): %v", e.n, e.of, e.what, e.err)
}

func (e *scriptError) Unwrap() error { return e.err }

// printWrite reports one write as a sentence.
func printWrite(w io.Writer, res *lakesql.Result) {
	table := res.Env + "." + res.Table
	switch {
	case res.Statement == lakesql.Drop && res.Changed:
		fmt.Fprintf(w, "dropped %s\n", table)
	case res.Statement == lakesql.Drop:
		fmt.Fprintf(w, "%s does not exist: nothing dropped (IF EXISTS)\n", table)
	case !res.Changed:
		fmt.Fprintf(w, "%s exists: nothing written (IF NOT EXISTS)\n", table)
	default:
		verb := "appended"
		if res.Created {
			verb = "created"
		} else if res.Replaced {
			verb = "replaced"
		}
		fmt.Fprintf(w, "%s %s: %d rows, snapshot %d\n", verb, table, res.Rows, res.SnapshotID)
	}
}

// printWrites prints what a script wrote: sentences, or a JSON/YAML list with -o json|yaml.
func (a *app) printWrites(results []*lakesql.Result) error {
	return a.print(results, func(w io.Writer) {
		for _, res := range results {
			printWrite(w, res)
		}
	})
}
