package sqlwire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/strata-data/strata/engine"
)

var (
	objectsOnce sync.Once
	objects     map[string]*catObject
)

// catalogObjects returns the emulated catalog's relations and macros by name. Objects marked base are the
// same in every session (PostgreSQL's built-in rows, the macros): the pooled catalog databases share them
// through one database file (catalogBase).
func catalogObjects() map[string]*catObject {
	objectsOnce.Do(func() {
		objects = map[string]*catObject{}
		for name, t := range staticCatalog() {
			objects[name] = &catObject{base: true, create: func(b *strings.Builder, _ *catalogEnv) { t.createSQL(b) }}
		}
		for name, cols := range emptyRelations {
			t := &catTable{name: name, cols: cols}
			objects[name] = &catObject{base: true, create: func(b *strings.Builder, _ *catalogEnv) { t.createSQL(b) }}
		}
		dyn := func(name, cols string, rows func(e *catalogEnv) [][]string, needs ...string) {
			sessionRelations[name] = cols
			sessionRows[name] = rows
			objects[name] = &catObject{needs: needs, create: func(b *strings.Builder, e *catalogEnv) {
				(&catTable{name: name, cols: cols, rows: rows(e)}).createSQL(b)
			}}
		}
		dyn("pg_namespace", "oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR", namespaceRows)
		dyn("pg_class", pgClassCols, classRows)
		dyn("pg_attribute", pgAttributeCols, attributeRows)
		dyn("pg_database", pgDatabaseCols, databaseRows)
		dyn("pg_description", "objoid BIGINT, classoid BIGINT, objsubid INTEGER, description VARCHAR", descriptionRows)
		dyn("pg_roles", pgRolesCols, roleRows)
		dyn("pg_settings", pgSettingsCols, settingRows)
		for _, m := range macros {
			m := m
			// A macro's names are resolved where it is called, so one in the base file may use the tables a
			// session's database creates; only those whose text depends on the session are not in it.
			objects[m.name] = &catObject{needs: m.needs, base: !m.perSession, create: func(b *strings.Builder, e *catalogEnv) {
				fmt.Fprintf(b, "CREATE MACRO %s;\n", m.body(e))
			}}
		}
		objects["strata_type_name_rows"] = &catObject{needs: []string{"pg_type"}, base: true, create: func(b *strings.Builder, _ *catalogEnv) {
			(&catTable{name: "strata_type_name_rows", cols: "oid BIGINT, name VARCHAR", rows: typeNameRows()}).createSQL(b)
		}}
		// A variable is not stored in a database file: each database sets it from the rows.
		objects["strata_type_names"] = &catObject{needs: []string{"strata_type_name_rows"}, create: func(b *strings.Builder, _ *catalogEnv) {
			b.WriteString("SET VARIABLE strata_type_names = (SELECT map(list(oid), list(name)) FROM strata_type_name_rows);\n")
		}}
		for name, o := range strataObjects() {
			objects[name] = o
		}
		// A view's names are resolved in its own database: one is in the base file only if all it needs is.
		for name, sql := range views {
			sql := sql
			objects[name] = &catObject{needs: sql.needs, create: func(b *strings.Builder, _ *catalogEnv) {
				fmt.Fprintf(b, "CREATE VIEW %s AS %s;\n", name, sql.body)
			}}
		}
		for name := range views {
			objects[name].base = allBase(objects, name)
		}
	})
	return objects
}

// allBase reports whether the view name needs only base relations (and views over them): its names are
// resolved in the database it is stored in. (Macros do not count: one may read a session's tables.)
func allBase(objs map[string]*catObject, name string) bool {
	for _, d := range objs[name].needs {
		if _, isView := views[d]; isView && !allBase(objs, d) || !isView && (!objs[d].base || isMacro(d)) {
			return false
		}
	}
	return true
}

func isMacro(name string) bool {
	for _, m := range macros {
		if m.name == name {
			return true
		}
	}
	return false
}

