package engine

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func qn(pairs ...string) []QualifiedName {
	var out []QualifiedName
	for _, p := range pairs {
		s, n, _ := strings.Cut(p, ".")
		out = append(out, QualifiedName{Schema: s, Name: n})
	}
	return out
}

func TestReferencedNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sql  string
		want []QualifiedName
	}{
		{"SELECT * FROM raw.orders", qn("raw.orders")},
		{"SELECT count(*) FROM --x\r raw.people", qn("raw.people")},
		{"select * from RAW.Orders o join clean.users u on o.uid = u.id", qn("raw.orders", "clean.users", "o.uid", "u.id")},
		{`SELECT * FROM "Raw"."My ""Table"""`, []QualifiedName{{"Raw", `My "Table"`}}},
		{`SELECT * FROM raw."Orders", RAW.orders`, qn("raw.Orders", "raw.orders")},
		{"SELECT * FROM raw . orders", qn("raw.orders")},
		{"SELECT * FROM raw/* c */./* d */orders", qn("raw.orders")},
		{"SELECT 'raw.orders', E'it\\'s raw.x', $$raw.y$$, $tag$ raw.z $tag$ FROM t", nil},
		{"SELECT 1 -- FROM raw.orders\nFROM clean.t", qn("clean.t")},
		{"SELECT /* outer /* nested raw.a */ still raw.b */ x FROM c.d", qn("c.d")},
		{"SELECT 1.5, .5e3, 1e-3, 3.x FROM s.t", qn("s.t")},
		{"SELECT $1, $name FROM s.t", qn("s.t")},
		{"SELECT * FROM prod.clean.orders", qn("prod.clean", "clean.orders")},
		{"SELECT a.* FROM x.y a", qn("x.y")},
		{"SELECT * FROM raw.orders UNION SELECT * FROM raw.orders", qn("raw.orders")},
		{"SELECT * FROM zone_1.tbl$2", qn("zone_1.tbl$2")},
		{"SELECT * FROM ünï.cödé", qn("ünï.cödé")},
		{"SELECT 'unterminated raw.x", nil},
		{`SELECT "unterminated.x`, nil},
		{"SELECT * FROM a.", nil},
		{"", nil},
	} {
		require.Equal(t, tc.want, ReferencedNames(tc.sql), tc.sql)
	}
}

func FuzzReferencedNames(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM raw.orders", `SELECT "a"."b" FROM "c""d".e`, "SELECT 'x.y' -- z.w\n/* a.b */ FROM $$ q.r $$ t",
		"E'\\'' a.b", "$t$ $ $t$ c.d", "1.e5.x", "\"\"", "a./**/b", "'", "/*", "$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		names := ReferencedNames(sql)
		seen := map[QualifiedName]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("duplicate %v in %q", n, sql)
			}
			seen[n] = true
			if n.Schema == "" || n.Name == "" {
				t.Fatalf("empty name from %q", sql)
			}
		}
		// Nothing inside a string literal or a line comment is a reference.
		if got := ReferencedNames("'" + strings.ReplaceAll(sql, "'", "''") + "'"); len(got) != 0 {
			t.Fatalf("names inside a string literal: %v", got)
		}
		if !strings.ContainsAny(sql, "\n") {
			if got := ReferencedNames("-- " + sql); len(got) != 0 {
				t.Fatalf("names inside a comment: %v", got)
			}
		}
		// A quoted-identifier pair round-trips exactly.
		if utf8.ValidString(sql) && sql != "" {
			q := `"` + strings.ReplaceAll(sql, `"`, `""`) + `"`
			got := ReferencedNames("SELECT * FROM " + q + "." + q)
			if len(got) != 1 || got[0] != (QualifiedName{sql, sql}) {
				t.Fatalf("quoted %q: got %v", sql, got)
			}
		}
		// Appending an unrelated statement never loses a name.
		more := ReferencedNames(sql + "\n;SELECT 1")
		for _, n := range names {
			if !containsName(more, n) && !strings.Contains(sql, "/*") && !strings.ContainsAny(sql, "'\"$") {
				t.Fatalf("%v lost after appending to %q", n, sql)
			}
		}
	})
}

func containsName(names []QualifiedName, n QualifiedName) bool {
	for _, m := range names {
		if m == n {
			return true
		}
	}
	return false
}
