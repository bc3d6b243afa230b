//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/sqlwire"
)

// startCatalog is start, also returning the endpoint's engine (to count its pooled databases).
func startCatalog(t *testing.T) (*fixture, *engine.Engine) {
	var eng *engine.Engine
	f := startWith(t, func(o *sqlwire.Options) { eng = o.Engine })
	return f, eng
}

// waitPooled waits until the engine's pool holds a database: the catalog database the first catalog statement
// built goes back to the pool once its result is read.
func waitPooled(t *testing.T, eng *engine.Engine) {
	t.Helper()
	require.Eventually(t, func() bool { return eng.Pooled() >= 1 }, 30*time.Second, 5*time.Millisecond)
}

// relations lists the raw zone's tables with their row counts and columns, from pg_class and pg_attribute.
const relations = `SELECT c.relname || ' ' || CAST(CAST(c.reltuples AS bigint) AS text) || ' ' ||
	coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid), '')
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'raw' ORDER BY 1`

// TestCatalogDatabaseIsReusedAndNeverStale: catalog statements run in one pooled catalog database while
// nothing they show changes, and a new table, a new snapshot, a new column and a release publish are each
// visible to the very next catalog statement.
func TestCatalogDatabaseIsReusedAndNeverStale(t *testing.T) {
	t.Parallel()
	f, eng := startCatalog(t)
	ctx := context.Background()
	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, dev, relations))
	waitPooled(t, eng)
	pooled := eng.Pooled()
	// Other catalog statements (psql's, pgjdbc's) run in the same database: nothing new is pooled.
	for range 3 {
		require.Equal(t, []string{"people 3 id,name,score"}, texts(t, dev, relations))
		require.Equal(t, []string{"integer"}, texts(t, dev, "SELECT pg_catalog.format_type(23, -1)"))
		require.Equal(t, []string{"numeric"}, texts(t, dev, "SELECT typname FROM pg_catalog.pg_type WHERE oid = 1700"))
		require.Equal(t, pooled, eng.Pooled())
	}
	// Another session with the same view of the environment shares it.
	other := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, other, relations))
	require.Equal(t, pooled, eng.Pooled())

	writeRows(t, f, "dev", "visits", []int64{1})
	require.Equal(t, []string{"people 3 id,name,score", "visits 1 id,name,score"}, texts(t, dev, relations), "a new table")
	rdr := people(7, 8)
	_, err := f.svc.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, rdr, envs.WriteOptions{Mode: envs.Append, Actor: "test"})
	rdr.Release()
	require.NoError(t, err)
	require.Equal(t, []string{"people 5 id,name,score", "visits 1 id,name,score"}, texts(t, dev, relations), "a new snapshot")
	evolve(t, f.svc, "dev")
	require.Equal(t, []string{"people 6 id,name,score,extra", "visits 1 id,name,score"}, texts(t, dev, relations), "a new column")
	require.Equal(t, []string{"id", "name", "score", "extra"},
		texts(t, dev, "SELECT column_name FROM information_schema.columns WHERE table_name = 'people' ORDER BY ordinal_position"))

	// prod: a staged write and a staged table show only once a release publishes them.
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations))
	writeTable(t, f.svc, "prod", "staged", true)
	require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations))
	_, err = f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"people 3 id,name,score", "staged 1 id,name,score"}, texts(t, prod, relations), "a release publish")
}

// TestCatalogOfAnUnchangedLakeReadsNoMetadataFiles: while nothing changed, a catalog statement is keyed from
// the metadata database alone — with the tables' metadata directories moved away it still answers from its
// pooled catalog database, in dev and in prod — and the next change is still visible at once.
func TestCatalogOfAnUnchangedLakeReadsNoMetadataFiles(t *testing.T) {
	t.Parallel()
	f, eng := startCatalog(t)
	ctx := context.Background()
	want := map[string][]string{"dev": {"people 3 id,name,score"}, "prod": {"people 2 id,name,score"}}
	conns := map[string]*pgx.Conn{}
	for _, env := range []string{"dev", "prod"} {
		conns[env] = f.connect(t, env, pgx.QueryExecModeSimpleProtocol)
		require.Equal(t, want[env], texts(t, conns[env], relations))
	}
	require.Eventually(t, func() bool { return eng.Pooled() >= 2 }, 30*time.Second, 5*time.Millisecond)
	var dirs []string
	for _, env := range []string{"dev", "prod"} {
		info, err := f.svc.Lake().Describe(ctx, env, lake.Ident{Zone: "raw", Name: "people"})
		require.NoError(t, err)
		dir := filepath.Dir(strings.TrimPrefix(info.MetadataLocation, "file://"))
		require.NoError(t, os.Rename(dir, dir+".away"))
		dirs = append(dirs, dir)
	}
	for _, env := range []string{"dev", "prod"} {
		require.Equal(t, want[env], texts(t, conns[env], relations), "%s: no metadata file is read", env)
		require.Equal(t, []string{"integer"}, texts(t, conns[env], "SELECT pg_catalog.format_type(23, -1)"))
	}
	for _, dir := range dirs {
		require.NoError(t, os.Rename(dir+".away", dir))
	}
	rdr := people(7)
	_, err := f.svc.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, rdr, envs.WriteOptions{Mode: envs.Append, Actor: "test"})
	rdr.Release()
	require.NoError(t, err)
	require.Equal(t, []string{"people 4 id,name,score"}, texts(t, conns["dev"], relations), "a write is visible at the next statement")
}

