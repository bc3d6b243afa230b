package sqlwire

import (
	"strings"

	"github.com/strata-data/strata/lakesql"
)

// catalog queries are rewritten token by token into SQL DuckDB runs over the emulated catalog: a lexer, not a
// parser, because the forms to change are few and local (qualified names, casts, operators, collations).

type tokKind uint8

const (
	tkSpace  tokKind = iota // white space and comments
	tkIdent                 // unquoted identifier or keyword
	tkQIdent                // "quoted identifier"
	tkString                // '...', E'...', $$...$$
	tkNumber
	tkParam // $1
	tkOp    // operator characters
	tkPunct // ( ) [ ] , ; . ::
)

type tok struct {
	kind tokKind
	text string
}

// lower is the identifier's name as PostgreSQL folds it ("" for other tokens).
func (t tok) lower() string {
	switch t.kind {
	case tkIdent:
		return strings.ToLower(t.text)
	case tkQIdent: // an unterminated one ends the input
		return strings.ReplaceAll(strings.TrimSuffix(t.text[1:], `"`), `""`, `"`)
	}
	return ""
}

func (t tok) is(text string) bool {
	return t.kind == tkPunct && t.text == text || t.kind == tkOp && t.text == text
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

const opChars = "+-*/<>=~!@#%^&|`?"

// lex splits sql into tokens; joining their texts gives sql back.
func lex(sql string) []tok {
	var out []tok
	for i := 0; i < len(sql); {
		c := sql[i]
		start := i
		kind := tkPunct
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			for i < len(sql) && strings.IndexByte(" \t\n\r\f", sql[i]) >= 0 {
				i++
			}
			kind = tkSpace
		case strings.HasPrefix(sql[i:], "--"): // to \n or \r, as DuckDB's lexer
			if j := strings.IndexAny(sql[i:], "\n\r"); j >= 0 {
				i += j
			} else {
				i = len(sql)
			}
			kind = tkSpace
		case strings.HasPrefix(sql[i:], "/*"):
			i, kind = lakesql.SkipBlockComment(sql, i), tkSpace
		case c == '\'':
			i, kind = lakesql.SkipQuoted(sql, i, '\''), tkString
		case (c == 'E' || c == 'e') && i+1 < len(sql) && sql[i+1] == '\'':
			i, kind = lakesql.SkipQuoted(sql, i+1, '\''), tkString
		case c == '"':
			i, kind = lakesql.SkipQuoted(sql, i, '"'), tkQIdent
		case c == '$' && lakesql.DollarTag(sql[i:]) != "":
			i = lakesql.SkipDollarQuoted(sql, i)
			kind = tkString
		case c == '$':
			for i++; i < len(sql) && sql[i] >= '0' && sql[i] <= '9'; i++ {
			}
			kind = tkParam
		case c >= '0' && c <= '9':
			for i < len(sql) && (sql[i] >= '0' && sql[i] <= '9' || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E') {
				i++
			}
			kind = tkNumber
		case isIdentStart(c):
			for i < len(sql) && (isIdentStart(sql[i]) || sql[i] >= '0' && sql[i] <= '9' || sql[i] == '$') {
				i++
			}
			kind = tkIdent
		case c == ':' && strings.HasPrefix(sql[i:], "::"):
			i += 2
		case strings.IndexByte(opChars, c) >= 0:
			for i < len(sql) && strings.IndexByte(opChars, sql[i]) >= 0 && !strings.HasPrefix(sql[i:], "--") && !strings.HasPrefix(sql[i:], "/*") {
				i++
			}
			kind = tkOp
		default:
			i++
		}
		out = append(out, tok{kind, sql[start:i]})
	}
	return out
}

func join(toks []tok) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return b.String()
}

// next returns the index of the first non-space token at or after i (len(toks) if none).
func next(toks []tok, i int) int {
	for i < len(toks) && toks[i].kind == tkSpace {
		i++
	}
	return i
}

