//go:build duckdb_arrow

package engine

import (
	"context"
	"strings"
	"sync/atomic"

	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// A pooled database serves the same statements again and again (a BI tool's or a service's point queries), so it
// remembers what it prepared. Two shapes repeat:
//   - one parameterless SELECT sent again as the same text: its prepared statement is kept and executed again,
//     skipping parsing, binding and planning;
//   - "PREPARE name AS ...; EXECUTE name(literals)" (how sqlwire binds parameters): a PREPARE identical to the
//     one that last defined name in this database is not run again, so only the EXECUTE is planned.
// Both are safe because a pooled database never changes: its views and files are fixed by its pool key, and a
// database that ran anything but SELECT, PREPARE or EXECUTE is never pooled.

// Stats counts the statements pooled databases prepared and those they reused instead (kept SELECTs run again
// and PREPAREs already in effect). For tests and metrics.
type Stats struct {
	Prepared int64
	Reused   int64
}

type stmtCounts struct{ prepared, reused atomic.Int64 }

// Stats returns the engine's statement counts so far.
func (e *Engine) Stats() Stats {
	return Stats{Prepared: e.counts.prepared.Load(), Reused: e.counts.reused.Load()}
}

// maxKeptStatements bounds the prepared SELECTs one pooled database keeps.
const maxKeptStatements = 16

// stmtCache is an instance's memory of prepared statements; the zero value is empty. Used only by the goroutine
// that runs the instance.
type stmtCache struct {
	prepared map[string]string                   // PREPARE name → the statement text that last defined it
	kept     map[string]duckdb.PreparedStatement // SQL text of a parameterless SELECT → its prepared statement
}

// prepareReused is prepareLast for a poolable instance: it reuses a kept statement, skips PREPAREs that are already
// in effect, and keeps a new parameterless SELECT. keep reports that the statement stays owned by the instance
// (the caller must not destroy it).
func (in *instance) prepareReused(ctx context.Context, sql string) (ps duckdb.PreparedStatement, keep bool, err error) {
	if ps, ok := in.stmts.kept[sql]; ok {
		in.readOnly = true
		in.count(0, 1)
		return ps, true, nil
	}
	run := in.skipPrepared(sql)
	texts := splitStatements(run)
	defer func() { in.count(int64(len(texts)), int64(len(splitStatements(sql))-len(texts))) }()
	ps, err = in.prepareStatements(ctx, run, func(i, n int, typ duckdb.StatementType) {
		if typ != duckdb.StatementTypePrepare || len(texts) != n {
			return
		}
		if name, ok := prepareName(texts[i]); ok {
			if in.stmts.prepared == nil {
				in.stmts.prepared = map[string]string{}
			}
			in.stmts.prepared[name] = texts[i]
		}
	})
	if err != nil {
		return ps, false, err
	}
	if run == sql && len(texts) == 1 && len(in.stmts.kept) < maxKeptStatements &&
		duckdb.PreparedStatementType(ps) == duckdb.StatementTypeSelect && duckdb.NParams(ps) == 0 {
		if in.stmts.kept == nil {
			in.stmts.kept = map[string]duckdb.PreparedStatement{}
		}
		in.stmts.kept[sql] = ps
		return ps, true, nil
	}
	return ps, false, nil
}

func (in *instance) count(prepared, reused int64) {
	if in.counts != nil {
		in.counts.prepared.Add(prepared)
		in.counts.reused.Add(reused)
	}
}

// skipPrepared drops the leading PREPARE statements of sql that are exactly the ones in effect for their names.
// The last statement is never dropped.
func (in *instance) skipPrepared(sql string) string {
	for len(in.stmts.prepared) > 0 {
		stmt, rest, ok := firstStatement(sql)
		if !ok || strings.TrimSpace(rest) == "" {
			return sql
		}
		name, isPrepare := prepareName(stmt)
		if !isPrepare || in.stmts.prepared[name] != stmt {
			return sql
		}
		sql = rest
	}
	return sql
}

// dropKept destroys the kept statements; close calls it before disconnecting.
func (in *instance) dropKept() {
	for k, ps := range in.stmts.kept {
		duckdb.DestroyPrepare(&ps)
		delete(in.stmts.kept, k)
	}
	in.stmts.prepared = nil
}

// firstStatement splits sql after its first top-level semicolon (outside literals and comments). stmt is the
// statement trimmed of spaces and without the semicolon; ok is false when sql has no semicolon.
func firstStatement(sql string) (stmt, rest string, ok bool) {
	l := &lexer{s: sql}
	for {
		tok, more := l.next()
		if !more {
			return strings.TrimSpace(sql), "", false
		}
		if tok.kind == tokOther && l.pos > 0 && sql[l.pos-1] == ';' {
			return strings.TrimSpace(sql[:l.pos-1]), sql[l.pos:], true
		}
	}
}

// splitStatements returns the non-empty statements of sql, trimmed, as firstStatement splits them.
func splitStatements(sql string) []string {
	var out []string
	for {
		stmt, rest, ok := firstStatement(sql)
		if stmt != "" {
			out = append(out, stmt)
		}
		if !ok {
			return out
		}
		sql = rest
	}
}

// prepareName returns the (lower-cased unless quoted) name a "PREPARE name AS ..." statement defines.
func prepareName(stmt string) (string, bool) {
	l := &lexer{s: stmt}
	first, ok := l.next()
	if !ok || first.kind != tokIdent || first.text != "prepare" {
		return "", false
	}
	name, ok := l.next()
	if !ok || name.kind != tokIdent || name.text == "" {
		return "", false
	}
	return name.text, true
}