// TestCatalogGrantChangeIsVisible: users with different grants never share a catalog database, and a grant
// changed by an admin shows in the user's next session.
func TestCatalogGrantChangeIsVisible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := startAuth(t, "127.0.0.1")
	require.NoError(t, f.users.AddUser(ctx, "ana", "ana-password", []auth.Grant{{Env: "dev", Role: auth.Viewer}}))
	require.NoError(t, f.users.AddUser(ctx, "bob", "bob-password", []auth.Grant{{Env: "dev", Role: auth.Viewer},
		{Env: "prod", Role: auth.Viewer}}))
	databases := "SELECT datname FROM pg_catalog.pg_database ORDER BY 1"
	for range 2 { // the second round runs in pooled databases
		ana, err := f.connect("ana", "ana-password", "dev")
		require.NoError(t, err)
		require.Equal(t, "dev", rowsText(t, ana, databases))
		require.NoError(t, ana.Close(ctx))
		bob, err := f.connect("bob", "bob-password", "dev")
		require.NoError(t, err)
		require.Equal(t, "dev; prod", rowsText(t, bob, databases))
		require.NoError(t, bob.Close(ctx))
	}
	require.NoError(t, f.users.Grant(ctx, "ana", auth.Grant{Env: "prod", Role: auth.Viewer}))
	ana, err := f.connect("ana", "ana-password", "dev")
	require.NoError(t, err)
	require.Equal(t, "dev; prod", rowsText(t, ana, databases))
	require.NoError(t, ana.Close(ctx))
}

// TestCatalogStatementsCannotChangeItForOthers: whatever a session sends — DuckDB DDL, settings, writes
// into the emulated catalog's tables through a CTE, with or without parameters — the catalog another
// session (and the same one) sees next is unchanged.
func TestCatalogStatementsCannotChangeItForOthers(t *testing.T) {
	t.Parallel()
	f, eng := startCatalog(t)
	ctx := context.Background()
	probe := `SELECT (SELECT count(*) FROM pg_catalog.pg_class) || ' ' || (SELECT count(*) FROM pg_catalog.pg_type) || ' ' ||
		pg_catalog.format_type(23, -1) || ' ' || pg_catalog.pg_table_is_visible(1259)`
	observer := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	want := texts(t, observer, probe)
	require.Len(t, want, 1)
	require.True(t, strings.HasSuffix(want[0], " integer true"), want[0])

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		attacker := f.connect(t, "dev", mode)
		for _, sql := range []string{
			"CREATE TEMP MACRO format_type(a, b) AS 'hacked'",
			"CREATE OR REPLACE MACRO pg_table_is_visible(x) AS false",
			"CREATE TEMP TABLE pg_class AS SELECT 1 AS oid",
			"CREATE OR REPLACE TABLE pg_type AS SELECT 1 AS oid",
			"DROP TABLE pg_class",
			"SET lock_configuration = false",
			"WITH x AS (SELECT 1) INSERT INTO pg_class SELECT * FROM pg_class",
			"WITH x AS (SELECT 1) DELETE FROM pg_type",
			"WITH x AS (SELECT 1) UPDATE pg_type SET typname = 'hacked'",
			"SELECT pg_catalog.format_type(23, -1); DELETE FROM pg_type",
		} {
			waitPooled(t, eng)             // the statement runs in the pooled catalog database
			_, _ = attacker.Exec(ctx, sql) // refused, or undone: either way nobody sees it
			require.Equal(t, want, texts(t, observer, probe), sql)
			require.Equal(t, want, texts(t, attacker, probe), sql)
		}
		// With a parameter the statement runs as PREPARE/EXECUTE, whose write DuckDB does not report.
		for _, sql := range []string{
			"WITH x AS (SELECT CAST($1 AS int) AS v) INSERT INTO pg_class SELECT * FROM pg_class",
			"WITH x AS (SELECT CAST($1 AS int) AS v) DELETE FROM pg_type WHERE oid > (SELECT v FROM x)",
			"WITH x AS (SELECT CAST($1 AS int) AS v) UPDATE pg_type SET typname = 'hacked' WHERE oid > (SELECT v FROM x)",
		} {
			waitPooled(t, eng)
			_, _ = attacker.Exec(ctx, sql, 0)
			require.Equal(t, want, texts(t, observer, probe), sql)
			require.Equal(t, want, texts(t, attacker, probe), sql)
		}
	}
}

