package sqlwire

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"

	"github.com/strata-data/strata/engine"
)

// A write changes what the catalog shows (a table's snapshot, rows, size, columns), hence the catalog key, and
// metadata tools read pg_catalog again right after every CREATE TABLE AS or INSERT. Instead of a new catalog
// database for the new key (open, attach the base, run the environment's script: most of the first catalog
// statement's cost), the pooled database of the session's previous key is updated in place: the rows of the
// session relations that changed are deleted and inserted in one DuckDB transaction, and the database is
// re-keyed (engine.RekeySetup). Only an idle database is taken, so a statement still running on the old key
// never sees half an update; and a database is re-keyed only within its family (catalogFamily: the
// environment, the user, the server and the session's time travel), so a session with other time travel keeps
// its own, and prod's key still follows its releases alone (catalogKey).

// builtCatalog is what the pooled catalog database of one key holds of the session's environment.
type builtCatalog struct {
	setup  engine.Setup          // its key and base (no script: a rekey never runs one)
	rows   map[string][][]string // the session relations' rows, by name; dropped once recorded (catalogBuilds.put)
	groups groupSums             // digests of the rows' groups: what an update compares
	rest   string                // the script of its other own objects (macros, variables), which a rekey cannot change
	digest string                // of all rows: the database stores it (stateTable), a rekey checks it
}

// groupSums are the digests of a catalog's rows grouped by their first field, by relation (see updateSQL): a
// record of a large environment keeps one digest per table and relation, not its rows.
type groupSums map[string]map[string]string

// stateTable holds the digest of the rows a catalog database holds. Two databases may have the same key but
// other rows (two sessions built the key's database while a write landed between the key and the rows they
// read): a rekey updates a database only if its digest is the one of the rows the update was computed from,
// so whichever database the pool hands out, the update never applies to rows it was not made for.
const stateTable = "strata_catalog_state"

// stateSQL creates the state table of a new catalog database.
func (b *builtCatalog) stateSQL() string {
	return fmt.Sprintf("CREATE TABLE %s (digest VARCHAR);\nINSERT INTO %s VALUES (%s);\n", stateTable, stateTable, sqlQuote(b.digest))
}

// guardedUpdate is the update from prev's rows to b's: it fails (error()) unless the database holds prev's
// rows, and then records b's digest.
func (b *builtCatalog) guardedUpdate(prev *builtCatalog) string {
	return fmt.Sprintf("SELECT CASE WHEN (SELECT digest FROM %s) IS DISTINCT FROM %s THEN error('sqlwire: the catalog database holds other rows') END;\n",
		stateTable, sqlQuote(prev.digest)) +
		updateSQL(prev.groups, b.rows) +
		fmt.Sprintf("UPDATE %s SET digest = %s;\n", stateTable, sqlQuote(b.digest))
}

// catalogBuilds remembers, per family, the last catalog database built or re-keyed: the one a write's next
// catalog statement updates.
type catalogBuilds struct {
	mu   sync.Mutex
	last map[string]*builtCatalog
}

func (cb *catalogBuilds) get(family string) *builtCatalog {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.last[family]
}

func (cb *catalogBuilds) put(family string, b *builtCatalog) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.last == nil || len(cb.last) > 1000 { // a family per environment, user and time travel: bounded anyway
		cb.last = map[string]*builtCatalog{}
	}
	kept := *b
	kept.rows = nil
	cb.last[family] = &kept
}

// catalogFamily is the part of catalogKey a rekey keeps: what the pooled catalog shows other than the rows of
// its session relations.
func (c *conn) catalogFamily() string {
	return fmt.Sprintf("%q %q %q %q %q", c.env, c.user(), c.s.opts.Version, c.vars[varAsOf].value, c.vars[varSnapshot].value)
}

