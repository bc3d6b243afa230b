//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// inSetup runs sql in a database with setup and returns its rows, closing the result.
func inSetup(t *testing.T, e *Engine, s Setup, sql string, tables ...Table) [][]string {
	t.Helper()
	res, err := e.QueryInSetup(context.Background(), s, sql, tables)
	require.NoError(t, err)
	defer func() { require.NoError(t, res.Close()) }()
	return drain(t, res)
}

// countingSetup is a setup whose script counts how often it was built.
func countingSetup(key, script string, built *int) Setup {
	return Setup{Key: key, Script: func() (string, error) { *built++; return script, nil }}
}

func TestQueryInSetupReusesTheDatabaseOfTheSameKey(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	built := 0
	s := countingSetup("v1", "CREATE MACRO answer() AS 42; CREATE TABLE facts AS SELECT 1 AS n;", &built)
	first := inSetup(t, e, s, whichDB)
	require.Equal(t, 1, built)
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, first, inSetup(t, e, s, whichDB), "same key: the pooled database runs it")
	require.Equal(t, [][]string{{"42", "1"}}, inSetup(t, e, s, "SELECT answer(), n FROM facts"))
	require.Equal(t, 1, built, "the script is built once")

	// Another key (what the script shows changed) gets its own database, built from its own script.
	s2 := countingSetup("v2", "CREATE MACRO answer() AS 43; CREATE TABLE facts AS SELECT 2 AS n;", &built)
	require.Equal(t, [][]string{{"43", "2"}}, inSetup(t, e, s2, "SELECT answer(), n FROM facts"))
	require.Equal(t, 2, built)
	require.Equal(t, [][]string{{"42", "1"}}, inSetup(t, e, s, "SELECT answer(), n FROM facts"))

	// Tables are part of the key: the same setup over a table gets a database with its view.
	a := idTable(t, "a", 0, 3)
	require.Equal(t, [][]string{{"3", "42"}}, inSetup(t, e, s, "SELECT count(*), answer() FROM raw.a", a))
}

// TestQueryInSetupStatementsCannotChangeAPooledDatabase: a query that creates, replaces or drops anything in
// its database retires it, so the next query with the same setup sees the script's objects unchanged.
func TestQueryInSetupStatementsCannotChangeAPooledDatabase(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	built := 0
	s := countingSetup("v1", "CREATE MACRO answer() AS 42; CREATE TABLE facts AS SELECT 1 AS n;", &built)
	require.Equal(t, [][]string{{"42"}}, inSetup(t, e, s, "SELECT answer()"))
	for _, sql := range []string{
		"CREATE OR REPLACE TEMP MACRO answer() AS 0; SELECT answer()",
		"CREATE OR REPLACE MACRO answer() AS 0; SELECT answer()",
		"CREATE TEMP TABLE facts AS SELECT 0 AS n; SELECT n FROM facts",
		"INSERT INTO facts VALUES (0); SELECT min(n) FROM facts",
		"DROP MACRO answer; SELECT 0",
		"CREATE TEMP VIEW facts AS SELECT 0 AS n; SELECT n FROM facts",
		"PREPARE p AS SELECT 0; EXECUTE p",
	} {
		res, err := e.QueryInSetup(context.Background(), s, sql, nil)
		if err == nil {
			drain(t, res)
			require.NoError(t, res.Close())
		}
		require.Equal(t, [][]string{{"42", "1", "1"}}, inSetup(t, e, s, "SELECT answer(), min(n), count(*) FROM facts"), sql)
	}
	// Settings stay sealed in a pooled database.
	_, err := e.QueryInSetup(context.Background(), s, "SET lock_configuration = false", nil)
	require.Error(t, err)
	_, err = e.QueryInSetup(context.Background(), s, "SELECT * FROM read_csv('/etc/passwd')", nil)
	require.Error(t, err)
}

func TestQueryInSetupErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	_, err := e.QueryInSetup(context.Background(), Setup{}, "SELECT 1", nil)
	require.ErrorIs(t, err, ErrInvalid)
	bad := Setup{Key: "bad", Script: func() (string, error) { return "CREATE MACRO (", nil }}
	_, err = e.QueryInSetup(context.Background(), bad, "SELECT 1", nil)
	require.Error(t, err)
	require.Equal(t, 0, e.Pooled())

	// Without a pool every query builds its database.
	off := newEngine(t, Options{Pool: -1})
	built := 0
	s := countingSetup("v1", "CREATE MACRO answer() AS 42;", &built)
	require.Equal(t, [][]string{{"42"}}, inSetup(t, off, s, "SELECT answer()"))
	require.Equal(t, [][]string{{"42"}}, inSetup(t, off, s, "SELECT answer()"))
	require.Equal(t, 2, built)
	require.Equal(t, 0, off.Pooled())
}

