package sqlwire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRewriteCatalog(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(people)$' COLLATE pg_catalog.default`: `SELECT c.oid FROM pg_class c WHERE c.relname ~ '(?s).*(?:^(people)$).*' `,
		`SELECT n.nspname !~ '^pg_' FROM "pg_catalog".pg_namespace n`:                                                            `SELECT n.nspname !~ '(?s).*(?:^pg_).*' FROM pg_namespace n`,
		`SELECT x ~* $1 FROM pg_type`: `SELECT x ~ ('(?is).*(?:' || $1 || ').*') FROM pg_type`,
		`SELECT 'pg_class'::regclass, c.oid::pg_catalog.regclass::pg_catalog.text FROM t c`: `SELECT strata_relname(strata_regclass('pg_class')) AS "regclass", strata_relname(c.oid) AS "text" FROM t c`,
		`SELECT CAST(CAST(a.attrelid AS REGCLASS) AS TEXT), CAST(x AS OID)`:                 `SELECT CAST(strata_regclass(a.attrelid) AS TEXT), CAST(x AS BIGINT)`,
		`SELECT f(a, b)::regtype, (x + 1)::oid, arr[1]::regproc`:                            `SELECT strata_typname(strata_regtype(f(a, b))) AS "f", (x + 1)::BIGINT, strata_proname(strata_regproc(arr[1])) AS "arr"`,
		`WHERE (x)::regclass = 1`: `WHERE strata_regclass((x)) = 1`,
		`SELECT * FROM information_schema.tables WHERE TABLE_SCHEMA = 'raw'`:                                         `SELECT * FROM strata_is_tables WHERE TABLE_SCHEMA = 'raw'`,
		`SELECT pg_catalog.version(), current_schema() AS s, count(*)`:                                               `SELECT version() AS "version", current_schema() AS s, count(*) AS "count"`,
		`SELECT a FROM pg_catalog.generate_series(0, 3) s, pg_attribute WHERE x = s`:                                 `SELECT a FROM generate_series(0, 3) s(s), pg_attribute WHERE x = s`,
		`SELECT current_user, session_user, pol.polroles = '{0}'`:                                                    `SELECT strata_current_user() AS "current_user", strata_session_user() AS "session_user", pol.polroles = '[0]'`,
		`SELECT json_build_object('a', 1)`:                                                                           `SELECT json_object('a', 1) AS "json_build_object"`,
		`SELECT x::regtype r, (SELECT y::regtype), x::regtype = 1, CAST(z AS regclass) FROM t WHERE w::regclass = 2`: `SELECT strata_typname(strata_regtype(x)) r, (SELECT strata_regtype(y) AS "regtype"), strata_regtype(x) = 1, strata_relname(strata_regclass(z)) AS "z" FROM t WHERE strata_regclass(w) = 2`,
		`SELECT 'it''s -- not a comment'::regclass /* c */`:                                                          `SELECT strata_relname(strata_regclass('it''s -- not a comment')) AS "regclass" /* c */`,
	} {
		require.Equal(t, want, join(rewriteCatalog(lex(in))), in)
	}
}

func TestIsCatalogQuery(t *testing.T) {
	t.Parallel()
	for sql, want := range map[string]bool{
		"SELECT * FROM raw.people":                      false,
		"SELECT 'pg_class' AS x FROM raw.people":        false,
		"SELECT version()":                              true,
		"SELECT * FROM PG_CATALOG.PG_CLASS":             true,
		"SELECT * FROM information_schema.columns":      true,
		"SELECT x::regclass FROM raw.t":                 true,
		"SELECT * FROM strata.releases":                 true,
		"SELECT strata FROM raw.t":                      false,
		"SELECT has_table_privilege('a', 'SELECT')":     true,
		"SELECT count(*) FROM raw.people WHERE x ~ 'a'": false,
	} {
		require.Equal(t, want, isCatalogQuery(lex(sql)), sql)
	}
}

// FuzzCatalogRewrite: lexing gives back the input exactly, and rewriting never panics on any input.
func FuzzCatalogRewrite(f *testing.F) {
	for _, s := range []string{
		`SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default`,
		`SELECT CAST(CAST(x AS REGCLASS) AS TEXT) FROM information_schema.tables`,
		`SELECT $1::regtype, E'\n', $$a$$, "q""x", /* c /* n */ */ 1 -- end`,
		`SELECT typreceive::text, CAST(t.typsend AS TEXT), t.typinput x, * FROM pg_type t`, `SELECT * FROM (SELECT * FROM pg_type`,
		`SELECT . typreceive, typsend AS`, `CAST(typreceive AS`, `SELECT * FROM pg_type AS`, `::regclass`, `CAST(`, `OPERATOR(`, `(((`, `'unterminated`, `SELECT generate_series(1,2) FROM generate_series(`,
		`SELECT t FROM (SELECT 'int4'::regtype AS t) s`, `WITH x AS (SELECT oid::regtype ty FROM pg_type) SELECT ty FROM x`,
		`SELECT t FROM (SELECT x::regtype AS`, `WITH x AS (SELECT 1::regtype) SELECT regtype FROM x, (`, `FROM (SELECT 1::regclass) AS`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		toks := lex(sql)
		if got := join(toks); got != sql {
			t.Fatalf("lex(%q) joins to %q", sql, got)
		}
		isCatalogQuery(toks)
		_ = join(rewriteCatalog(toks))
	})
}
