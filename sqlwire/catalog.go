package sqlwire

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The PostgreSQL catalog a client sees is emulated per query. A statement that names a catalog relation or
// function (pg_catalog.*, information_schema.*, pg_*, version(), ::regclass, strata.*) is rewritten
// (rewriteCatalog) and runs after a setup script that creates, in the query's private DuckDB database, the
// relations and macros it names: PostgreSQL 15's built-in rows with their real OIDs (catalogdata/), and the
// session's environment as schemas (zones), tables and columns, exactly as its readers see it (envs: prod shows
// only what the current release pins). DuckDB searches its main schema before its own pg_catalog, so the
// emulation wins for qualified and unqualified names alike. Other statements pass through unchanged.

// catalogQuery returns the setup script and the rewritten statement of a catalog query; for any other
// statement setup is "" and out is sql.
func (c *conn) catalogQuery(ctx context.Context, sql string) (setup, out string, err error) {
	defer func() { // the rewriter is a lexer over any text a client sends: a bug must fail the query, not the server
		if r := recover(); r != nil {
			setup, out, err = "", "", fmt.Errorf("sqlwire: catalog rewrite of %q: %v", sql, r)
		}
	}()
	toks := lex(sql)
	if !isCatalogQuery(toks) {
		return "", sql, nil
	}
	toks = rewriteCatalog(toks)
	setup, err = c.catalogSetup(ctx, referenced(toks))
	if err != nil {
		return "", "", err
	}
	return setup, join(toks), nil
}

func (c *conn) user() string { return c.vars["session_authorization"].value }

// catalogFuncs are functions the emulation defines over DuckDB's (or that DuckDB lacks).
var catalogFuncs = map[string]bool{"version": true, "current_schema": true, "current_schemas": true,
	"current_database": true, "current_user": true, "session_user": true, "format_type": true,
	"obj_description": true, "col_description": true, "shobj_description": true, "quote_ident": true,
	"to_regclass": true, "to_regtype": true, "set_config": true, "array_upper": true, "array_lower": true,
	"information_schema": true, "txid_current": true, "current_setting": true}

// isCatalogQuery reports whether sql names the emulated catalog.
func isCatalogQuery(toks []tok) bool {
	for i, t := range toks {
		n := t.lower()
		switch {
		case n == "":
			if t.is("::") {
				if j := next(toks, i+1); j < len(toks) {
					if _, ok := regCasts[toks[j].lower()]; ok {
						return true
					}
				}
			}
		case strings.HasPrefix(n, "pg_"), catalogFuncs[n], strings.HasPrefix(n, "has_") && strings.HasSuffix(n, "_privilege"):
			return true
		case n == "strata" || n == "operator":
			if j := next(toks, i+1); j < len(toks) && (toks[j].is(".") || toks[j].is("(")) {
				return true
			}
		}
	}
	return false
}

// referenced returns the lower-case identifiers of toks, and strata.<name> as "strata.<name>".
func referenced(toks []tok) map[string]bool {
	out := map[string]bool{}
	for i, t := range toks {
		n := t.lower()
		if n == "" {
			continue
		}
		out[n] = true
		if n == "strata" {
			if j := next(toks, i+1); j < len(toks) && toks[j].is(".") {
				if k := next(toks, j+1); k < len(toks) {
					out["strata."+toks[k].lower()] = true
				}
			}
		}
	}
	return out
}

// catObject is one relation or macro of the emulated catalog: the objects it needs and the SQL that creates
// it in a query's database.
type catObject struct {
	needs  []string
	create func(b *strings.Builder, e *catalogEnv)
}

// catalogSetup returns the script that creates every object the query names, and what those need, in
// dependency order.
func (c *conn) catalogSetup(ctx context.Context, refs map[string]bool) (string, error) {
	objs := c.catalogObjects()
	want := map[string]bool{}
	var add func(n string)
	add = func(n string) {
		if want[n] {
			return
		}
		if o, ok := objs[n]; ok {
			want[n] = true
			for _, d := range o.needs {
				add(d)
			}
		}
	}
	for n := range refs {
		add(n)
	}
	if len(want) == 0 {
		return "", nil
	}
	e, err := c.loadCatalogEnv(ctx, want)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	// Tables before views and macros; a view or macro after the ones it needs (its rank is higher).
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(objs, names[i]), rank(objs, names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	for _, n := range names {
		objs[n].create(&b, e)
	}
	return b.String(), nil
}

// rank is an object's depth in the needs graph: 0 for relations that need nothing.
func rank(objs map[string]*catObject, n string) int {
	r := 0
	for _, d := range objs[n].needs {
		r = max(r, rank(objs, d)+1)
	}
	return r
}