// TestCatalogFollowsAsOf: under strata.as_of / strata.snapshot the catalog shows the tables and columns of
// that time, as data queries read them; psql's \d too.
func TestCatalogFollowsAsOf(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	p, err := f.svc.Resolve(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, lake.SnapshotRef{})
	require.NoError(t, err)
	first := p.SnapshotID
	before := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	evolve(t, f.svc, "dev")
	writeRows(t, f, "dev", "visits", []int64{1})

	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	run := func(sql string) {
		_, err := dev.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	require.Equal(t, []string{"people 4 id,name,score,extra", "visits 1 id,name,score"}, texts(t, dev, relations))
	run("SET strata.as_of = '" + before.Format(time.RFC3339Nano) + "'")
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, dev, relations), "visits did not exist then")
	require.Equal(t, []string{"id", "name", "score"},
		texts(t, dev, "SELECT column_name FROM information_schema.columns WHERE table_name = 'people' ORDER BY ordinal_position"))
	var n int64
	require.NoError(t, dev.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
	require.Equal(t, int64(3), n, "data and catalog agree")
	run("RESET strata.as_of")
	run(fmt.Sprintf("SET strata.snapshot = 'raw.people@%d'", first))
	require.Equal(t, []string{"people 3 id,name,score", "visits 1 id,name,score"}, texts(t, dev, relations))
	run("SET strata.snapshot = ''")
	require.Equal(t, []string{"people 4 id,name,score,extra", "visits 1 id,name,score"}, texts(t, dev, relations))

	// prod: release 1 pins raw.people before the column was added there.
	evolve(t, f.svc, "prod")
	_, err = f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 4 id,name,score,extra"}, texts(t, prod, relations))
	_, err = prod.Exec(ctx, "SET strata.as_of = 'release 1'")
	require.NoError(t, err)
	require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations))

	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	psql := func(cmds ...string) string {
		args := []string{"-X", "-q", "-h", host, "-p", port, "-U", "analyst", "-d", "dev"}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		c := exec.Command("/usr/bin/psql", args...)
		c.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQLRC=/dev/null")
		out, err := c.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	now := psql(`\d raw.people`)
	require.Contains(t, now, " extra  | text")
	then := psql("SET strata.as_of = '"+before.Format(time.RFC3339Nano)+"'", `\d raw.people`)
	require.Contains(t, then, " score  | double precision")
	require.NotContains(t, then, "extra")
}

// TestCatalogFormatTypeMatchesPostgres: format_type (a constant map since it left its subqueries) names every
// built-in type, with and without typmods, as PostgreSQL 15 does.
func TestCatalogFormatTypeMatchesPostgres(t *testing.T) {
	t.Parallel()
	f := start(t)
	pg := connectPostgres(t)
	strata := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	oids := texts(t, strata, "SELECT CAST(oid AS text) FROM pg_catalog.pg_type ORDER BY oid")
	require.Greater(t, len(oids), 100)
	query := "SELECT t.oid::text || ' ' || pg_catalog.format_type(t.oid, NULL) || ' ' || pg_catalog.format_type(t.oid, -1) " +
		"FROM pg_catalog.pg_type t WHERE t.oid IN (" + strings.Join(oids, ", ") + ") ORDER BY t.oid"
	require.Equal(t, texts(t, pg, query), texts(t, strata, query))
	typmods := "SELECT pg_catalog.format_type(1043, 14) || ' ' || pg_catalog.format_type(1015, 14) || ' ' || " +
		"pg_catalog.format_type(1042, 5) || ' ' || pg_catalog.format_type(1700, 655366) || ' ' || " +
		"pg_catalog.format_type(1231, 655366) || ' ' || pg_catalog.format_type(1700, -1) || ' ' || coalesce(pg_catalog.format_type(NULL, 1), 'null')"
	require.Equal(t, texts(t, pg, typmods), texts(t, strata, typmods))
}

