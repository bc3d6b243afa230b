package sqlwire

import "strings"

// PostgreSQL's regproc columns (pg_type.typreceive and friends) hold a function's OID but print as its name:
// joins compare OIDs (pg_proc.oid = t.typreceive) while clients read names (the ADBC driver's type query
// selects typreceive and filters on typreceive::TEXT != 'array_recv'). The emulation stores the OIDs, and
// rewriteRegprocColumns gives the names where PostgreSQL prints them: in casts to text and in the outermost
// select list. Inner select lists (subqueries, CTEs) keep the OIDs so the joins over them still match.

// regprocCols are the regproc columns of the emulated catalog; their names are unique across it.
var regprocCols = map[string]bool{"typinput": true, "typoutput": true, "typreceive": true, "typsend": true,
	"typmodin": true, "typmodout": true, "typanalyze": true, "typsubscript": true, "prosupport": true,
	"rngcanonical": true, "rngsubdiff": true, "amhandler": true}

// regprocRels are the catalog relations with regproc columns, and those columns.
var regprocRels = map[string][]string{
	"pg_type":  {"typinput", "typoutput", "typreceive", "typsend", "typmodin", "typmodout", "typanalyze", "typsubscript"},
	"pg_proc":  {"prosupport"},
	"pg_range": {"rngcanonical", "rngsubdiff"},
	"pg_am":    {"amhandler"},
}

// rewriteRegprocColumns turns col::text and CAST(col AS text) of a regproc column into strata_proname(col),
// and a bare regproc column in the outermost select list into strata_proname(col) AS col.
func rewriteRegprocColumns(toks []tok) []tok {
	toks = regprocTextCasts(toks)
	return regprocSelectItems(toks)
}

// regprocRef reports whether toks[s..e] (non-space ends) is a possibly qualified regproc column name.
func regprocRef(toks []tok, s, e int) bool {
	if s > e || e >= len(toks) || toks[e].kind != tkIdent && toks[e].kind != tkQIdent || !regprocCols[toks[e].lower()] {
		return false
	}
	for i := e; i > s; { // name(.name)*
		p := prev(toks, i-1)
		if p <= s || !toks[p].is(".") {
			return false
		}
		i = prev(toks, p-1)
		if i < s || toks[i].lower() == "" {
			return false
		}
		if i == s {
			return true
		}
	}
	return true
}

func pronameCall(ref []tok) []tok {
	out := append([]tok{{tkIdent, "strata_proname"}, {tkPunct, "("}}, ref...)
	return append(out, tok{tkPunct, ")"})
}

func regprocTextCasts(toks []tok) []tok {
	for i := 0; i < len(toks); i++ {
		if toks[i].is("::") { // col::text
			j := next(toks, i+1)
			start := operandStart(toks, i-1)
			if j >= len(toks) || !textTypes[toks[j].lower()] || start < 0 || !regprocRef(toks, start, prev(toks, i-1)) {
				continue
			}
			repl := pronameCall(append([]tok{}, toks[start:prev(toks, i-1)+1]...))
			toks = append(toks[:start], append(repl, toks[j+1:]...)...)
			i = start + len(repl) - 1
			continue
		}
		if toks[i].kind != tkIdent || toks[i].lower() != "cast" { // CAST(col AS text)
			continue
		}
		open := next(toks, i+1)
		if open >= len(toks) || !toks[open].is("(") {
			continue
		}
		end := matching(toks, open)
		typ := prev(toks, end-1)
		as := prev(toks, typ-1)
		if end >= len(toks) || as <= open || toks[as].lower() != "as" || !textTypes[toks[typ].lower()] ||
			!regprocRef(toks, next(toks, open+1), prev(toks, as-1)) {
			continue
		}
		repl := pronameCall(append([]tok{}, toks[next(toks, open+1):prev(toks, as-1)+1]...))
		toks = append(toks[:i], append(repl, toks[end+1:]...)...)
		i += len(repl) - 1
	}
	return toks
}

// outputDepth is the parenthesis depth of the select lists that make a query's result: 0, or deeper under
// SELECT * FROM (...) wrappers (the extended protocol describes a statement wrapped so).
func outputDepth(toks []tok) int {
	d, i := 0, 0
	for {
		var words []string
		j := i
		for k := 0; k < 4; k++ {
			j = next(toks, j)
			if j >= len(toks) {
				return d
			}
			words = append(words, strings.ToLower(toks[j].text))
			j++
		}
		if strings.Join(words, " ") != "select * from (" || !wholeFrom(toks, matching(toks, j-1)) {
			return d
		}
		d, i = d+1, j
	}
}

