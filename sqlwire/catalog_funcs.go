package sqlwire

import (
	"strings"
)

// catMacro is a DuckDB macro of the emulated catalog; body returns "name(params) AS expr[, (params) AS expr]".
type catMacro struct {
	name       string
	needs      []string
	body       func(e *catalogEnv) string
	perSession bool // body depends on the session (its environment, user, server version)
}

func constMacro(name, body string, needs ...string) catMacro {
	return catMacro{name: name, needs: needs, body: func(*catalogEnv) string { return body }}
}

func nullMacro(name string, arities ...string) catMacro {
	parts := make([]string, len(arities))
	for i, a := range arities {
		parts[i] = "(" + a + ") AS CAST(NULL AS VARCHAR)"
	}
	return constMacro(name, name+strings.Join(parts, ", "))
}

// privilege answers has_*_privilege: the endpoint reads, so read privileges are held and no others.
const privilege = "regexp_matches(upper(CAST(p AS VARCHAR)), 'SELECT|USAGE|CONNECT|EXECUTE|TEMP')"

var macros = func() []catMacro {
	m := []catMacro{
		{name: "version", perSession: true, body: func(e *catalogEnv) string {
			return "version() AS " + sqlQuote("PostgreSQL 15.0 ("+e.version+") on x86_64-pc-linux-gnu, compiled by Go, 64-bit")
		}},
		{name: "current_database", perSession: true, body: func(e *catalogEnv) string { return "current_database() AS " + sqlQuote(e.env) }},
		{name: "strata_current_user", perSession: true, body: func(e *catalogEnv) string { return "strata_current_user() AS " + sqlQuote(e.user) }},
		{name: "strata_session_user", perSession: true, body: func(e *catalogEnv) string { return "strata_session_user() AS " + sqlQuote(e.user) }},
		constMacro("current_schema", "current_schema() AS 'public'"),
		constMacro("current_schemas", "current_schemas(b) AS CASE WHEN b THEN ['pg_catalog', 'public'] ELSE ['public'] END"),
		constMacro("pg_get_userbyid", "pg_get_userbyid(x) AS coalesce((SELECT strata_r_pgu.rolname FROM pg_roles strata_r_pgu "+
			"WHERE strata_r_pgu.oid = x), 'unknown (OID=' || x || ')')", "pg_roles"),
		// Visible means on the search path ("$user", public), as in PostgreSQL: zone tables are named zone.table.
		constMacro("pg_table_is_visible", "pg_table_is_visible(x) AS (SELECT strata_n_tv.nspname IN ('pg_catalog', 'public') "+
			"FROM pg_class strata_c_tv JOIN pg_namespace strata_n_tv ON strata_n_tv.oid = strata_c_tv.relnamespace "+
			"WHERE strata_c_tv.oid = x)", "pg_class", "pg_namespace"),
		constMacro("pg_type_is_visible", "pg_type_is_visible(x) AS true"),
		constMacro("pg_function_is_visible", "pg_function_is_visible(x) AS true"),
		constMacro("pg_collation_is_visible", "pg_collation_is_visible(x) AS true"),
		// format_type without a subquery per call (DuckDB plans each correlated subquery as a join: 4 of them made
		// psql's \d column query ~50 ms): the names of types without a typmod come from one constant map
		// (strata_type_names, built from pg_type's static rows), the typmod ones from the CASE.
		constMacro("strata_type_name", "strata_type_name(t, m) AS CASE t "+
			"WHEN 1043 THEN 'character varying' || CASE WHEN m > 4 THEN '(' || (m - 4) || ')' ELSE '' END "+
			"WHEN 1042 THEN 'character' || CASE WHEN m > 4 THEN '(' || (m - 4) || ')' ELSE '' END "+
			"WHEN 1700 THEN 'numeric' || CASE WHEN m >= 4 THEN '(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')' ELSE '' END "+
			"ELSE coalesce(map_extract_value(getvariable('strata_type_names'), t), '???') END", "strata_type_names"),
		// PostgreSQL names bpchar and bit with a typmod of -1 by their typname (not the SQL names, which mean a
		// length of 1).
		constMacro("format_type", "format_type(t, m) AS CASE WHEN t IS NULL THEN NULL "+
			"WHEN m < 0 AND t IN (1042, 1014, 1560, 1561) THEN CASE t WHEN 1042 THEN 'bpchar' WHEN 1014 THEN 'bpchar[]' "+
			"WHEN 1560 THEN '\"bit\"' ELSE '\"bit\"[]' END "+
			"WHEN t IN (1015, 1014, 1231) THEN strata_type_name(CASE t WHEN 1015 THEN 1043 WHEN 1014 THEN 1042 ELSE 1700 END, m) || '[]' "+
			"ELSE strata_type_name(t, m) END", "strata_type_name"),
		nullMacro("pg_get_expr", "a, b", "a, b, c"),
		nullMacro("pg_get_constraintdef", "a", "a, b"),
		nullMacro("pg_get_indexdef", "a", "a, b, c"),
		nullMacro("pg_get_viewdef", "a", "a, b"),
		nullMacro("pg_get_triggerdef", "a", "a, b"),
		nullMacro("pg_get_ruledef", "a", "a, b"),
		nullMacro("pg_get_functiondef", "a"),
		nullMacro("pg_get_function_result", "a"),
		nullMacro("pg_get_function_arguments", "a"),
		nullMacro("pg_get_function_identity_arguments", "a"),
		nullMacro("pg_get_partkeydef", "a"),
		nullMacro("pg_get_serial_sequence", "a, b"),
		nullMacro("pg_get_statisticsobjdef_columns", "a"),
		nullMacro("shobj_description", "a, b"),
		constMacro("obj_description", "obj_description(o) AS (SELECT strata_d_od.description FROM pg_description strata_d_od "+
			"WHERE strata_d_od.objoid = o AND strata_d_od.objsubid = 0 LIMIT 1), (o, c) AS (SELECT strata_d_od.description "+
			"FROM pg_description strata_d_od WHERE strata_d_od.objoid = o AND strata_d_od.objsubid = 0 LIMIT 1)", "pg_description"),
		constMacro("col_description", "col_description(o, n) AS (SELECT strata_d_cd.description FROM pg_description strata_d_cd "+
			"WHERE strata_d_cd.objoid = o AND strata_d_cd.objsubid = n LIMIT 1)", "pg_description"),
		constMacro("pg_encoding_to_char", "pg_encoding_to_char(e) AS CASE e WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END"),
		constMacro("quote_ident", `quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s `+
			`ELSE '"' || replace(s, '"', '""') || '"' END`),
		constMacro("array_upper", "array_upper(a, d) AS CASE WHEN len(a) = 0 THEN NULL ELSE len(a) END"),
		constMacro("array_lower", "array_lower(a, d) AS CASE WHEN len(a) = 0 THEN NULL ELSE 1 END"),
		constMacro("pg_relation_is_publishable", "pg_relation_is_publishable(x) AS false"),
		constMacro("pg_is_in_recovery", "pg_is_in_recovery() AS false"),
		constMacro("pg_my_temp_schema", "pg_my_temp_schema() AS 0"),
		constMacro("pg_is_other_temp_schema", "pg_is_other_temp_schema(x) AS false"),
		constMacro("pg_tablespace_location", "pg_tablespace_location(x) AS ''"),
		// Sizes are the data files' (relpages holds them in 8 kB pages); the lake has no indexes or TOAST.
		constMacro("strata_rel_bytes", "strata_rel_bytes(x) AS coalesce((SELECT strata_c_rb.relpages * 8192 FROM pg_class "+
			"strata_c_rb WHERE strata_c_rb.oid = x), 0)", "pg_class"),
		constMacro("pg_total_relation_size", "pg_total_relation_size(x) AS strata_rel_bytes(x)", "strata_rel_bytes"),
		constMacro("pg_relation_size", "pg_relation_size(x) AS strata_rel_bytes(x), (x, f) AS "+
			"CASE WHEN f = 'main' THEN strata_rel_bytes(x) ELSE 0 END", "strata_rel_bytes"),
		constMacro("pg_table_size", "pg_table_size(x) AS strata_rel_bytes(x)", "strata_rel_bytes"),
		constMacro("pg_database_size", "pg_database_size(x) AS 0"),
		// PostgreSQL's rounding and units (DuckDB's own pg_size_pretty prints KiB).
		constMacro("pg_size_pretty", "pg_size_pretty(b) AS CASE WHEN abs(b) < 10240 THEN b || ' bytes' "+
			"WHEN abs(b >> 9) < 20479 THEN ((b >> 9) + 1) // 2 || ' kB' WHEN abs(b >> 19) < 20479 THEN ((b >> 19) + 1) // 2 || ' MB' "+
			"WHEN abs(b >> 29) < 20479 THEN ((b >> 29) + 1) // 2 || ' GB' ELSE ((b >> 39) + 1) // 2 || ' TB' END"),
		constMacro("pg_indexes_size", "pg_indexes_size(x) AS 0"),
		constMacro("pg_has_role", "pg_has_role(a, b) AS true, (a, b, c) AS true"),
		constMacro("set_config", "set_config(a, b, c) AS b"),
		// information_schema._pg_expandarray (pgjdbc's getPrimaryKeys) over pg_index, which is empty here: the
		// first element stands for the set PostgreSQL returns.
		constMacro("strata_is__pg_expandarray", "strata_is__pg_expandarray(a) AS {'x': a[1], 'n': 1}"),
		constMacro("current_setting", "current_setting(n) AS (SELECT strata_s_cs.setting FROM pg_settings strata_s_cs "+
			"WHERE lower(strata_s_cs.name) = lower(n)), (n, missing_ok) AS (SELECT strata_s_cs.setting FROM pg_settings "+
			"strata_s_cs WHERE lower(strata_s_cs.name) = lower(n))", "pg_settings"),
		constMacro("txid_current", "txid_current() AS 1"),
		constMacro("pg_backend_pid", "pg_backend_pid() AS 1"),
		constMacro("to_regclass", "to_regclass(x) AS strata_regclass(x)", "strata_regclass"),
		constMacro("to_regtype", "to_regtype(x) AS strata_regtype(x)", "strata_regtype"),
		constMacro("strata_unq", `strata_unq(s) AS CASE WHEN s LIKE '"%"' THEN replace(substring(s, 2, length(s) - 2), '""', '"') ELSE lower(s) END`),
		constMacro("strata_regclass", "strata_regclass(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN (SELECT strata_c_sr.oid "+
			"FROM pg_class strata_c_sr JOIN pg_namespace strata_n_sr ON strata_n_sr.oid = strata_c_sr.relnamespace "+
			"WHERE strata_c_sr.relname = strata_unq(string_split(CAST(x AS VARCHAR), '.')[-1]) "+
			"AND (NOT contains(CAST(x AS VARCHAR), '.') OR strata_n_sr.nspname = strata_unq(string_split(CAST(x AS VARCHAR), '.')[1])) "+
			"ORDER BY strata_n_sr.oid LIMIT 1) ELSE TRY_CAST(x AS BIGINT) END", "pg_class", "pg_namespace", "strata_unq"),
		constMacro("strata_relname", "strata_relname(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(x AS VARCHAR) "+
			"ELSE coalesce((SELECT CASE WHEN strata_n_sr.nspname IN ('pg_catalog', 'public') THEN strata_c_sr.relname "+
			"ELSE strata_n_sr.nspname || '.' || strata_c_sr.relname END FROM pg_class strata_c_sr JOIN pg_namespace strata_n_sr "+
			"ON strata_n_sr.oid = strata_c_sr.relnamespace WHERE strata_c_sr.oid = TRY_CAST(x AS BIGINT)), CAST(x AS VARCHAR)) END",
			"pg_class", "pg_namespace"),
		constMacro("strata_regtype", "strata_regtype(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN (SELECT strata_t_sr.oid "+
			"FROM pg_type strata_t_sr WHERE strata_t_sr.typname = strata_unq(CAST(x AS VARCHAR)) "+
			"OR format_type(strata_t_sr.oid, NULL) = lower(CAST(x AS VARCHAR)) "+
			"OR starts_with(lower(CAST(x AS VARCHAR)), 'pg_catalog.') AND (strata_t_sr.typname = strata_unq(CAST(x AS VARCHAR)[12:]) "+
			"OR format_type(strata_t_sr.oid, NULL) = lower(CAST(x AS VARCHAR)[12:])) ORDER BY strata_t_sr.oid LIMIT 1) "+
			"ELSE TRY_CAST(x AS BIGINT) END", "pg_type", "format_type", "strata_unq"),
		constMacro("strata_typname", "strata_typname(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(x AS VARCHAR) "+
			"ELSE format_type(TRY_CAST(x AS BIGINT), NULL) END", "format_type"),
		constMacro("strata_regnamespace", "strata_regnamespace(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN "+
			"(SELECT strata_n_sr.oid FROM pg_namespace strata_n_sr WHERE strata_n_sr.nspname = strata_unq(CAST(x AS VARCHAR))) "+
			"ELSE TRY_CAST(x AS BIGINT) END", "pg_namespace", "strata_unq"),
		constMacro("strata_nspname", "strata_nspname(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(x AS VARCHAR) "+
			"ELSE coalesce((SELECT strata_n_sn.nspname FROM pg_namespace strata_n_sn WHERE strata_n_sn.oid = TRY_CAST(x AS BIGINT)), "+
			"CAST(x AS VARCHAR)) END", "pg_namespace"),
		constMacro("strata_regproc", "strata_regproc(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN "+
			"(SELECT strata_p_sr.oid FROM pg_proc strata_p_sr WHERE strata_p_sr.proname = strata_unq(CAST(x AS VARCHAR)) LIMIT 1) "+
			"ELSE TRY_CAST(x AS BIGINT) END", "pg_proc", "strata_unq"),
		constMacro("strata_proname", "strata_proname(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(x AS VARCHAR) "+
			"ELSE coalesce((SELECT strata_p_sp.proname FROM pg_proc strata_p_sp WHERE strata_p_sp.oid = TRY_CAST(x AS BIGINT)), "+
			"CASE WHEN TRY_CAST(x AS BIGINT) = 0 THEN '-' ELSE CAST(x AS VARCHAR) END) END", "pg_proc"),
		constMacro("strata_regrole", "strata_regrole(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN "+
			"(SELECT strata_r_sr.oid FROM pg_roles strata_r_sr WHERE strata_r_sr.rolname = strata_unq(CAST(x AS VARCHAR))) "+
			"ELSE TRY_CAST(x AS BIGINT) END", "pg_roles", "strata_unq"),
		constMacro("strata_rolname", "strata_rolname(x) AS CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(x AS VARCHAR) "+
			"ELSE pg_get_userbyid(TRY_CAST(x AS BIGINT)) END", "pg_get_userbyid"),
	}
	for _, p := range []string{"table", "schema", "database", "column", "any_column", "function", "sequence", "type",
		"tablespace", "language", "foreign_data_wrapper", "server"} {
		n := "has_" + p + "_privilege"
		m = append(m, constMacro(n, n+"(o, p) AS "+privilege+", (u, o, p) AS "+privilege+", (u, o, c, p) AS "+privilege))
	}
	return m
}()