// sessionRelations are the relations each session's catalog shows its own rows of (name: columns), and
// sessionRows their rows.
var (
	sessionRelations = map[string]string{}
	sessionRows      = map[string]func(e *catalogEnv) [][]string{}
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	baseOnce sync.Once
	base     *engine.Base
)

// catalogBase is the base of the pooled catalog databases: every base object, built once per process into a
// read-only database file (engine.Base) that each catalog database attaches in ~2 ms instead of creating
// PostgreSQL's ~550 built-in rows and ~80 macros again (~100 ms) whenever what it shows changed.
func catalogBase() *engine.Base {
	baseOnce.Do(func() {
		objs := catalogObjects()
		want := map[string]bool{}
		for n, o := range objs {
			if o.base {
				want[n] = true
			}
		}
		// CREATE MACRO binds its body, so the session's relations and macros exist in the base file too, empty:
		// where a macro is called, the session's own (in main, searched first) are the ones it reads.
		var b strings.Builder
		for _, n := range sortedKeys(sessionRelations) {
			(&catTable{name: n, cols: sessionRelations[n]}).createSQL(&b)
		}
		for _, m := range macros {
			if m.perSession {
				fmt.Fprintf(&b, "CREATE MACRO %s;\n", m.body(&catalogEnv{}))
			}
		}
		sql := b.String() + script(objs, want, &catalogEnv{})
		sum := sha256.Sum256([]byte(sql))
		base = &engine.Base{Name: "pgcatalog-" + hex.EncodeToString(sum[:8]), Script: func() string { return sql }}
	})
	return base
}

// builtinTypeNames are format_type's names of PostgreSQL's types that are not their typname.
var builtinTypeNames = map[string]string{"16": "boolean", "20": "bigint", "21": "smallint", "23": "integer",
	"700": "real", "701": "double precision", "1114": "timestamp without time zone", "1184": "timestamp with time zone",
	"1083": "time without time zone", "1266": "time with time zone", "18": `"char"`, "1043": "character varying",
	"1042": "character", "1700": "numeric", "1560": "bit", "1562": "bit varying", "1186": "interval", "2276": `"any"`}

// typeNameRows are format_type(oid, NULL) of every static pg_type row (a true array type, one with an element
// that is not stored plain, is its element's name and []), which the format_type macro reads as one constant map
// (the variable strata_type_names).
func typeNameRows() [][]string {
	t := staticCatalog()["pg_type"]
	col := map[string]int{}
	for i, d := range strings.Split(t.cols, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
		col[name] = i
	}
	names := map[string]string{}
	for _, r := range t.rows {
		names[r[col["oid"]]] = r[col["typname"]]
	}
	for oid, n := range builtinTypeNames {
		names[oid] = n
	}
	out := make([][]string, 0, len(t.rows))
	for _, r := range t.rows {
		n := names[r[col["oid"]]]
		if r[col["typelem"]] != "0" && r[col["typstorage"]] != "p" {
			if elem, ok := names[r[col["typelem"]]]; ok {
				n = elem + "[]"
			}
		}
		out = append(out, []string{r[col["oid"]], n})
	}
	return out
}

const pgClassCols = "oid BIGINT, relname VARCHAR, relnamespace BIGINT, reltype BIGINT, reloftype BIGINT, relowner BIGINT, " +
	"relam BIGINT, relfilenode BIGINT, reltablespace BIGINT, relpages INTEGER, reltuples FLOAT, relallvisible INTEGER, " +
	"reltoastrelid BIGINT, relhasindex BOOLEAN, relisshared BOOLEAN, relpersistence VARCHAR, relkind VARCHAR, " +
	"relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, relhastriggers BOOLEAN, relhassubclass BOOLEAN, " +
	"relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, relispopulated BOOLEAN, relreplident VARCHAR, " +
	"relispartition BOOLEAN, relrewrite BIGINT, relfrozenxid BIGINT, relminmxid BIGINT, relacl VARCHAR[], " +
	"reloptions VARCHAR[], relpartbound VARCHAR"