// TestQueryInSetupPreparedWritesAreRolledBack: a PREPAREd write (whose type the engine cannot see) run by a
// later EXECUTE in the same pooled database changes nothing another query sees.
func TestQueryInSetupPreparedWritesAreRolledBack(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	built := 0
	s := countingSetup("v1", "CREATE TABLE facts AS SELECT 1 AS n;", &built)
	for _, sql := range []string{
		"PREPARE p AS INSERT INTO facts VALUES (0); SELECT 1",
		"EXECUTE p; SELECT 1",
		"PREPARE q AS DELETE FROM facts; EXECUTE q",
		"PREPARE r AS UPDATE facts SET n = 5; EXECUTE r; SELECT 1",
		"BEGIN TRANSACTION; SELECT 1",
		"COMMIT; SELECT 1",
	} {
		res, err := e.QueryInSetup(context.Background(), s, sql, nil)
		if err == nil {
			drain(t, res)
			require.NoError(t, res.Close())
		}
		require.Equal(t, [][]string{{"1", "1"}}, inSetup(t, e, s, "SELECT min(n), count(*) FROM facts"), sql)
	}
	// The PREPARE/EXECUTE writes kept the database pooled (their rollback undid them); each transaction
	// statement retired its database, so the script was built again twice.
	require.Equal(t, 3, built)
}

func TestWarmSetupPoolsADatabaseForTheNextQuery(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	built := 0
	s := countingSetup("v1", "CREATE MACRO answer() AS 42;", &built)
	require.False(t, e.SetupPooled(s, nil))
	require.NoError(t, e.WarmSetup(context.Background(), s, nil))
	require.True(t, e.SetupPooled(s, nil))
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, [][]string{{"42"}}, inSetup(t, e, s, "SELECT answer()"))
	require.Equal(t, 1, built, "the query ran in the warmed database")
	require.NoError(t, e.WarmSetup(context.Background(), s, nil), "already pooled: taken and put back")
	require.Equal(t, 1, e.Pooled())
	require.Equal(t, 1, built)

	off := newEngine(t, Options{Pool: -1})
	require.NoError(t, off.WarmSetup(context.Background(), s, nil))
	require.False(t, off.SetupPooled(s, nil))
	require.Equal(t, 1, built)
}

// A setup's base is built once into a read-only file that databases of every key attach: their own objects
// come first, the base's macros read their tables, and nothing a statement does changes the base.
func TestSetupBaseIsBuiltOnceAndShared(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	baseBuilt := 0
	base := &Base{Name: "test-base-1", Script: func() string {
		baseBuilt++
		return "CREATE TABLE shared AS SELECT 7 AS n; CREATE TABLE facts (n INTEGER); " +
			"CREATE MACRO total() AS (SELECT sum(n) FROM facts); CREATE MACRO who() AS 'base';"
	}}
	built := 0
	for i, key := range []string{"k1", "k2"} {
		s := countingSetup(key, fmt.Sprintf("CREATE TABLE facts AS SELECT %d AS n; CREATE MACRO who() AS '%s';", i+1, key), &built)
		s.Base = base
		require.Equal(t, [][]string{{"7", fmt.Sprint(i + 1), key}}, inSetup(t, e, s, "SELECT (SELECT n FROM shared), total(), who()"))
		require.Equal(t, [][]string{{"7", fmt.Sprint(i + 1), key}}, inSetup(t, e, s, "SELECT (SELECT n FROM shared), total(), who()"))
	}
	require.Equal(t, 2, built)
	require.Equal(t, 1, baseBuilt, "one base file for both keys")

	s := countingSetup("k1", "CREATE TABLE facts AS SELECT 1 AS n; CREATE MACRO who() AS 'k1';", &built)
	s.Base = base
	_, err := e.QueryInSetup(context.Background(), s, "INSERT INTO strata_base.shared VALUES (8) RETURNING n", nil)
	require.Error(t, err, "the base is read-only")
	require.Equal(t, [][]string{{"1"}}, inSetup(t, e, s, "SELECT count(*) FROM shared"))

	// Another engine with the same temp directory (a restarted server) attaches the file built before.
	other, err := New(Options{TempDir: e.opts.TempDir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	bases.Delete(e.opts.TempDir + "\x00" + base.Name) // as in a new process
	require.Equal(t, [][]string{{"7"}}, inSetup(t, other, s, "SELECT n FROM shared"))
	require.Equal(t, 2, baseBuilt, "the script is asked for its digest, the file is not built again")
}

// A base file removed behind the engine's back (a temp directory cleaner) is built again.
func TestSetupBaseRemovedIsRebuilt(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	built := 0
	base := &Base{Name: "test-base-removed", Script: func() string { built++; return "CREATE TABLE shared AS SELECT 7 AS n;" }}
	for i, key := range []string{"k1", "k2"} {
		s := countingSetup(key, "", new(int))
		s.Base = base
		require.Equal(t, [][]string{{"7"}}, inSetup(t, e, s, "SELECT n FROM shared"))
		if i == 0 {
			path, err := e.basePath(context.Background(), base)
			require.NoError(t, err)
			require.NoError(t, os.Remove(path))
		}
	}
	require.Equal(t, 2, built)
}