// TestColumnOriginsOfJoins: in a query over several lake tables, a field that is a plain column of one of
// them carries that table's OID and the column's attnum (as pg_attribute has them); others carry 0.
func TestColumnOriginsOfJoins(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	writeRows(t, f, "dev", "visits", []int64{1, 2})
	evolve(t, f.svc, "dev") // raw.people gets a 4th column, extra
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheDescribe} {
		c := f.connect(t, "dev", mode)
		attr := func(table, col string) string {
			var oid uint32
			var num int16
			require.NoError(t, c.QueryRow(ctx, `SELECT a.attrelid, a.attnum FROM pg_catalog.pg_attribute a
				JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = $1 AND a.attname = $2`, table, col).Scan(&oid, &num))
			return fmt.Sprintf("%d/%d", oid, num)
		}
		origins := func(sql string, args ...any) []string {
			rows, err := c.Query(ctx, sql, args...)
			require.NoError(t, err, sql)
			defer rows.Close()
			var out []string
			for _, fd := range rows.FieldDescriptions() {
				out = append(out, fmt.Sprintf("%d/%d", fd.TableOID, fd.TableAttributeNumber))
			}
			for rows.Next() {
			}
			require.NoError(t, rows.Err())
			return out
		}
		people := func(col string) string { return attr("people", col) }
		visits := func(col string) string { return attr("visits", col) }
		require.Equal(t, []string{people("id"), visits("name"), people("score"), "0/0", "0/0", people("extra")},
			origins(`SELECT p.id, v.name AS visitor, p.score, 1 AS one, upper(v.name), extra
				FROM raw.people p JOIN raw.visits v ON v.id = p.id`), mode)
		require.Equal(t, []string{visits("id"), visits("name"), visits("score"), people("id")},
			origins(`SELECT v.*, p.id FROM raw.visits v, raw.people AS p WHERE p.id = v.id AND v.id > $1`, 0), mode)
		require.Equal(t, []string{people("id"), people("name"), people("score"), people("extra"), visits("id"), visits("name"), visits("score")},
			origins(`SELECT * FROM raw.people JOIN raw.visits ON raw.people.id = raw.visits.id`), mode)
		require.Equal(t, []string{visits("name"), people("score")},
			origins(`SELECT raw.visits.name, people.score FROM raw.people JOIN raw.visits ON raw.people.id = raw.visits.id`), mode)
		// Unknown origins stay 0: a merged USING column, a derived table, a name both tables have.
		require.Equal(t, []string{"0/0", people("name")},
			origins(`SELECT id, p.name FROM raw.people p JOIN raw.visits v USING (id)`), mode)
		require.Equal(t, []string{"0/0", "0/0"},
			origins(`SELECT s.id, s.n FROM (SELECT p.id, v.name AS n FROM raw.people p JOIN raw.visits v ON v.id = p.id) s`), mode)
		// One table, as before: fields named as its columns.
		require.Equal(t, []string{people("name"), "0/0"}, origins(`SELECT name, id + 1 FROM raw.people`), mode)
	}
}

// TestCatalogSessionSettingsStayPerSession: sessions that SET different things share the catalog database,
// and each still reads its own settings through pg_settings and current_setting.
func TestCatalogSessionSettingsStayPerSession(t *testing.T) {
	t.Parallel()
	f, eng := startCatalog(t)
	ctx := context.Background()
	a := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	b := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, a, relations))
	waitPooled(t, eng)
	pooled := eng.Pooled()
	for name, c := range map[string]*pgx.Conn{"alpha": a, "beta": b} {
		_, err := c.Exec(ctx, "SET application_name = '"+name+"'")
		require.NoError(t, err)
	}
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, b, relations))
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, a, relations))
	require.Equal(t, pooled, eng.Pooled(), "a setting does not change the catalog database")
	for name, c := range map[string]*pgx.Conn{"alpha": a, "beta": b} {
		require.Equal(t, []string{name}, texts(t, c, "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'application_name'"))
		require.Equal(t, []string{name}, texts(t, c, "SELECT current_setting('application_name')"))
	}
}