// builtinRels are PostgreSQL's catalog tables by OID, so 'pg_class'::regclass and friends resolve.
var builtinRels = map[string]int64{"pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": oidRelPgClass,
	"pg_database": 1262, "pg_namespace": 2615, "pg_description": 2609, "pg_am": 2601, "pg_constraint": 2606,
	"pg_index": 2610, "pg_attrdef": 2604, "pg_range": 3541, "pg_enum": 3501, "pg_collation": 3456,
	"pg_inherits": 2611, "pg_tablespace": 1213, "pg_authid": 1260, "pg_trigger": 2620}

func classRows(e *catalogEnv) [][]string {
	var out [][]string
	row := func(oid int64, name string, ns int64, kind string, natts int, rows, bytes int64) {
		out = append(out, []string{i64(oid), name, i64(ns), "0", "0", i64(oidOwner), map[bool]string{true: "2", false: "0"}[kind == "r"],
			i64(oid), "0", i64((bytes + 8191) / 8192), i64(rows), "0", "0", "f", "f", "p", kind, strconv.Itoa(natts), "0", "f", "f", "f", "f", "f",
			"t", "d", "f", "0", "0", "0", nullField, nullField, nullField})
	}
	for _, r := range e.rels {
		row(r.oid, r.name, e.nsOID(r.zone), r.kind, len(r.cols), r.rows, r.bytes)
	}
	names := make([]string, 0, len(builtinRels))
	for n := range builtinRels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		row(builtinRels[n], n, oidPgCatalog, "r", 0, 0, 0)
	}
	return out
}

func namespaceRows(e *catalogEnv) [][]string {
	out := [][]string{{i64(oidPgCatalog), "pg_catalog", i64(oidOwner), nullField},
		{i64(oidPublic), "public", i64(oidOwner), nullField},
		{i64(oidInfoSchema), "information_schema", i64(oidOwner), nullField},
		{i64(e.nsOID("strata")), "strata", i64(oidOwner), nullField}}
	for _, z := range e.zones {
		if z != "strata" && z != "public" {
			out = append(out, []string{i64(e.nsOID(z)), z, i64(oidOwner), nullField})
		}
	}
	return out
}

const pgAttributeCols = "attrelid BIGINT, attname VARCHAR, atttypid BIGINT, attstattarget INTEGER, attlen SMALLINT, " +
	"attnum SMALLINT, attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN, attalign VARCHAR, " +
	"attstorage VARCHAR, attcompression VARCHAR, attnotnull BOOLEAN, atthasdef BOOLEAN, atthasmissing BOOLEAN, " +
	"attidentity VARCHAR, attgenerated VARCHAR, attisdropped BOOLEAN, attislocal BOOLEAN, attinhcount INTEGER, " +
	"attcollation BIGINT, attacl VARCHAR[], attoptions VARCHAR[], attfdwoptions VARCHAR[], attmissingval VARCHAR"

// typeRow returns a built-in type's pg_type row by column name.
func typeRow(oid uint32) map[string]string {
	t := staticCatalog()["pg_type"]
	names := strings.Split(t.cols, ",")
	for _, r := range t.rows {
		if r[0] == strconv.FormatUint(uint64(oid), 10) {
			m := map[string]string{}
			for i, n := range names {
				name, _, _ := strings.Cut(strings.TrimSpace(n), " ")
				m[name] = r[i]
			}
			return m
		}
	}
	return nil
}

func attributeRows(e *catalogEnv) [][]string {
	var out [][]string
	for _, r := range e.rels {
		for i, c := range r.cols {
			t := typeRow(c.typ.OID)
			ndims := "0"
			if t["typcategory"] == "A" {
				ndims = "1"
			}
			out = append(out, []string{i64(r.oid), c.name, strconv.Itoa(int(c.typ.OID)), "-1", t["typlen"],
				strconv.Itoa(i + 1), ndims, "-1", strconv.Itoa(int(c.typ.Typmod)), t["typbyval"], t["typalign"],
				t["typstorage"], "", bool01(c.notNull), "f", "f", "", "", "f", "t", "0", t["typcollation"],
				nullField, nullField, nullField, nullField})
		}
	}
	return out
}

