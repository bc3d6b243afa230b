package lakesql

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnqualify: env.zone.name and env.zone.name.col lose the database when it is the environment, quoted or
// not, spaces around the dots allowed; literals, comments, other names and struct field access stay byte for
// byte; another environment's name is a cross-database reference.
func TestUnqualify(t *testing.T) {
	envNames := []string{"dev", "prod", "staging"}
	for in, want := range map[string]string{
		"SELECT count(*) FROM dev.raw.orders":                           "SELECT count(*) FROM raw.orders",
		`SELECT * FROM "dev"."raw"."orders"`:                            `SELECT * FROM "raw"."orders"`,
		"SELECT * FROM dev . raw . orders o":                            "SELECT * FROM raw . orders o",
		"SELECT dev.raw.orders.id FROM dev.raw.orders":                  "SELECT raw.orders.id FROM raw.orders",
		"select * from DEV.raw.t join dev.clean.u using (id)":           "select * from raw.t join clean.u using (id)",
		"CREATE TABLE dev.clean.x AS SELECT * FROM dev.raw.t":           "CREATE TABLE clean.x AS SELECT * FROM raw.t",
		"SELECT 'dev.raw.t', $$dev.raw.t$$ -- dev.raw.t\nFROM raw.t":    "SELECT 'dev.raw.t', $$dev.raw.t$$ -- dev.raw.t\nFROM raw.t",
		"SELECT /* dev.raw.t */ 1":                                      "SELECT /* dev.raw.t */ 1",
		"SELECT s.dev.raw FROM t AS s":                                  "SELECT s.dev.raw FROM t AS s",
		"SELECT dev.a FROM raw.t AS dev":                                "SELECT dev.a FROM raw.t AS dev",
		"SELECT x.dev.raw.t.c FROM y":                                   "SELECT x.dev.raw.t.c FROM y",
		`SELECT * FROM "Dev".raw.t`:                                     `SELECT * FROM "Dev".raw.t`,
		"SELECT * FROM other.raw.t":                                     "SELECT * FROM other.raw.t",
		"SELECT * FROM devx.raw.t, xdev.raw.t":                          "SELECT * FROM devx.raw.t, xdev.raw.t",
		"SELECT 1.5, dev.raw.t.a FROM dev.raw.t":                        "SELECT 1.5, raw.t.a FROM raw.t",
		"SELECT * FROM raw.orders WHERE id = $1":                        "SELECT * FROM raw.orders WHERE id = $1",
		`SELECT "dev"."raw"."t"."a b" FROM "dev".raw."t"`:               `SELECT "raw"."t"."a b" FROM raw."t"`,
		"SELECT * FROM dev.raw.t WHERE s = E'it\\'s dev.raw.t' AND 1=1": "SELECT * FROM raw.t WHERE s = E'it\\'s dev.raw.t' AND 1=1",
	} {
		got, err := Unqualify(in, "dev", envNames)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for in, name := range map[string]string{
		"SELECT count(*) FROM prod.raw.orders":                "prod.raw.orders",
		`SELECT * FROM "prod" . "raw"."orders"`:               "prod.raw.orders",
		"SELECT prod.raw.orders.id FROM raw.orders":           "prod.raw.orders.id",
		"INSERT INTO staging.clean.t SELECT * FROM dev.raw.t": "staging.clean.t",
	} {
		_, err := Unqualify(in, "dev", envNames)
		var le *Error
		require.True(t, errors.As(err, &le), "%s: %v", in, err)
		require.Equal(t, RuleUnsupported, le.Rule)
		require.ErrorIs(t, err, ErrUnsupported)
		require.ErrorContains(t, err, "cross-database references are not implemented: "+name, in)
		require.ErrorContains(t, err, "connect to database "+name[:len(name)-len(name[indexDot(name):])], in)
	}
}

func indexDot(s string) int {
	for i := range s {
		if s[i] == '.' {
			return i
		}
	}
	return len(s)
}

// TestUnqualifyPrefilter: a statement naming no environment followed by a dot is returned as it is, without
// lexing (the same string, not a copy).
func TestUnqualifyPrefilter(t *testing.T) {
	require.False(t, mentionsAny("SELECT * FROM raw.orders WHERE id = $1", "dev", []string{"dev", "prod"}))
	require.False(t, mentionsAny("SELECT dev FROM raw.t", "dev", nil))
	require.True(t, mentionsAny("SELECT * FROM DEV .raw.t", "dev", nil))
	require.True(t, mentionsAny(`SELECT * FROM "prod".raw.t`, "dev", []string{"prod"}))
}

func BenchmarkUnqualifyPointQuery(b *testing.B) {
	q := "SELECT order_id, user_id, amount, status FROM raw.orders WHERE order_id = $1"
	names := []string{"dev", "prod", "staging"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Unqualify(q, "dev", names); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnqualifyQualified(b *testing.B) {
	q := "SELECT order_id, user_id, amount, status FROM dev.raw.orders WHERE order_id = $1"
	names := []string{"dev", "prod", "staging"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Unqualify(q, "dev", names); err != nil {
			b.Fatal(err)
		}
	}
}