// TestColumnOriginsFollowEachSessionsSchemaVersion: two sessions read one table at two schema versions (one
// under strata.as_of from before a write that replaced its columns), concurrently; each RowDescription's table
// OID and attnums are those of its own session's pg_attribute.
func TestColumnOriginsFollowEachSessionsSchemaVersion(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	before := time.Now()
	time.Sleep(20 * time.Millisecond)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Float64Builder).Append(2.5)
	b.Field(1).(*array.Int64Builder).Append(9)
	rec := b.NewRecordBatch()
	b.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rec.Release()
	_, err = f.svc.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, rdr,
		envs.WriteOptions{Mode: envs.Overwrite, ReplaceSchema: true, Actor: "test"})
	rdr.Release()
	require.NoError(t, err)

	old := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	_, err = old.Exec(ctx, "SET strata.as_of = '"+before.Format(time.RFC3339Nano)+"'")
	require.NoError(t, err)
	cur := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	const attrs = `SELECT CAST(c.oid AS text) || ' ' || a.attname || ' ' || CAST(a.attnum AS text) FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = 'people' AND a.attname IN ('id', 'score') ORDER BY a.attname`
	want := map[*pgx.Conn][]string{}
	for _, c := range []*pgx.Conn{old, cur} {
		want[c] = texts(t, c, attrs)
	}
	require.NotEqual(t, want[old], want[cur], "the two versions number score differently")

	var wg sync.WaitGroup
	for _, c := range []*pgx.Conn{old, cur} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				rows, err := c.Query(ctx, "SELECT id, score FROM raw.people")
				if !assert.NoError(t, err) {
					return
				}
				var got []string
				for _, fd := range rows.FieldDescriptions() {
					got = append(got, fmt.Sprintf("%d %s %d", fd.TableOID, fd.Name, fd.TableAttributeNumber))
				}
				rows.Close()
				sort.Strings(got)
				if !assert.Equal(t, want[c], got) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestBoundColumnsArePerSession: two sessions with the same view of dev (no time travel) run a join of
// raw.people; a column is added to raw.people between the first session's bind and its RowDescription, and
// the second session reads the new version meanwhile. Each RowDescription's table OIDs and attnums are those
// of the table version its own statement read, and each is a column of pg_attribute in its own session.
func TestBoundColumnsArePerSession(t *testing.T) {
	t.Parallel()
	const join = "SELECT * FROM raw.people p JOIN raw.visits v ON v.id = p.id"
	const first = join + " WHERE 'first' = 'first'"
	bound, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f := start(t, sqlwire.AfterBind(func(sql string) {
		if strings.Contains(sql, "'first'") {
			once.Do(func() { close(bound); <-resume })
		}
	}))
	writeRows(t, f, "dev", "visits", []int64{1, 2})
	a := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	b := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	origins := func(c *pgx.Conn, sql string) ([]string, error) {
		rows, err := c.Query(context.Background(), sql)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for _, fd := range rows.FieldDescriptions() {
			out = append(out, fmt.Sprintf("%d %s %d", fd.TableOID, fd.Name, fd.TableAttributeNumber))
		}
		for rows.Next() {
		}
		return out, rows.Err()
	}
	type answer struct {
		fields []string
		err    error
	}
	firstDone := make(chan answer, 1)
	go func() {
		fields, err := origins(a, first)
		firstDone <- answer{fields, err}
	}()
	select {
	case <-bound:
	case <-time.After(30 * time.Second):
		t.Fatal("the first statement never bound its tables")
	}
	evolve(t, f.svc, "dev") // raw.people gets a column "extra"
	got := map[*pgx.Conn][]string{}
	var err error
	got[b], err = origins(b, join)
	close(resume)
	require.NoError(t, err)
	ans := <-firstDone
	require.NoError(t, ans.err)
	got[a] = ans.fields
	require.Len(t, got[a], 6, "the first statement read raw.people before the new column")
	require.Len(t, got[b], 7, "the second read it after")

	const attrs = `SELECT CAST(a.attrelid AS text) || ' ' || a.attname || ' ' || CAST(a.attnum AS text)
		FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname IN ('people', 'visits')`
	for _, c := range []*pgx.Conn{a, b} {
		inCatalog := map[string]bool{}
		for _, s := range texts(t, c, attrs) {
			inCatalog[s] = true
		}
		for _, fd := range got[c] {
			require.True(t, inCatalog[fd], "field %q (table OID, name, attnum) is a column of pg_attribute: %q", fd, got[c])
		}
	}
	require.Contains(t, got[b], strings.Fields(got[b][0])[0]+" extra 4", "the second session's raw.people has the new column")
}

