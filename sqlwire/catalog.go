package sqlwire

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
)

// The PostgreSQL catalog a client sees is emulated. A statement that names a catalog relation or function
// (pg_catalog.*, information_schema.*, pg_*, version(), ::regclass, strata.*) is rewritten (rewriteCatalog)
// and runs in a DuckDB database where a setup script created the relations and macros of the emulation:
// PostgreSQL 15's built-in rows with their real OIDs (catalogdata/), and the session's environment as schemas
// (zones), tables and columns, exactly as its readers see it (envs: prod shows only what the current release
// pins; strata.as_of / strata.snapshot move it in time). DuckDB searches its main schema before its own
// pg_catalog, so the emulation wins for qualified and unqualified names alike. Other statements pass through
// unchanged.
//
// A single read-only catalog statement runs in a long-lived catalog database (engine.QueryInSetup), keyed by a
// digest of everything it shows (catalogKey: in dev the tables by their metadata files, in prod the current
// release alone; the zones, the environments the user may see, the user, strata.as_of / strata.snapshot). The
// key is computed from the metadata database at every statement (no metadata file is read), so a new table,
// snapshot, release or grant gives another key at once: never stale. The database of the session's previous
// key is then updated in place to the new one, only its changed rows (catalog_rekey.go), or a new one is built;
// a staged prod write, which prod's readers do not see, keeps prod's catalog database. The part of the emulation that
// is the same for everyone (PostgreSQL's built-in rows, the macros: catalogBase) is built once per process into
// a read-only database file that each catalog database attaches; a new key costs only the environment's own
// relations. The engine pools these databases (bounded, closed when idle), retires one a statement changed, and
// rolls back whatever a statement wrote. Statements that name strata.* system tables (whose rows would need
// reading every table's history to digest) or the session's settings (pg_settings, current_setting: sessions
// that SET different things still share one catalog database), and multi-statement strings, get a fresh
// database with just the objects they name.

// catalogSetup is how a catalog statement's database is set up: the pooled whole catalog, or a script run in
// a fresh database.
type catalogSetup struct {
	pooled engine.Setup
	script string
	rekey  func(ctx context.Context, eng *engine.Engine, tables []engine.Table) bool // catalog_rekey.go; nil for a script
}

// query runs sql (the rewritten statement, maybe wrapped in PREPARE/EXECUTE) in the catalog's database.
func (s *catalogSetup) query(ctx context.Context, eng *engine.Engine, sql string, tables []engine.Table) (*engine.Result, error) {
	if s.script != "" {
		return eng.Query(ctx, s.script+sql, tables)
	}
	if s.rekey != nil {
		s.rekey(ctx, eng, tables) // the family's last database, updated in place, when no database has the key yet
	}
	return eng.QueryInSetup(ctx, s.pooled, sql, tables)
}

// catalogQuery returns the setup and the rewritten statement of a catalog query; for any other statement
// the setup is nil and out is sql.
func (c *conn) catalogQuery(ctx context.Context, sql string) (setup *catalogSetup, out string, err error) {
	defer func() { // the rewriter is a lexer over any text a client sends: a bug must fail the query, not the server
		if r := recover(); r != nil {
			setup, out, err = nil, "", fmt.Errorf("sqlwire: catalog rewrite of %q: %v", sql, r)
		}
	}()
	toks := lex(sql)
	if !isCatalogQuery(toks) {
		return nil, sql, nil
	}
	toks = rewriteCatalog(toks)
	asViews := viewsNamedElsewhere(toks)
	toks = inlineViews(toks) // catalog_inline.go
	out = join(toks)
	refs := referenced(toks)
	for n := range refs {
		if sessionView(n) && !asViews[n] {
			delete(refs, n) // an inlined view's alias, or a column qualified by it
		}
	}
	want := wanted(catalogObjects(), refs)
	switch {
	case len(want) == 0:
		return nil, out, nil
	case pooledCatalog(want, out):
		s, err := c.wholeCatalog(ctx)
		if err != nil {
			return nil, "", err
		}
		return s, out, nil
	}
	script, err := c.catalogScript(ctx, want)
	if err != nil {
		return nil, "", err
	}
	return &catalogSetup{script: script}, out, nil
}

// pooledCatalog reports whether a statement may run in the long-lived catalog database: one read-only
// statement that names no strata.* system table and no session setting.
func pooledCatalog(want map[string]bool, sql string) bool {
	for n := range want {
		if !inPooledCatalog(n) {
			return false
		}
	}
	return len(lakesql.Split(sql)) == 1 && lakesql.IsRead(lakesql.FirstWord(sql))
}