func descriptionRows(e *catalogEnv) [][]string {
	var out [][]string
	for _, r := range e.rels {
		for i, c := range r.cols {
			if c.doc != "" {
				out = append(out, []string{i64(r.oid), i64(oidRelPgClass), strconv.Itoa(i + 1), c.doc})
			}
		}
	}
	return out
}

const pgDatabaseCols = "oid BIGINT, datname VARCHAR, datdba BIGINT, encoding INTEGER, datlocprovider VARCHAR, " +
	"datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INTEGER, datfrozenxid BIGINT, datminmxid BIGINT, " +
	"dattablespace BIGINT, datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, datcollversion VARCHAR, datacl VARCHAR[]"

func databaseRows(e *catalogEnv) [][]string {
	var out [][]string
	for _, n := range e.envNames {
		out = append(out, []string{i64(catalogOID("database", n)), n, i64(oidOwner), "6", "c", "f", "t", "-1", "0", "1",
			"1663", "C", "C", nullField, nullField, nullField})
	}
	return out
}

const pgRolesCols = "rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, " +
	"rolcanlogin BOOLEAN, rolreplication BOOLEAN, rolconnlimit INTEGER, rolpassword VARCHAR, rolvaliduntil TIMESTAMPTZ, " +
	"rolbypassrls BOOLEAN, rolconfig VARCHAR[], oid BIGINT"

// ownerRole owns every object of the emulated catalog.
const ownerRole = "strata"

func roleRows(e *catalogEnv) [][]string {
	out := [][]string{{ownerRole, "f", "t", "f", "f", "f", "f", "-1", "********", nullField, "f", nullField, i64(oidOwner)}}
	if e.user != "" && e.user != ownerRole {
		out = append(out, []string{e.user, "f", "t", "f", "f", "t", "f", "-1", "********", nullField, "f", nullField,
			i64(catalogOID("role", e.user))})
	}
	return out
}

const pgSettingsCols = "name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR, " +
	"extra_desc VARCHAR, context VARCHAR, vartype VARCHAR, source VARCHAR, min_val VARCHAR, max_val VARCHAR, " +
	"enumvals VARCHAR[], boot_val VARCHAR, reset_val VARCHAR, sourcefile VARCHAR, sourceline INTEGER, pending_restart BOOLEAN"

// serverSettings are settings clients read through pg_settings / current_setting() that are not session
// variables.
var serverSettings = map[string]string{"default_table_access_method": "heap", "block_size": "8192",
	"max_index_keys": "32", "max_connections": "500", "data_checksums": "off", "wal_level": "minimal"}