// TestProdCatalogIsKeptAcrossStagedWrites: staged prod writes (more rows, a new column, a new table) change
// nothing prod's readers see, so prod's catalog statements keep running in the catalog database they already
// had, and show nothing staged; the release that publishes the writes is visible at the next statement.
func TestProdCatalogIsKeptAcrossStagedWrites(t *testing.T) {
	t.Parallel()
	var builds atomic.Int64
	var eng *engine.Engine
	f := startWith(t, func(o *sqlwire.Options) { eng = o.Engine }, sqlwire.OnCatalogBuild(func(pooled bool) {
		if pooled {
			builds.Add(1)
		}
	}))
	ctx := context.Background()
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	columns := "SELECT column_name FROM information_schema.columns WHERE table_name = 'people' ORDER BY ordinal_position"
	require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations))
	waitPooled(t, eng)
	require.Equal(t, int64(1), builds.Load())

	write(t, f.svc, "prod", true, people(200))
	writeTable(t, f.svc, "prod", "staged", true)
	evolve(t, f.svc, "prod")
	for range 2 {
		require.Equal(t, []string{"people 2 id,name,score"}, texts(t, prod, relations), "nothing staged shows")
		require.Equal(t, []string{"id", "name", "score"}, texts(t, prod, columns))
	}
	require.Equal(t, int64(1), builds.Load(), "staged writes build no catalog database")

	_, err := f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"people 5 id,name,score,extra", "staged 1 id,name,score"}, texts(t, prod, relations), "a release publish")
	require.Equal(t, []string{"id", "name", "score", "extra"}, texts(t, prod, columns))
	require.Equal(t, int64(1), builds.Load(), "the publish updated prod's catalog database in place (catalog_rekey.go)")
}

// TestSessionViewsRunInThePooledCatalog: pg_tables and information_schema's views, named as relations with
// or without an alias, joined, or qualifying a column, answer from the pooled catalog database (their bodies
// are part of the statement, not views of that database); named elsewhere (a comma join) they still answer.
func TestSessionViewsRunInThePooledCatalog(t *testing.T) {
	t.Parallel()
	var builds, fresh atomic.Int64
	var eng *engine.Engine
	f := startWith(t, func(o *sqlwire.Options) { eng = o.Engine }, sqlwire.OnCatalogBuild(func(pooled bool) {
		if pooled {
			builds.Add(1)
		} else {
			fresh.Add(1)
		}
	}))
	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"people 3 id,name,score"}, texts(t, dev, relations))
	waitPooled(t, eng)
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'", []string{"people"}},
		{"SELECT c.column_name FROM information_schema.columns c WHERE c.table_name = 'people' ORDER BY c.ordinal_position",
			[]string{"id", "name", "score"}},
		{"SELECT information_schema.columns.column_name FROM information_schema.columns " +
			"WHERE information_schema.columns.table_name = 'people' ORDER BY 1", []string{"id", "name", "score"}},
		{"SELECT t.table_name || '.' || c.column_name || ' ' || c.data_type FROM information_schema.tables t " +
			"JOIN information_schema.columns AS c ON c.table_name = t.table_name WHERE t.table_schema = 'raw' ORDER BY c.ordinal_position",
			[]string{"people.id bigint", "people.name text", "people.score double precision"}},
		{"SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'raw'", []string{"people"}},
		{"SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'raw'", []string{"raw"}},
		{"SELECT count(*) FILTER (WHERE viewname IS NOT NULL)::text FROM pg_views WHERE schemaname = 'raw'", []string{"0"}},
	} {
		require.Equal(t, c.want, texts(t, dev, c.sql), c.sql)
	}
	require.Equal(t, int64(1), builds.Load(), "every statement ran in the pooled catalog database")
	require.Equal(t, int64(0), fresh.Load(), "no statement needed a fresh database")
	require.Equal(t, []string{"3"}, texts(t, dev, "SELECT count(*)::text FROM information_schema.tables t, information_schema.columns c "+
		"WHERE c.table_name = t.table_name AND t.table_name = 'people'"), "a comma join: a fresh database with the views")
	require.Equal(t, int64(1), fresh.Load())
}

// connectPostgres connects to the test PostgreSQL, the peer whose catalog answers Strata's must match.
func connectPostgres(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close(ctx) })
	return pg
}
