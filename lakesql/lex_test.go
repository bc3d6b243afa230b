package lakesql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSplit: statements split on top-level ';' only, outside literals, quoted identifiers, dollar quotes and
// comments; the first keywords skip comments and parentheses.
func TestSplit(t *testing.T) {
	cases := map[string][]string{
		"SELECT 1; SELECT 2":                       {"SELECT 1", "SELECT 2"},
		"SELECT ';' AS a; SELECT \"x;y\"":          {"SELECT ';' AS a", `SELECT "x;y"`},
		"SELECT $$a;b$$; SELECT $t$;$t$":           {"SELECT $$a;b$$", "SELECT $t$;$t$"},
		"SELECT 1 -- c;\n; /* ; */ ;":              {"SELECT 1 -- c;"},
		"SELECT E'it\\'s;' ;":                      {"SELECT E'it\\'s;'"},
		";;  ":                                     nil,
		"SELECT 'a''b;c'":                          {"SELECT 'a''b;c'"},
		"/* a /* nested ; */ ; */ SELECT 1; ":      {"/* a /* nested ; */ ; */ SELECT 1"},
		"SELECT $1::INT, $2 FROM t WHERE x = '$3'": {"SELECT $1::INT, $2 FROM t WHERE x = '$3'"},
	}
	for in, want := range cases {
		require.Equal(t, want, Split(in), in)
	}
	require.Equal(t, "SELECT", FirstWord("  /* c */ ((SELECT 1))"))
	require.Equal(t, []string{"SHOW", "TRANSACTION", "ISOLATION"}, Words("show transaction isolation level", 3))
}

// TestStripComments: comments become a space; literals, quoted identifiers and dollar quotes that hold comment
// markers are kept.
func TestStripComments(t *testing.T) {
	for in, want := range map[string]string{
		"-- a\nINSERT INTO raw.t /* b /* c */ */ VALUES (1) -- d": " INSERT INTO raw.t   VALUES (1)  ",
		"SELECT '--x', \"/*y*/\", $$-- z$$":                       "SELECT '--x', \"/*y*/\", $$-- z$$",
		"SELECT 1 --":                                             "SELECT 1  ",
		"SELECT E'\\'--' -- e":                                    "SELECT E'\\'--'  ",
	} {
		require.Equal(t, want, StripComments(in), in)
	}
}

// TestParseWriteComments: a lake write is recognised whatever comments surround or split it; other
// statements are not lake writes.
func TestParseWriteComments(t *testing.T) {
	for sql, want := range map[string]Verb{
		"-- rows\nINSERT INTO raw.t VALUES (1)":                 Insert,
		"/* x */ CREATE /* y */ TABLE clean.t AS SELECT 1 -- z": Create,
		"DROP TABLE IF EXISTS raw.t -- gone":                    Drop,
		"drop table \"Raw\".\"T\" cascade":                      Drop,
		"CREATE TEMP TABLE t AS SELECT 1":                       "",
		"INSERT INTO t VALUES (1)":                              "",
		"SELECT 'INSERT INTO raw.t VALUES (1)'":                 "",
		"UPDATE raw.t SET a = 1":                                "",
	} {
		w := ParseWrite(sql)
		if want == "" {
			require.Nil(t, w, sql)
			continue
		}
		require.NotNil(t, w, sql)
		require.Equal(t, want, w.Verb, sql)
	}
	zone, name := ParseWrite(`DROP TABLE "Raw"."T"`).Table()
	require.Equal(t, []string{"Raw", "T"}, []string{zone, name})
	zone, name = ParseWrite(`insert into Clean.Paid (a) values (1)`).Table()
	require.Equal(t, []string{"clean", "paid"}, []string{zone, name})
}