// built describes a catalog database created from e's own objects (own: the pooled catalog's, those not in the
// base).
func built(setup engine.Setup, objs map[string]*catObject, own map[string]bool, e *catalogEnv) *builtCatalog {
	b := &builtCatalog{setup: engine.Setup{Key: setup.Key, Base: setup.Base}, rows: map[string][][]string{}}
	rest := map[string]bool{}
	for n := range own {
		if rows, ok := sessionRows[n]; ok {
			b.rows[n] = rows(e)
		} else {
			rest[n] = true
		}
	}
	b.rest = script(objs, rest, e)
	b.groups = sums(b.rows)
	h := sha256.New()
	for _, n := range sortedKeys(b.groups) {
		for _, k := range sortedKeys(b.groups[n]) {
			fmt.Fprintf(h, "%s\x1e%s\x1e%s\x1e", n, k, b.groups[n][k])
		}
	}
	b.digest = hex.EncodeToString(h.Sum(nil))
	return b
}

// sums returns the digests of rows' groups: rows with the same first field, in order.
func sums(rows map[string][][]string) groupSums {
	out := groupSums{}
	for n, rs := range rows {
		hs := map[string]hash.Hash{}
		var order []string
		for _, r := range rs {
			h, ok := hs[r[0]]
			if !ok {
				h = sha256.New()
				hs[r[0]] = h
				order = append(order, r[0])
			}
			for _, f := range r {
				_, _ = h.Write([]byte(f))
				_, _ = h.Write([]byte(fieldSep))
			}
			_, _ = h.Write([]byte(rowSep))
		}
		out[n] = make(map[string]string, len(order))
		for _, k := range order {
			out[n][k] = hex.EncodeToString(hs[k].Sum(nil)[:16])
		}
	}
	return out
}

// rekeyCatalog makes the pooled catalog database of the family's last key the database of setup's key,
// when no database has that key yet: it loads what the catalog shows now (all: the pooled catalog's objects,
// own: those not in the base) and updates the rows that changed. It reports whether it did; on any failure
// the statement builds a new database as before.
func (c *conn) rekeyCatalog(ctx context.Context, eng *engine.Engine, setup engine.Setup, all, own map[string]bool, tables []engine.Table) bool {
	family := c.catalogFamily()
	prev := c.s.builds.get(family)
	if prev == nil || prev.setup.Key == setup.Key || !eng.SetupPooled(prev.setup, tables) || eng.SetupPooled(setup, tables) {
		return false
	}
	objs := catalogObjects()
	e, err := c.loadCatalogEnv(ctx, all)
	if err != nil {
		return false
	}
	e.vars = nil
	next := built(setup, objs, own, e)
	if next.rest != prev.rest {
		return false
	}
	moved, err := eng.RekeySetup(ctx, prev.setup, next.setup, tables, next.guardedUpdate(prev))
	if err != nil {
		c.s.opts.Log.Warn("sqlwire: update of a pooled catalog database failed; building a new one", "env", c.env, "err", err)
	}
	if !moved {
		return false
	}
	c.s.builds.put(family, next)
	if c.s.opts.onCatalogRekey != nil {
		c.s.opts.onCatalogRekey()
	}
	return true
}

// updateSQL changes the session relations' rows from those old sums up to new. Rows are grouped by their first
// column (a relation's oid, pg_attribute's and pg_description's relation, pg_roles' name): a group that differs
// is deleted and inserted again, the others are left alone.
func updateSQL(old groupSums, new map[string][][]string) string {
	var b strings.Builder
	next := sums(new)
	for _, name := range sortedKeys(new) {
		before, after := old[name], next[name]
		var gone []string
		var added [][]string
		for k, sum := range before {
			if after[k] != sum {
				gone = append(gone, k)
			}
		}
		for _, r := range new[name] {
			if before[r[0]] != after[r[0]] {
				added = append(added, r)
			}
		}
		if len(gone) > 0 {
			sort.Strings(gone)
			first, _, _ := strings.Cut(strings.TrimSpace(sessionRelations[name]), " ")
			fmt.Fprintf(&b, "DELETE FROM %s WHERE %s IN (", name, first)
			for i, k := range gone {
				if i > 0 {
					b.WriteString(", ")
				}
				writeField(&b, k)
			}
			b.WriteString(");\n")
		}
		(&catTable{name: name, cols: sessionRelations[name], rows: added}).insertSQL(&b)
	}
	return b.String()
}