// prev returns the index of the last non-space token at or before i (-1 if none).
func prev(toks []tok, i int) int {
	for i >= 0 && toks[i].kind == tkSpace {
		i--
	}
	return i
}

// rewriteCatalog turns PostgreSQL catalog SQL into SQL for the emulated catalog.
func rewriteCatalog(toks []tok) []tok {
	toks = dropQualifiers(toks)
	toks = rewriteOperators(toks)
	toks = rewriteRegprocColumns(toks)
	toks = rewriteCasts(toks)
	toks = rewriteCastCalls(toks)
	toks = nameSeriesColumns(toks)
	out := toks[:0:0]
	for i, t := range toks {
		switch {
		case t.kind == tkString && len(t.text) >= 4 && strings.HasPrefix(t.text, "'{") && strings.HasSuffix(t.text, "}'"):
			// PostgreSQL array literal '{a,b}' → DuckDB's list text '[a,b]' (cast by the comparison).
			t.text = "'[" + t.text[2:len(t.text)-2] + "]'"
		case t.kind == tkIdent && (t.lower() == "current_user" || t.lower() == "session_user"):
			// SQL keywords without parentheses: macros (strata_current_user()) that return the session's user.
			if j := next(toks, i+1); (j >= len(toks) || !toks[j].is("(")) && (i == 0 || !toks[prev(toks, i-1)].is(".")) {
				out = append(out, tok{tkIdent, "strata_" + t.lower()}, tok{tkPunct, "("}, tok{tkPunct, ")"})
				continue
			}
		}
		out = append(out, t)
	}
	out = nameCallColumns(out)
	for i, t := range out { // after naming: the column keeps PostgreSQL's function name
		if t.kind == tkIdent && renamedFuncs[t.lower()] != "" {
			if j := next(out, i+1); j < len(out) && out[j].is("(") {
				out[i].text = renamedFuncs[t.lower()]
			}
		}
	}
	return out
}