type catView struct {
	needs []string
	body  string
}

var views = map[string]catView{
	"pg_tables": {[]string{"pg_class", "pg_namespace"}, "SELECT n.nspname AS schemaname, c.relname AS tablename, " +
		"'" + ownerRole + "' AS tableowner, CAST(NULL AS VARCHAR) AS tablespace, false AS hasindexes, false AS hasrules, " +
		"false AS hastriggers, false AS rowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
		"WHERE c.relkind IN ('r', 'p')"},
	"pg_views": {[]string{"pg_class", "pg_namespace"}, "SELECT n.nspname AS schemaname, c.relname AS viewname, " +
		"'" + ownerRole + "' AS viewowner, CAST(NULL AS VARCHAR) AS definition FROM pg_class c " +
		"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'"},
	"pg_matviews": {nil, "SELECT CAST(NULL AS VARCHAR) AS schemaname, CAST(NULL AS VARCHAR) AS matviewname, " +
		"CAST(NULL AS VARCHAR) AS matviewowner, CAST(NULL AS VARCHAR) AS tablespace, false AS hasindexes, " +
		"false AS ispopulated, CAST(NULL AS VARCHAR) AS definition WHERE false"},
	"pg_indexes": {nil, "SELECT CAST(NULL AS VARCHAR) AS schemaname, CAST(NULL AS VARCHAR) AS tablename, " +
		"CAST(NULL AS VARCHAR) AS indexname, CAST(NULL AS VARCHAR) AS tablespace, CAST(NULL AS VARCHAR) AS indexdef WHERE false"},
	"pg_user": {[]string{"pg_roles"}, "SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, " +
		"rolsuper AS usesuper, rolreplication AS userepl, rolbypassrls AS usebypassrls, rolpassword AS passwd, " +
		"rolvaliduntil AS valuntil, rolconfig AS useconfig FROM pg_roles"},
	"strata_is_schemata": {[]string{"pg_namespace", "current_database"}, "SELECT current_database() AS catalog_name, " +
		"nspname AS schema_name, '" + ownerRole + "' AS schema_owner, CAST(NULL AS VARCHAR) AS default_character_set_catalog, " +
		"CAST(NULL AS VARCHAR) AS default_character_set_schema, CAST(NULL AS VARCHAR) AS default_character_set_name, " +
		"CAST(NULL AS VARCHAR) AS sql_path FROM pg_namespace"},
	"strata_is_tables": {[]string{"pg_class", "pg_namespace", "current_database"}, "SELECT current_database() AS table_catalog, " +
		"n.nspname AS table_schema, c.relname AS table_name, CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'BASE TABLE' END AS table_type, " +
		"CAST(NULL AS VARCHAR) AS self_referencing_column_name, CAST(NULL AS VARCHAR) AS reference_generation, " +
		"CAST(NULL AS VARCHAR) AS user_defined_type_catalog, CAST(NULL AS VARCHAR) AS user_defined_type_schema, " +
		"CAST(NULL AS VARCHAR) AS user_defined_type_name, 'NO' AS is_insertable_into, 'NO' AS is_typed, " +
		"CAST(NULL AS VARCHAR) AS commit_action FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
		"WHERE c.relkind IN ('r', 'v', 'p') AND n.nspname <> 'pg_catalog'"},
	"strata_is_views": {[]string{"pg_class", "pg_namespace", "current_database"}, "SELECT current_database() AS table_catalog, " +
		"n.nspname AS table_schema, c.relname AS table_name, CAST(NULL AS VARCHAR) AS view_definition, 'NONE' AS check_option, " +
		"'NO' AS is_updatable, 'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable, 'NO' AS is_trigger_deletable, " +
		"'NO' AS is_trigger_insertable_into FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'"},
	"strata_is_columns": {[]string{"pg_attribute", "pg_class", "pg_namespace", "pg_type", "format_type", "current_database"},
		"SELECT current_database() AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, " +
			"a.attname AS column_name, CAST(a.attnum AS INTEGER) AS ordinal_position, CAST(NULL AS VARCHAR) AS column_default, " +
			"CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable, " +
			"CASE WHEN t.typcategory = 'A' THEN 'ARRAY' ELSE format_type(a.atttypid, NULL) END AS data_type, " +
			"CAST(NULL AS INTEGER) AS character_maximum_length, " +
			"CAST(CASE WHEN a.atttypid IN (25, 1043) THEN 1073741824 END AS INTEGER) AS character_octet_length, " +
			"CAST(CASE a.atttypid WHEN 21 THEN 16 WHEN 23 THEN 32 WHEN 20 THEN 64 WHEN 700 THEN 24 WHEN 701 THEN 53 " +
			"WHEN 1700 THEN CASE WHEN a.atttypmod >= 4 THEN (a.atttypmod - 4) >> 16 END END AS INTEGER) AS numeric_precision, " +
			"CAST(CASE WHEN a.atttypid IN (20, 21, 23, 700, 701) THEN 2 WHEN a.atttypid = 1700 THEN 10 END AS INTEGER) AS numeric_precision_radix, " +
			"CAST(CASE WHEN a.atttypid IN (20, 21, 23) THEN 0 WHEN a.atttypid = 1700 AND a.atttypmod >= 4 " +
			"THEN (a.atttypmod - 4) & 65535 END AS INTEGER) AS numeric_scale, " +
			"CAST(CASE WHEN a.atttypid = 1082 THEN 0 WHEN a.atttypid IN (1083, 1114, 1184, 1186, 1266) THEN 6 END AS INTEGER) AS datetime_precision, " +
			"CAST(NULL AS VARCHAR) AS interval_type, CAST(NULL AS INTEGER) AS interval_precision, " +
			"CAST(NULL AS VARCHAR) AS character_set_catalog, CAST(NULL AS VARCHAR) AS character_set_schema, " +
			"CAST(NULL AS VARCHAR) AS character_set_name, CAST(NULL AS VARCHAR) AS collation_catalog, " +
			"CAST(NULL AS VARCHAR) AS collation_schema, CAST(NULL AS VARCHAR) AS collation_name, " +
			"CAST(NULL AS VARCHAR) AS domain_catalog, CAST(NULL AS VARCHAR) AS domain_schema, CAST(NULL AS VARCHAR) AS domain_name, " +
			"current_database() AS udt_catalog, 'pg_catalog' AS udt_schema, t.typname AS udt_name, " +
			"CAST(NULL AS VARCHAR) AS scope_catalog, CAST(NULL AS VARCHAR) AS scope_schema, CAST(NULL AS VARCHAR) AS scope_name, " +
			"CAST(NULL AS INTEGER) AS maximum_cardinality, CAST(a.attnum AS VARCHAR) AS dtd_identifier, " +
			"'NO' AS is_self_referencing, 'NO' AS is_identity, CAST(NULL AS VARCHAR) AS identity_generation, " +
			"CAST(NULL AS VARCHAR) AS identity_start, CAST(NULL AS VARCHAR) AS identity_increment, " +
			"CAST(NULL AS VARCHAR) AS identity_maximum, CAST(NULL AS VARCHAR) AS identity_minimum, " +
			"CAST(NULL AS VARCHAR) AS identity_cycle, 'NEVER' AS is_generated, CAST(NULL AS VARCHAR) AS generation_expression, " +
			"'NO' AS is_updatable FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid " +
			"JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid WHERE a.attnum > 0"},
}