// wholeFrom reports whether the derived table closing at toks[end] is all the wrapper reads: only an alias
// and a LIMIT follow.
func wholeFrom(toks []tok, end int) bool {
	for i := next(toks, end+1); i < len(toks); i = next(toks, i+1) {
		switch w := toks[i].lower(); {
		case w == "as" || w == "limit" || w == "strata_describe" || toks[i].kind == tkNumber || toks[i].is(";"):
		default:
			return false
		}
	}
	return true
}

// regprocSelectItems wraps the bare regproc columns of the select lists at the output depth.
func regprocSelectItems(toks []tok) []tok {
	type item struct{ s, e int }
	var items []item
	depth, start, out := 0, -1, outputDepth(toks)
	flush := func(end int) {
		if start >= 0 {
			items = append(items, item{next(toks, start), prev(toks, end-1)})
		}
		start = -1
	}
	for i, t := range toks {
		w := t.lower()
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		case depth != out:
		case w == "select" && t.kind == tkIdent:
			start = i + 1
			if j := next(toks, i+1); j < len(toks) && (toks[j].lower() == "distinct" || toks[j].lower() == "all") &&
				toks[j].kind == tkIdent {
				start = j + 1
			}
		case start >= 0 && (t.kind == tkIdent && listEnds[w] || t.is(";")):
			flush(i)
		case start >= 0 && t.is(","):
			flush(i)
			start = i + 1
		}
	}
	flush(len(toks))
	for k := len(items) - 1; k >= 0; k-- { // from the end, so earlier indexes stay valid
		s, e := items[k].s, items[k].e
		if s > e || e < 0 {
			continue
		}
		if s == e && toks[s].is("*") {
			if repl := regprocStar(toks, e); repl != nil {
				toks = append(toks[:s], append(repl, toks[e+1:]...)...)
			}
			continue
		}
		if o := next(toks, s+1); toks[s].lower() == "strata_proname" && o < e && toks[o].is("(") && matching(toks, o) == e &&
			regprocRef(toks, next(toks, o+1), prev(toks, e-1)) { // a cast of ours: PostgreSQL names it after the column
			col := toks[prev(toks, e-1)].lower()
			rest := append([]tok{{tkSpace, " "}, {tkIdent, "AS"}, {tkSpace, " "}, {tkQIdent, `"` + col + `"`}}, toks[e+1:]...)
			toks = append(toks[:e+1], rest...)
			continue
		}
		ref, alias := e, ""
		if !regprocRef(toks, s, ref) { // col [AS] alias
			ref = prev(toks, e-1)
			if ref >= 0 && toks[ref].lower() == "as" {
				ref = prev(toks, ref-1)
			}
			if toks[e].lower() == "" || !regprocRef(toks, s, ref) {
				continue
			}
		} else {
			alias = toks[e].lower()
		}
		repl := pronameCall(append([]tok{}, toks[s:ref+1]...))
		if alias != "" {
			repl = append(repl, tok{tkSpace, " "}, tok{tkIdent, "AS"}, tok{tkSpace, " "}, tok{tkQIdent, `"` + alias + `"`})
		}
		toks = append(toks[:s], append(repl, toks[ref+1:]...)...)
	}
	return toks
}

// regprocStar returns the select item "* REPLACE (strata_proname(col) AS col, ...)" for a "*" at toks[star] that
// reads one relation with regproc columns (SELECT * FROM pg_type [t] [WHERE ...]), or nil.
func regprocStar(toks []tok, star int) []tok {
	f := next(toks, star+1)
	if f >= len(toks) || toks[f].lower() != "from" || toks[f].kind != tkIdent {
		return nil
	}
	r := next(toks, f+1)
	if r >= len(toks) {
		return nil
	}
	cols := regprocRels[toks[r].lower()]
	after := next(toks, r+1)
	if after < len(toks) && toks[after].kind == tkIdent && !listEnds[toks[after].lower()] && !clauseWords[toks[after].lower()] &&
		toks[after].lower() != "where" && toks[after].lower() != "join" {
		if toks[after].lower() == "as" {
			after = next(toks, after+1)
		}
		after = next(toks, after+1) // the alias
	}
	if cols == nil || after < len(toks) && !(toks[after].is(";") || toks[after].is(")") ||
		toks[after].kind == tkIdent && (listEnds[toks[after].lower()] && toks[after].lower() != "from")) {
		return nil
	}
	out := []tok{toks[star], {tkSpace, " "}, {tkIdent, "REPLACE"}, {tkSpace, " "}, {tkPunct, "("}}
	for i, c := range cols {
		if i > 0 {
			out = append(out, tok{tkPunct, ","}, tok{tkSpace, " "})
		}
		out = append(out, pronameCall([]tok{{tkIdent, c}})...)
		out = append(out, tok{tkSpace, " "}, tok{tkIdent, "AS"}, tok{tkSpace, " "}, tok{tkIdent, c})
	}
	return append(out, tok{tkPunct, ")"})
}