// renamedFuncs are PostgreSQL functions DuckDB has under another name.
var renamedFuncs = map[string]string{"json_build_object": "json_object", "json_build_array": "json_array"}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// dropQualifiers removes "pg_catalog." (the emulated catalog lives in DuckDB's main schema, which DuckDB
// searches before its own pg_catalog), maps information_schema.x to strata_is_x, and drops COLLATE clauses.
func dropQualifiers(toks []tok) []tok {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if n := t.lower(); n == "pg_catalog" || n == "information_schema" {
			if j := next(toks, i+1); j < len(toks) && toks[j].is(".") {
				k := next(toks, j+1)
				if k < len(toks) && n == "information_schema" && toks[k].lower() != "" {
					toks[k] = tok{tkIdent, "strata_is_" + toks[k].lower()}
				}
				i = k - 1
				continue
			}
		}
		if t.kind == tkIdent && t.lower() == "collate" {
			j := next(toks, i+1)
			if j < len(toks) && toks[j].lower() != "" {
				if k := next(toks, j+1); k < len(toks) && toks[k].is(".") { // COLLATE pg_catalog.default
					j = next(toks, k+1)
				}
				i = j
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// rewriteOperators turns OPERATOR(pg_catalog.~) into ~ and PostgreSQL's regular expression operators, which
// match anywhere in the string, into DuckDB's, which match the whole string.
func rewriteOperators(toks []tok) []tok {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tkIdent && t.lower() == "operator" {
			if j := next(toks, i+1); j < len(toks) && toks[j].is("(") {
				k := next(toks, j+1)
				if l := next(toks, k+1); k < len(toks) && toks[k].kind == tkOp && l < len(toks) && toks[l].is(")") {
					t, i = toks[k], l
				}
			}
		}
		if t.kind == tkOp && (t.text == "~" || t.text == "!~" || t.text == "~*" || t.text == "!~*") {
			flags := "(?s)"
			if strings.HasSuffix(t.text, "*") {
				flags = "(?is)"
			}
			out = append(out, tok{tkOp, strings.TrimSuffix(t.text, "*")})
			j := next(toks, i+1)
			if j < len(toks) {
				out = append(out, tok{tkSpace, " "})
				r := toks[j]
				if r.kind == tkString && len(r.text) >= 2 && r.text[0] == '\'' && strings.HasSuffix(r.text, "'") {
					out = append(out, tok{tkString, "'" + flags + ".*(?:" + r.text[1:len(r.text)-1] + ").*'"})
				} else {
					out = append(out, tok{tkPunct, "('" + flags + ".*(?:' || " + r.text + " || ').*')"})
				}
				i = j
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

// regCasts are the casts to PostgreSQL's OID alias types: ::regclass gives the OID (from a name or an OID),
// ::regclass::text the name.
var regCasts = map[string][2]string{
	"regclass":     {"strata_regclass", "strata_relname"},
	"regtype":      {"strata_regtype", "strata_typname"},
	"regnamespace": {"strata_regnamespace", "strata_nspname"},
	"regproc":      {"strata_regproc", "strata_proname"},
	"regprocedure": {"strata_regproc", "strata_proname"},
	"regrole":      {"strata_regrole", "strata_rolname"},
}

// plainCasts are PostgreSQL types DuckDB lacks, by the DuckDB type that holds them here.
var plainCasts = map[string]string{"oid": "BIGINT", "name": "VARCHAR", "char": "VARCHAR", "int2vector": "VARCHAR",
	"oidvector": "VARCHAR", "pg_node_tree": "VARCHAR", "xid": "BIGINT", "cid": "BIGINT", "tid": "VARCHAR",
	"aclitem": "VARCHAR", "regconfig": "BIGINT", "bpchar": "VARCHAR"}

var textTypes = map[string]bool{"text": true, "varchar": true, "name": true}

// rewriteCasts rewrites x::regclass[::text] into strata_regclass(x) / strata_relname(x), and casts to types
// DuckDB lacks into their stand-ins.
func rewriteCasts(toks []tok) []tok {
	var shown map[string]string // columns of derived tables and CTEs that hold reg casts: label → name function
	for i := 0; i < len(toks); i++ {
		if !toks[i].is("::") {
			continue
		}
		j := next(toks, i+1)
		if j >= len(toks) {
			break
		}
		typ := toks[j].lower()
		if d, ok := plainCasts[typ]; ok {
			toks[j] = tok{tkIdent, d}
			continue
		}
		fns, ok := regCasts[typ]
		if !ok {
			continue
		}
		fn, end := fns[0], j
		if k := next(toks, j+1); k+1 < len(toks) && toks[k].is("::") && textTypes[toks[next(toks, k+1)].lower()] {
			fn, end = fns[1], next(toks, k+1)
		}
		start := operandStart(toks, i-1)
		if start < 0 {
			continue
		}
		operand := append([]tok{}, toks[start:i]...)
		repl := append([]tok{{tkIdent, fn}, {tkPunct, "("}}, operand...)
		repl = append(repl, tok{tkPunct, ")"})
		if item, aliased := selectItemAt(toks, start, end); item && fn == fns[0] {
			repl = shownReg(fns, operand, typ, aliased)
		} else if label := derivedRegItem(toks, start, end, operand, typ); label != "" && fn == fns[0] {
			if shown == nil {
				shown = map[string]string{}
			}
			shown[label] = fns[1]
		} else if fn == fns[1] && len(operand) == 1 && operand[0].kind == tkString {
			// 'int4'::regtype::text is the name of what the text names ("integer"), not the text
			repl = append([]tok{{tkIdent, fn}, {tkPunct, "("}, {tkIdent, fns[0]}, {tkPunct, "("}, operand[0]}, tok{tkPunct, ")"}, tok{tkPunct, ")"})
		}
		rest := append([]tok{}, toks[end+1:]...)
		toks = append(append(toks[:start], repl...), rest...)
		i = start + len(repl) - 1
	}
	return showDerivedRegs(toks, shown)
}

// derivedRegItem returns the column label of a reg cast toks[start:end+1] that is a whole select item of a
// derived table (FROM (SELECT ...) s, JOIN (...)) or a CTE body (WITH x AS (SELECT ...)) right under the
// statement's top level, whose columns are not renamed by a column list; "" otherwise.
func derivedRegItem(toks []tok, start, end int, operand []tok, typ string) string {
	open, depth := -1, 0
	for k := start - 1; k >= 0 && open < 0; k-- {
		switch {
		case toks[k].is(")"):
			depth++
		case toks[k].is("(") && depth == 0:
			open = k
		case toks[k].is("("):
			depth--
		}
	}
	if open < 0 {
		return ""
	}
	for _, t := range toks[:open] { // the subquery must sit at the top level
		if t.is("(") {
			depth++
		} else if t.is(")") {
			depth--
		}
	}
	closing := matching(toks, open)
	if depth != 0 || closing >= len(toks) || !derivedOpening(toks, open, closing) {
		return ""
	}
	body := toks[open+1 : closing]
	item, aliased := selectItemAt(body, start-open-1, end-open-1)
	if !item {
		return ""
	}
	if !aliased {
		return castLabel(operand, typ)
	}
	a := next(toks, end+1)
	if a < len(toks) && toks[a].kind == tkIdent && toks[a].lower() == "as" {
		a = next(toks, a+1)
	}
	if a >= len(toks) {
		return ""
	}
	return toks[a].lower()
}

// derivedOpening reports whether the parentheses toks[open] ... toks[closing] hold a derived table or a CTE body
// whose columns keep the names of its select list.
func derivedOpening(toks []tok, open, closing int) bool {
	p := prev(toks, open-1)
	if p < 0 || toks[p].kind != tkIdent {
		return false
	}
	switch toks[p].lower() {
	case "from", "join":
		a := next(toks, closing+1) // ) [AS] alias [(columns)]
		if a < len(toks) && toks[a].kind == tkIdent && toks[a].lower() == "as" {
			a = next(toks, a+1)
		}
		if a < len(toks) && (toks[a].kind == tkIdent && !sqlKeywords[toks[a].lower()] && !listEnds[toks[a].lower()] || toks[a].kind == tkQIdent) {
			a = next(toks, a+1)
		}
		return a >= len(toks) || !toks[a].is("(")
	case "as": // WITH name AS (...), read by the statement: not WITH name (columns) AS (...)
		n := prev(toks, p-1)
		return n >= 0 && (toks[n].kind == tkIdent || toks[n].kind == tkQIdent) && readFrom(toks, closing+1, toks[n].lower())
	}
	return false
}

// readFrom reports whether name follows FROM, JOIN or a comma at the top level of toks[from:]: the statement
// reads the CTE of that name.
func readFrom(toks []tok, from int, name string) bool {
	depth := 0
	for k := from; k < len(toks); k++ {
		switch t := toks[k]; {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		case depth == 0 && (t.kind == tkIdent || t.kind == tkQIdent) && t.lower() == name:
			if p := prev(toks, k-1); p >= 0 && (toks[p].is(",") || toks[p].lower() == "from" || toks[p].lower() == "join") {
				return true
			}
		}
	}
	return false
}

// showDerivedRegs makes a top-level select item that is a bare column holding a reg cast of a derived table or CTE
// (shown: label → name function) print the name, as PostgreSQL prints the value of such a column.
func showDerivedRegs(toks []tok, shown map[string]string) []tok {
	if len(shown) == 0 {
		return toks
	}
	for i := 0; i < len(toks); i++ {
		fn := shown[toks[i].lower()]
		if fn == "" || toks[i].kind != tkIdent && toks[i].kind != tkQIdent || sqlKeywords[toks[i].lower()] {
			continue
		}
		if p := prev(toks, i-1); p >= 0 && toks[p].is(".") {
			continue // qualified: maybe another table's column of the same name
		}
		item, aliased := selectItemAt(toks, i, i)
		if !item {
			continue
		}
		repl := []tok{{tkIdent, fn}, {tkPunct, "("}, toks[i], {tkPunct, ")"}}
		if !aliased {
			repl = append(repl, tok{tkSpace, " "}, tok{tkIdent, "AS"}, tok{tkSpace, " "}, tok{tkQIdent, quoteIdent(toks[i].lower())})
		}
		rest := append([]tok{}, toks[i+1:]...)
		toks = append(append(toks[:i], repl...), rest...)
		i += len(repl) - 1
	}
	return toks
}

// shownReg is a value of an OID alias type (x::regtype) that a statement returns: PostgreSQL prints it as the name
// of what the OID stands for ('int4'::regtype is "integer", 'raw.people'::regclass "raw.people"), so the column
// holds that name (of the object the value resolves to), named as PostgreSQL names the column when no alias
// follows: after the operand's column or function ("oid" for oid::regtype), else after the type ("regtype"). A
// cast used in an expression, a comparison or a further cast (::oid, ::int) keeps the OID.
func shownReg(fns [2]string, operand []tok, typ string, aliased bool) []tok {
	repl := append([]tok{{tkIdent, fns[1]}, {tkPunct, "("}, {tkIdent, fns[0]}, {tkPunct, "("}}, operand...)
	repl = append(repl, tok{tkPunct, ")"}, tok{tkPunct, ")"})
	if aliased {
		return repl
	}
	return append(repl, tok{tkSpace, " "}, tok{tkIdent, "AS"}, tok{tkSpace, " "}, tok{tkQIdent, quoteIdent(castLabel(operand, typ))})
}

// castLabel is the column name PostgreSQL gives operand::typ: the operand's column (without qualifier and
// subscripts) or function name, else the type's name.
func castLabel(operand []tok, typ string) string {
	i := next(operand, 0)
	if i >= len(operand) || operand[i].kind != tkIdent && operand[i].kind != tkQIdent || sqlKeywords[operand[i].lower()] {
		return typ
	}
	name := operand[i].lower()
	for j := next(operand, i+1); j < len(operand); j = next(operand, j+1) {
		switch {
		case operand[j].is("."):
			k := next(operand, j+1)
			if k >= len(operand) || operand[k].lower() == "" {
				return typ
			}
			name, j = operand[k].lower(), k
		case operand[j].is("(") || operand[j].is("["):
			return name // a call or a subscript: its name
		default:
			return typ
		}
	}
	return name
}

// selectItemAt reports whether toks[start:end+1] is a whole item of the statement's own select list (not in
// parentheses: a subquery's values are compared and joined, so they keep OIDs), and whether an alias follows it.
func selectItemAt(toks []tok, start, end int) (item, aliased bool) {
	depth, inList := 0, false
	for _, t := range toks[:start] {
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		case depth == 0 && t.kind == tkIdent && t.lower() == "select":
			inList = true
		case depth == 0 && t.kind == tkIdent && listEnds[t.lower()]:
			inList = false
		}
	}
	p := prev(toks, start-1)
	if depth != 0 || !inList || p < 0 {
		return false, false
	}
	if w := toks[p].lower(); !toks[p].is(",") && (toks[p].kind != tkIdent || w != "select" && w != "distinct" && w != "all") {
		return false, false
	}
	n := next(toks, end+1)
	switch {
	case n >= len(toks) || toks[n].is(",") || toks[n].is(";") || toks[n].kind == tkIdent && listEnds[toks[n].lower()]:
		return true, false
	case toks[n].kind == tkQIdent || toks[n].kind == tkIdent && toks[n].lower() == "as":
		return true, true
	case toks[n].kind == tkIdent && !sqlKeywords[toks[n].lower()] && !itemFollowers[toks[n].lower()]:
		return true, true
	}
	return false, false
}

// itemFollowers are words that may follow an expression in a select list without being its alias.
var itemFollowers = map[string]bool{"ilike": true, "isnull": true, "notnull": true, "similar": true, "collate": true,
	"over": true, "filter": true, "within": true, "at": true, "escape": true, "glob": true, "is": true}

// operandStart finds where the operand of a postfix cast ending at token i starts: a literal, a (qualified)
// name, a parenthesised expression or a function call, with any subscripts. -1 if it cannot tell.
func operandStart(toks []tok, i int) int {
	i = prev(toks, i)
	for i >= 0 {
		t := toks[i]
		switch {
		case t.is(")") || t.is("]"):
			open, close := "(", ")"
			if t.text == "]" {
				open, close = "[", "]"
			}
			depth := 0
			for ; i >= 0; i-- {
				if toks[i].is(close) {
					depth++
				} else if toks[i].is(open) {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if i < 0 {
				return -1
			}
			if p := prev(toks, i-1); p >= 0 && (toks[p].kind == tkIdent && !sqlKeywords[toks[p].lower()] || toks[p].kind == tkQIdent || toks[p].is(")") || toks[p].is("]")) {
				i = p
				continue
			}
			return i
		case t.kind == tkIdent || t.kind == tkQIdent:
			if p := prev(toks, i-1); p >= 0 && toks[p].is(".") {
				i = prev(toks, p-1)
				continue
			}
			return i
		case t.kind == tkString || t.kind == tkNumber || t.kind == tkParam:
			return i
		default:
			return -1
		}
	}
	return -1
}

// sqlKeywords may stand before a parenthesis without calling a function.
var sqlKeywords = map[string]bool{"select": true, "where": true, "and": true, "or": true, "not": true, "on": true,
	"in": true, "when": true, "then": true, "else": true, "case": true, "from": true, "by": true, "as": true,
	"is": true, "join": true, "having": true, "any": true, "all": true, "exists": true, "values": true, "using": true,
	"array": false, "distinct": true, "like": true, "between": true, "return": true, "set": true}

// matching returns the index of the parenthesis closing the one at i (len(toks) if none).
func matching(toks []tok, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		if toks[i].is("(") {
			depth++
		} else if toks[i].is(")") {
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return len(toks)
}

// nameSeriesColumns gives "FROM generate_series(...) s" a column list s(s): in PostgreSQL s then names the
// value, in DuckDB the row.
func nameSeriesColumns(toks []tok) []tok {
	for i := 0; i < len(toks); i++ {
		if toks[i].lower() != "generate_series" {
			continue
		}
		if p := prev(toks, i-1); p < 0 || toks[p].lower() != "from" && toks[p].lower() != "join" {
			continue
		}
		j := next(toks, i+1)
		if j >= len(toks) || !toks[j].is("(") {
			continue
		}
		k := next(toks, matching(toks, j)+1)
		if k < len(toks) && toks[k].lower() == "as" {
			k = next(toks, k+1)
		}
		if k >= len(toks) || toks[k].kind != tkIdent || sqlKeywords[toks[k].lower()] || clauseWords[toks[k].lower()] {
			continue
		}
		if l := next(toks, k+1); l < len(toks) && toks[l].is("(") {
			continue
		}
		alias := toks[k]
		rest := append([]tok{{tkPunct, "("}, alias, {tkPunct, ")"}}, toks[k+1:]...)
		toks = append(toks[:k+1], rest...)
	}
	return toks
}

// helperLabels name the column of a rewritten cast as PostgreSQL names x::regclass ("regclass") and
// x::regclass::text ("text").
var helperLabels = func() map[string]string {
	m := map[string]string{}
	for typ, fns := range regCasts {
		if typ != "regprocedure" { // shares regproc's function
			m[fns[0]], m[fns[1]] = typ, "text"
		}
	}
	m["strata_current_user"], m["strata_session_user"] = "current_user", "session_user"
	return m
}()

var clauseWords = map[string]bool{"left": true, "right": true, "inner": true, "full": true, "cross": true,
	"group": true, "order": true, "limit": true, "union": true, "natural": true, "lateral": true, "offset": true}

// nameCallColumns names an unaliased select item that is a bare function call after the function, as
// PostgreSQL does (SELECT version() → column "version"; DuckDB would say "version"()).
func nameCallColumns(toks []tok) []tok {
	labels := map[int]string{} // index of a call's closing parenthesis → the column name
	type list struct{ start int }
	var open []*list // per parenthesis depth: the select list being read there, or nil
	cur := &list{start: -1}
	flush := func(l *list, end int) {
		if l.start < 0 {
			return
		}
		if label, e := callLabel(toks, l.start, end); label != "" {
			labels[e] = label
		}
		l.start = -1
	}
	for i, t := range toks {
		switch w := t.lower(); {
		case t.is("("):
			open = append(open, cur)
			cur = &list{start: -1}
		case t.is(")"):
			flush(cur, i)
			if len(open) > 0 {
				cur, open = open[len(open)-1], open[:len(open)-1]
			}
		case w == "select" && t.kind == tkIdent:
			cur.start = i + 1
		case cur.start >= 0 && t.kind == tkIdent && listEnds[w], cur.start >= 0 && t.is(";"):
			flush(cur, i)
		case cur.start >= 0 && t.is(","):
			flush(cur, i)
			cur.start = i + 1
		}
	}
	flush(cur, len(toks))
	if len(labels) == 0 {
		return toks
	}
	out := make([]tok, 0, len(toks)+4*len(labels))
	for i, t := range toks {
		out = append(out, t)
		if l, ok := labels[i]; ok {
			out = append(out, tok{tkSpace, " "}, tok{tkIdent, "AS"}, tok{tkSpace, " "}, tok{tkQIdent, `"` + l + `"`})
		}
	}
	return out
}

// listEnds are the keywords that end a select list.
var listEnds = map[string]bool{"from": true, "where": true, "group": true, "order": true, "limit": true,
	"union": true, "having": true, "into": true, "offset": true, "except": true, "intersect": true, "window": true}

// callLabel returns the column name of the select item toks[start:end] if it is a bare function call, and
// the index of its closing parenthesis.
func callLabel(toks []tok, start, end int) (string, int) {
	s, e := next(toks, start), prev(toks, end-1)
	if s > e || e < 0 || !toks[e].is(")") {
		return "", 0
	}
	name := s
	for n := next(toks, name+1); n < e && toks[n].is("."); n = next(toks, name+1) { // schema.function
		name = next(toks, n+1)
	}
	open := next(toks, name+1)
	if toks[name].kind != tkIdent || sqlKeywords[toks[name].lower()] || open > e || !toks[open].is("(") || matching(toks, open) != e {
		return "", 0
	}
	label := toks[name].lower()
	if label == "cast" {
		return "", 0 // PostgreSQL names a cast after its operand or type; DuckDB's name stays
	}
	if n, ok := helperLabels[label]; ok {
		label = n
	}
	return strings.TrimPrefix(label, "strata_is_"), e
}

// rewriteCastCalls is rewriteCasts for CAST(x AS regclass) (SQLAlchemy's form), innermost first.
func rewriteCastCalls(toks []tok) []tok {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].lower() != "cast" || toks[i].kind != tkIdent {
			continue
		}
		open := next(toks, i+1)
		if open >= len(toks) || !toks[open].is("(") {
			continue
		}
		end := matching(toks, open)
		typ := prev(toks, end-1)
		as := prev(toks, typ-1)
		if end >= len(toks) || typ <= open || as <= open || toks[as].lower() != "as" {
			continue
		}
		name := toks[typ].lower()
		if d, ok := plainCasts[name]; ok {
			toks[typ] = tok{tkIdent, d}
			continue
		}
		fns, ok := regCasts[name]
		if !ok {
			continue
		}
		operand := append([]tok{}, toks[open+1:prev(toks, as-1)+1]...)
		repl := append([]tok{{tkIdent, fns[0]}, {tkPunct, "("}}, operand...)
		repl = append(repl, tok{tkPunct, ")"})
		if item, aliased := selectItemAt(toks, i, end); item {
			repl = shownReg(fns, operand, name, aliased)
		}
		toks = append(toks[:i], append(repl, toks[end+1:]...)...)
	}
	return toks
}