func settingRows(e *catalogEnv) [][]string {
	vars := map[string]setting{}
	for k, v := range serverSettings {
		vars[k] = setting{k, v}
	}
	for k, v := range e.vars {
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out [][]string
	for _, k := range keys {
		v := vars[k]
		out = append(out, []string{v.name, v.value, nullField, "Strata", "", nullField, "user", "string", "session",
			nullField, nullField, nullField, v.value, v.value, nullField, nullField, "f"})
	}
	return out
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

func bool01(b bool) string {
	if b {
		return "t"
	}
	return "f"
}

// emptyRelations are catalogs clients read that hold nothing here: the lake has no indexes, constraints,
// defaults, inheritance, policies, publications, enums, triggers or sequences.
var emptyRelations = map[string]string{
	"pg_index": "indexrelid BIGINT, indrelid BIGINT, indnatts SMALLINT, indnkeyatts SMALLINT, indisunique BOOLEAN, " +
		"indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, " +
		"indisclustered BOOLEAN, indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, " +
		"indisreplident BOOLEAN, indkey SMALLINT[], indcollation BIGINT[], indclass BIGINT[], indoption SMALLINT[], " +
		"indexprs VARCHAR, indpred VARCHAR",
	"pg_constraint": "oid BIGINT, conname VARCHAR, connamespace BIGINT, contype VARCHAR, condeferrable BOOLEAN, " +
		"condeferred BOOLEAN, convalidated BOOLEAN, conrelid BIGINT, contypid BIGINT, conindid BIGINT, conparentid BIGINT, " +
		"confrelid BIGINT, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR, conislocal BOOLEAN, " +
		"coninhcount INTEGER, connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], conpfeqop BIGINT[], " +
		"conppeqop BIGINT[], conffeqop BIGINT[], confdelsetcols SMALLINT[], conexclop BIGINT[], conbin VARCHAR",
	"pg_attrdef":      "oid BIGINT, adrelid BIGINT, adnum SMALLINT, adbin VARCHAR",
	"pg_auth_members": "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN",
	"pg_inherits":     "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
	"pg_enum":         "oid BIGINT, enumtypid BIGINT, enumsortorder FLOAT, enumlabel VARCHAR",
	"pg_sequence":     "seqrelid BIGINT, seqtypid BIGINT, seqstart BIGINT, seqincrement BIGINT, seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN",
	"pg_trigger":      "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, tgconstrindid BIGINT, tgconstraint BIGINT, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, tgnargs SMALLINT, tgattr VARCHAR, tgargs VARCHAR, tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR",
	"pg_rewrite":      "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
	"pg_depend":       "classid BIGINT, objid BIGINT, objsubid INTEGER, refclassid BIGINT, refobjid BIGINT, refobjsubid INTEGER, deptype VARCHAR",
	"pg_policy":       "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
	"pg_extension":    "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, extrelocatable BOOLEAN, extversion VARCHAR, extconfig BIGINT[], extcondition VARCHAR[]",
	"pg_statistic_ext": "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, " +
		"stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR",
	"pg_publication": "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN, " +
		"pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
	"pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
	"pg_publication_rel":       "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[]",
	"pg_foreign_table":         "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
	"pg_partitioned_table":     "partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT, partdefid BIGINT, partattrs SMALLINT[], partclass BIGINT[], partcollation BIGINT[], partexprs VARCHAR",
	"pg_shdescription":         "objoid BIGINT, classoid BIGINT, description VARCHAR",
	"pg_event_trigger":         "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtowner BIGINT, evtfoid BIGINT, evtenabled VARCHAR, evttags VARCHAR[]",
	"pg_cast":                  "oid BIGINT, castsource BIGINT, casttarget BIGINT, castfunc BIGINT, castcontext VARCHAR, castmethod VARCHAR",
	"pg_opclass":               "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcowner BIGINT, opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT",
	"pg_language":              "oid BIGINT, lanname VARCHAR, lanowner BIGINT, lanispl BOOLEAN, lanpltrusted BOOLEAN, lanplcallfoid BIGINT, laninline BIGINT, lanvalidator BIGINT, lanacl VARCHAR[]",
	"strata_is_table_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, " +
		"table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR, is_deferrable VARCHAR, " +
		"initially_deferred VARCHAR, enforced VARCHAR, nulls_distinct VARCHAR",
	"strata_is_key_column_usage": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, " +
		"table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, " +
		"position_in_unique_constraint INTEGER",
	"strata_is_referential_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, " +
		"unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR, unique_constraint_name VARCHAR, " +
		"match_option VARCHAR, update_rule VARCHAR, delete_rule VARCHAR",
	"strata_is_constraint_column_usage": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, " +
		"column_name VARCHAR, constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR",
	"strata_is_routines": "specific_catalog VARCHAR, specific_schema VARCHAR, specific_name VARCHAR, routine_catalog VARCHAR, " +
		"routine_schema VARCHAR, routine_name VARCHAR, routine_type VARCHAR, data_type VARCHAR, type_udt_name VARCHAR, " +
		"routine_definition VARCHAR, external_language VARCHAR",
}
