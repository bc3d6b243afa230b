//go:build duckdb_arrow

package sqlwire

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
)

// TestUpdateSQLGivesWhatAFreshBuildHas: the session relations created from one environment and updated with
// updateSQL to another hold exactly the rows a fresh build of the other has, and only changed groups of rows
// are touched (deleted and inserted again).
func TestUpdateSQLGivesWhatAFreshBuildHas(t *testing.T) {
	catalogObjects()
	text, f8 := pgType{oidText, -1, -1}, pgType{oidFloat8, 8, -1}
	people := catRel{oid: 20001, zone: "raw", name: "people", kind: "r", rows: 3, bytes: 900,
		cols: []catCol{{name: "id", typ: pgType{oidInt8, 8, -1}, notNull: true}, {name: "name", typ: text, doc: "who"}}}
	old := &catalogEnv{env: "dev", user: "u", zones: []string{"raw", "clean"}, envNames: []string{"dev", "prod"},
		rels: []catRel{people, {oid: 20002, zone: "raw", name: "gone", kind: "r", rows: 1, cols: []catCol{{name: "x", typ: text}}}}}
	grown := people
	grown.rows, grown.bytes = 5, 1800
	grown.cols = append(append([]catCol{}, people.cols...), catCol{name: "score", typ: f8, doc: "it's new"})
	next := &catalogEnv{env: "dev", user: "u", zones: []string{"raw", "clean", "features"}, envNames: []string{"dev", "prod"},
		rels: []catRel{grown, {oid: 20003, zone: "features", name: "fresh", kind: "r", rows: 2, cols: []catCol{{name: "y", typ: f8}}}}}
	rowsOf := func(e *catalogEnv) map[string][][]string {
		out := map[string][][]string{}
		for n, rows := range sessionRows {
			if n != "pg_settings" {
				out[n] = rows(e)
			}
		}
		return out
	}
	before, after := rowsOf(old), rowsOf(next)
	update := updateSQL(sums(before), after)
	require.Contains(t, update, "DELETE FROM pg_class WHERE oid IN ('20001', '20002');")
	require.NotContains(t, update, "pg_database", "unchanged relations are left alone")
	require.NotContains(t, update, "pg_roles")
	require.Empty(t, updateSQL(sums(after), after))

	eng, err := engine.New(engine.Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, eng.Close()) }()
	dump := func(setup string) string {
		t.Helper()
		var b strings.Builder
		for _, n := range sortedKeys(after) {
			res, err := eng.Query(context.Background(), setup+"SELECT * FROM "+n+" ORDER BY ALL", nil)
			require.NoError(t, err, n)
			for res.Next() {
				rec := res.RecordBatch()
				for i := 0; i < int(rec.NumRows()); i++ {
					b.WriteString(n)
					for _, col := range rec.Columns() {
						b.WriteString("|" + cell(col, i))
					}
					b.WriteString("\n")
				}
			}
			require.NoError(t, res.Err())
			require.NoError(t, res.Close())
		}
		return b.String()
	}
	create := func(rows map[string][][]string) string {
		var b strings.Builder
		for _, n := range sortedKeys(rows) {
			(&catTable{name: n, cols: sessionRelations[n], rows: rows[n]}).createSQL(&b)
		}
		return b.String()
	}
	fresh := dump(create(after))
	require.Contains(t, fresh, "it's new")
	require.Equal(t, fresh, dump(create(before)+update))
}

func cell(col interface {
	IsNull(int) bool
	ValueStr(int) string
}, i int) string {
	if col.IsNull(i) {
		return "NULL"
	}
	return col.ValueStr(i)
}

// TestGuardedUpdateRefusesOtherRows: a database built under a key from other rows than the update was computed
// from (a write landed between two builders' key and rows) is not updated: the update fails, the engine
// retires the database, and the next statement builds the key's own.
func TestGuardedUpdateRefusesOtherRows(t *testing.T) {
	catalogObjects()
	eng, err := engine.New(engine.Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, eng.Close()) }()
	ctx := context.Background()
	envOf := func(zones ...string) *builtCatalog {
		return built(engine.Setup{Key: strings.Join(zones, ",")}, catalogObjects(), map[string]bool{"pg_namespace": true}, &catalogEnv{zones: zones})
	}
	recorded, actual, next := envOf("raw"), envOf("raw", "clean"), envOf("raw", "features")
	builds := 0
	setup := func(b *builtCatalog) engine.Setup {
		return engine.Setup{Key: "k", Script: func() (string, error) {
			builds++
			var s strings.Builder
			(&catTable{name: "pg_namespace", cols: sessionRelations["pg_namespace"], rows: b.rows["pg_namespace"]}).createSQL(&s)
			return s.String() + b.stateSQL(), nil
		}}
	}
	count := func(s engine.Setup) string {
		res, err := eng.QueryInSetup(ctx, s, "SELECT count(*) FROM pg_namespace", nil)
		require.NoError(t, err)
		defer func() { require.NoError(t, res.Close()) }()
		require.True(t, res.Next())
		n := res.RecordBatch().Column(0).ValueStr(0)
		require.False(t, res.Next()) // read to the end: the database goes back to the pool
		return n
	}
	require.Equal(t, "6", count(setup(actual)), "pg_catalog, public, information_schema, strata, raw, clean")
	to := engine.Setup{Key: "k2"}
	moved, err := eng.RekeySetup(ctx, engine.Setup{Key: "k"}, to, nil, next.guardedUpdate(recorded))
	require.ErrorContains(t, err, "the catalog database holds other rows")
	require.False(t, moved)
	require.Equal(t, 0, eng.Pooled(), "the database is retired")

	require.Equal(t, "6", count(setup(actual)))
	moved, err = eng.RekeySetup(ctx, engine.Setup{Key: "k"}, to, nil, next.guardedUpdate(actual))
	require.NoError(t, err)
	require.True(t, moved)
	to.Script = setup(next).Script
	require.Equal(t, "6", count(to), "raw, features")
	require.Equal(t, 2, builds)
}