// inPooledCatalog reports whether the long-lived catalog database holds an object. It leaves out the
// strata.* tables and the session's settings (pg_settings, current_setting), so that sessions that SET
// different things still share one database, and the views over the session's relations, which the rewriter
// inlines.
func inPooledCatalog(name string) bool {
	return name != "strata" && !strings.HasPrefix(name, "strata.") && name != "pg_settings" && name != "current_setting" &&
		!sessionView(name) // the rewriter inlines them (catalog_inline.go)
}

// wholeCatalog returns the setup of the whole emulation (but what inPooledCatalog leaves out) as the session
// sees it now, keyed by catalogKey; its script (the environment's relations: the rest is in catalogBase) is
// built only when no pooled database has that key.
func (c *conn) wholeCatalog(ctx context.Context) (*catalogSetup, error) {
	key, err := c.catalogKey(ctx)
	if err != nil {
		return nil, err
	}
	objs := catalogObjects()
	all, own := map[string]bool{}, map[string]bool{}
	for n, o := range objs {
		if inPooledCatalog(n) {
			all[n] = true
			if !o.base {
				own[n] = true
			}
		}
	}
	setup := engine.Setup{Key: key, Base: catalogBase(), Script: func() (string, error) {
		if c.s.opts.onCatalogBuild != nil {
			c.s.opts.onCatalogBuild(true)
		}
		e, err := c.loadCatalogEnv(ctx, all)
		if err != nil {
			return "", err
		}
		e.vars = nil // only pg_settings shows them
		b := built(engine.Setup{Key: key, Base: catalogBase()}, objs, own, e)
		c.s.builds.put(c.catalogFamily(), b)
		// One transaction: one commit, not one per object.
		return "BEGIN TRANSACTION;\n" + script(objs, own, e) + b.stateSQL() + "COMMIT;\n", nil
	}}
	rekey := func(ctx context.Context, eng *engine.Engine, tables []engine.Table) bool {
		return c.rekeyCatalog(ctx, eng, setup, all, own, tables)
	}
	return &catalogSetup{pooled: setup, rekey: rekey}, nil
}

// catalogKey identifies everything the pooled catalog's script shows the session, from the metadata database
// alone: loadCatalogEnv's zones, tables, snapshots and columns are functions of what envs.TablesState covers
// (dev: the tables' metadata files; prod: the current release, whose pins fix them) and of the session's time travel (a release's pins never change; an
// instant's snapshot is fixed by those files); pg_database of the environments the user may read; the
// macros of the environment, the user and the server version. The text of the emulation is this binary's
// (catalogBase's name holds its digest).
func (c *conn) catalogKey(ctx context.Context) (string, error) {
	svc := c.s.opts.Envs
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q\n", c.env, c.user(), c.s.opts.Version, c.vars[varAsOf].value, c.vars[varSnapshot].value)
	list, err := svc.List(ctx)
	if err != nil {
		return "", err
	}
	for _, x := range list {
		if c.principal().CanRead(x.Name) {
			fmt.Fprintf(h, "database %q\n", x.Name)
		}
	}
	zones, err := svc.Lake().Zones(ctx, c.env)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "zones %q\n", zones)
	state, err := svc.TablesState(ctx, c.env)
	if err != nil {
		return "", err
	}
	h.Write([]byte(state))
	return "catalog:" + hex.EncodeToString(h.Sum(nil)), nil
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
	base   bool // the same in every session: created once in the pooled databases' base file (catalogBase)
}

// wanted returns the objects refs name and those they need.
func wanted(objs map[string]*catObject, refs map[string]bool) map[string]bool {
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
	return want
}

// catalogScript returns the script that creates the wanted objects in a fresh database.
func (c *conn) catalogScript(ctx context.Context, want map[string]bool) (string, error) {
	if c.s.opts.onCatalogBuild != nil {
		c.s.opts.onCatalogBuild(false)
	}
	e, err := c.loadCatalogEnv(ctx, want)
	if err != nil {
		return "", err
	}
	return script(catalogObjects(), want, e), nil
}

// script creates the wanted objects, in dependency order.
func script(objs map[string]*catObject, want map[string]bool, e *catalogEnv) string {
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
	return b.String()
}

// rank is an object's depth in the needs graph: 0 for relations that need nothing.
func rank(objs map[string]*catObject, n string) int {
	r := 0
	for _, d := range objs[n].needs {
		r = max(r, rank(objs, d)+1)
	}
	return r
}
