//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/sqlwire"
)

// catalogCounts starts the endpoint counting the catalog databases it builds (the long-lived ones) and the
// ones it updates in place after a change.
func catalogCounts(t *testing.T) (f *fixture, eng *engine.Engine, builds, rekeys *atomic.Int64) {
	builds, rekeys = &atomic.Int64{}, &atomic.Int64{}
	f = startWith(t, func(o *sqlwire.Options) { eng = o.Engine }, sqlwire.OnCatalogBuild(func(pooled bool) {
		if pooled {
			builds.Add(1)
		}
	}), sqlwire.OnCatalogRekey(func() { rekeys.Add(1) }))
	return f, eng, builds, rekeys
}

// TestCatalogAfterAWriteUpdatesThePooledDatabase: after a session's CREATE TABLE AS and INSERT, and writes
// from elsewhere (more rows, a new column, a dropped table), the next catalog statement shows the change at
// once from the catalog database the session already had, updated in place: no new one is built.
func TestCatalogAfterAWriteUpdatesThePooledDatabase(t *testing.T) {
	t.Parallel()
	f, eng, builds, rekeys := catalogCounts(t)
	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	columns := "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'raw' ORDER BY 1"
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, dev, relations))
	waitPooled(t, eng)
	require.Equal(t, int64(1), builds.Load())

	exec := func(sql string) {
		t.Helper()
		_, err := simple(t, dev, sql)
		require.NoError(t, err, sql)
	}
	exec("CREATE TABLE raw.copies AS SELECT id, name FROM raw.people WHERE id <= 2")
	require.Equal(t, []string{"copies 2 id,name", "people 3 id,name,score"}, texts(t, dev, relations), "a new table")
	require.Equal(t, []string{"copies.id", "copies.name", "people.id", "people.name", "people.score"}, texts(t, dev, columns))
	exec("INSERT INTO raw.copies SELECT id, name FROM raw.people WHERE id = 3")
	require.Equal(t, []string{"copies 3 id,name", "people 3 id,name,score"}, texts(t, dev, relations), "more rows")
	evolve(t, f.svc, "dev")
	require.Equal(t, []string{"copies 3 id,name", "people 4 id,name,score,extra"}, texts(t, dev, relations), "a new column")
	require.Equal(t, []string{"copies.id", "copies.name", "people.extra", "people.id", "people.name", "people.score"},
		texts(t, dev, columns))
	exec("DROP TABLE raw.copies")
	require.Equal(t, []string{"people 4 id,name,score,extra"}, texts(t, dev, relations), "a dropped table")
	require.Equal(t, []string{"people.extra", "people.id", "people.name", "people.score"}, texts(t, dev, columns))
	require.Equal(t, int64(1), builds.Load(), "no catalog database was built after the first")
	require.Equal(t, int64(4), rekeys.Load(), "one update per change")

	// Another session that sees the same environment reads the updated database too.
	other := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 4 id,name,score,extra"}, texts(t, other, relations))
	require.Equal(t, int64(1), builds.Load())
}

// TestCatalogUpdateKeepsEachSessionsOwnCatalog: a session reading its catalog while a write lands keeps the
// rows it started with (its database is not idle, so it is not updated under it), and a session with other
// time travel keeps its own catalog: each family's database is updated from its own rows.
func TestCatalogUpdateKeepsEachSessionsOwnCatalog(t *testing.T) {
	t.Parallel()
	f, eng, builds, rekeys := catalogCounts(t)
	ctx := context.Background()
	before := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	writeRows(t, f, "dev", "visits", []int64{1})
	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	past := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	_, err := past.Exec(ctx, "SET strata.as_of = '"+before.Format(time.RFC3339Nano)+"'")
	require.NoError(t, err)
	require.Equal(t, []string{"people 3 id,name,score", "visits 1 id,name,score"}, texts(t, dev, relations))
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, past, relations), "visits did not exist then")
	require.Eventually(t, func() bool { return eng.Pooled() >= 2 }, 30*time.Second, 5*time.Millisecond)
	require.Equal(t, int64(2), builds.Load())

	// dev holds its catalog database open in a cursor while a write lands.
	_, err = simple(t, dev, "BEGIN")
	require.NoError(t, err)
	_, err = simple(t, dev, "DECLARE rels CURSOR FOR "+relations)
	require.NoError(t, err)
	res, err := simple(t, dev, "FETCH 1 FROM rels")
	require.NoError(t, err)
	require.Equal(t, "people 3 id,name,score", string(res[0].Rows[0][0]))
	writeRows(t, f, "dev", "visits", []int64{2, 3})

	now := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 3 id,name,score", "visits 3 id,name,score"}, texts(t, now, relations))
	res, err = simple(t, dev, "FETCH ALL FROM rels")
	require.NoError(t, err)
	require.Equal(t, "visits 1 id,name,score", string(res[0].Rows[0][0]), "the cursor's catalog is the one it started with")
	_, err = simple(t, dev, "COMMIT")
	require.NoError(t, err)
	require.Equal(t, []string{"people 3 id,name,score", "visits 3 id,name,score"}, texts(t, dev, relations))
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, past, relations), "the past stays the past")
	require.Equal(t, int64(3), builds.Load(), "the busy database was not updated under the cursor: one more build")
	require.Equal(t, int64(1), rekeys.Load(), "the past's database was updated")

	// Both families updated in place at the next write.
	writeRows(t, f, "dev", "visits", []int64{4})
	require.Equal(t, []string{"people 3 id,name,score", "visits 4 id,name,score"}, texts(t, dev, relations))
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, past, relations))
	require.Equal(t, int64(3), builds.Load())
	require.Equal(t, int64(3), rekeys.Load())
}

// TestProdCatalogIsUpdatedByAPublish: a staged prod write keeps prod's catalog key; the publish that makes it
// visible updates prod's catalog database in place.
func TestProdCatalogIsUpdatedByAPublish(t *testing.T) {
	t.Parallel()
	f, eng, builds, rekeys := catalogCounts(t)
	ctx := context.Background()
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations))
	waitPooled(t, eng)
	writeTable(t, f.svc, "prod", "staged", true)
	require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations))
	require.Equal(t, int64(0), rekeys.Load(), "a staged write changes nothing prod shows")
	_, err := f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"people 3 id,name,score", "staged 1 id,name,score"}, texts(t, prod, relations), "the release shows what was staged")
	require.Equal(t, int64(1), builds.Load())
	require.Equal(t, int64(1), rekeys.Load())
}
