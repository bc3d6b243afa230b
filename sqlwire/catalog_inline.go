package sqlwire

// Views over a session's own relations (pg_tables, pg_views, pg_user, information_schema's schemata, tables,
// views and columns) are not created in the pooled catalog database: DuckDB binds a view when it is created,
// ~4.5 ms of CPU for these seven, paid whenever what the catalog shows changes. The rewriter puts the view's
// body in the statement instead, where the view is named as a relation (after FROM or JOIN, not followed by
// a dot), aliased by the view's name unless the statement gives an alias; DuckDB binds a view at every query
// anyway, so a statement costs what it did. A statement that names one elsewhere (a comma join, DESCRIBE)
// runs in a fresh database where the view exists, as strata.* statements do.

// sessionView reports whether name is a view over a session's relations (not in the base file).
func sessionView(name string) bool {
	_, ok := views[name]
	return ok && !catalogObjects()[name].base
}

// inlineViews replaces the session views toks names as relations by their bodies.
func inlineViews(toks []tok) []tok {
	out := toks[:0:0]
	for i, t := range toks {
		name := t.lower()
		if t.kind != tkIdent || !sessionView(name) || !relationPosition(toks, i) {
			out = append(out, t)
			continue
		}
		out = append(out, tok{tkPunct, "("})
		out = append(out, inlineViews(lex(views[name].body))...)
		out = append(out, tok{tkPunct, ")"})
		if !aliased(toks, i) {
			out = append(out, tok{tkSpace, " "}, tok{tkIdent, "AS"}, tok{tkSpace, " "}, tok{tkIdent, name})
		}
	}
	return out
}

// viewsNamedElsewhere returns the session views toks names where inlineViews leaves them (a comma join,
// DESCRIBE): the statement needs them as views. A qualifier (strata_is_columns.column_name) names the alias
// inlineViews gives, and a qualified name (raw.pg_tables) a lake table, not the view.
func viewsNamedElsewhere(toks []tok) map[string]bool {
	out := map[string]bool{}
	for i, t := range toks {
		name := t.lower()
		if t.kind != tkIdent || !sessionView(name) || relationPosition(toks, i) {
			continue
		}
		if j := next(toks, i+1); j < len(toks) && toks[j].is(".") {
			continue
		}
		if p := prev(toks, i-1); p >= 0 && toks[p].is(".") {
			continue // zone.pg_tables: a lake table of that name
		}
		out[name] = true
	}
	return out
}

// relationPosition reports whether toks[i] follows FROM or JOIN and is not a qualifier (x.col).
func relationPosition(toks []tok, i int) bool {
	p := prev(toks, i-1)
	if p < 0 || toks[p].lower() != "from" && toks[p].lower() != "join" {
		return false
	}
	j := next(toks, i+1)
	return j >= len(toks) || !toks[j].is(".")
}

// notAliases are the keywords that may follow a relation in FROM without being its alias.
var notAliases = map[string]bool{"where": true, "join": true, "inner": true, "left": true, "right": true,
	"full": true, "cross": true, "natural": true, "on": true, "using": true, "group": true, "order": true,
	"limit": true, "offset": true, "union": true, "except": true, "intersect": true, "having": true,
	"window": true, "qualify": true, "fetch": true, "for": true, "returning": true, "positional": true,
	"asof": true, "anti": true, "semi": true, "tablesample": true, "pivot": true, "unpivot": true, "lateral": true}

// aliased reports whether the relation toks[i] is followed by an alias (AS name, or a name).
func aliased(toks []tok, i int) bool {
	j := next(toks, i+1)
	if j >= len(toks) {
		return false
	}
	switch toks[j].kind {
	case tkQIdent:
		return true
	case tkIdent:
		return !notAliases[toks[j].lower()]
	}
	return false
}
