//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// psql runs the real psql client against the fixture and returns its output.
func (f *fixture) psql(t *testing.T, db string, args ...string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	cmd := exec.Command("/usr/bin/psql", append([]string{"-X", "-h", host, "-p", port, "-U", "analyst", "-d", db}, args...)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQLRC=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// TestCatalogPsql checks psql's describe commands print what PostgreSQL 15 prints for the same table
// (captured from a real server with psql -E), with Strata's owner and environments.
func TestCatalogPsql(t *testing.T) {
	t.Parallel()
	f := start(t)
	require.Equal(t, `                                       List of databases
 Name | Owner  | Encoding | Collate | Ctype | ICU Locale | Locale Provider | Access privileges 
------+--------+----------+---------+-------+------------+-----------------+-------------------
 dev  | strata | UTF8     | C       | C     |            | libc            | 
 prod | strata | UTF8     | C       | C     |            | libc            | 
(2 rows)

`, f.psql(t, "prod", "-c", `\l`))
	require.Equal(t, `  List of schemas
   Name   | Owner  
----------+--------
 clean    | strata
 datasets | strata
 features | strata
 public   | strata
 raw      | strata
 strata   | strata
(6 rows)

`, f.psql(t, "dev", "-c", `\dn`))
	require.Equal(t, `        List of relations
 Schema |  Name  | Type  | Owner  
--------+--------+-------+--------
 raw    | people | table | strata
(1 row)

`, f.psql(t, "dev", "-c", `\dt raw.*`))
	require.Equal(t, `                     Table "raw.people"
 Column |       Type       | Collation | Nullable | Default 
--------+------------------+-----------+----------+---------
 id     | bigint           |           |          | 
 name   | text             |           |          | 
 score  | double precision |           |          | 

`, f.psql(t, "dev", "-c", `\d raw.people`))
	require.Equal(t, `                                                Table "raw.people"
 Column |       Type       | Collation | Nullable | Default | Storage  | Compression | Stats target | Description 
--------+------------------+-----------+----------+---------+----------+-------------+--------------+-------------
 id     | bigint           |           |          |         | plain    |             |              | 
 name   | text             |           |          |         | extended |             |              | 
 score  | double precision |           |          |         | plain    |             |              | 
Access method: heap

`, f.psql(t, "dev", "-c", `\d+ raw.people`))
	require.Equal(t, `Expanded display is on.
-[ RECORD 1 ]----+-------
current_database | prod
current_schema   | public
typname          | int4

`, f.psql(t, "prod", "-c", `\x`, "-c",
		`SELECT current_database(), pg_catalog.current_schema(), (SELECT typname FROM pg_type WHERE oid = 'integer'::regtype) AS typname`))
	require.Equal(t, `            List of roles
 Role name |  Attributes  | Member of 
-----------+--------------+-----------
 analyst   |              | {}
 strata    | Cannot login | {}

`, f.psql(t, "prod", "-c", `\du`))
	require.Equal(t, `         List of relations
 Schema |   Name    | Type | Owner  
--------+-----------+------+--------
 strata | datasets  | view | strata
 strata | features  | view | strata
 strata | job_runs  | view | strata
 strata | pins      | view | strata
 strata | releases  | view | strata
 strata | snapshots | view | strata
 strata | tables    | view | strata
(7 rows)

`, f.psql(t, "prod", "-c", `\dv strata.*`))
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	out, err := exec.Command("/usr/bin/psql", "-X", "-h", host, "-p", port, "-d", "dev", "-c", `\d raw.missing`).CombinedOutput()
	require.Error(t, err) // psql exits 1, as with PostgreSQL
	require.Equal(t, "Did not find any relation named \"raw.missing\".\n", string(out))
}

// TestCatalogProdSeesOnlyReleases: prod's catalog lists no table that is in no release, and no column of a
// schema only an unpublished snapshot has; dev lists both.
func TestCatalogProdSeesOnlyReleases(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	write(t, f.svc, "prod", true, people(7)) // staged, unpublished
	writeTable(t, f.svc, "prod", "secret", true)
	writeTable(t, f.svc, "dev", "secret", false)
	evolve(t, f.svc, "prod")
	evolve(t, f.svc, "dev")

	tables := `SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1`
	columns := `SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'raw' AND c.relname = 'people' ORDER BY a.attnum`
	isColumns := `SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'people' ORDER BY ordinal_position`
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"raw.people"}, texts(t, prod, tables))
	require.Equal(t, []string{"id", "name", "score"}, texts(t, prod, columns))
	require.Equal(t, []string{"id", "name", "score"}, texts(t, prod, isColumns))
	require.Equal(t, "      List of relations\n Schema | Name | Type | Owner \n--------+------+------+-------\n(0 rows)\n\n", f.psqlQuiet(t, "prod", `\dt raw.secret`))
	dev := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, []string{"raw.people", "raw.secret"}, texts(t, dev, tables))
	require.Equal(t, []string{"id", "name", "score", "extra"}, texts(t, dev, columns))
	require.Equal(t, []string{"id", "name", "score", "extra"}, texts(t, dev, isColumns))

	// Publishing shows both in prod.
	_, err := f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, []string{"raw.people", "raw.secret"}, texts(t, prod, tables))
	require.Equal(t, []string{"id", "name", "score", "extra"}, texts(t, prod, columns))
}

func (f *fixture) psqlQuiet(t *testing.T, db, cmd string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	c := exec.Command("/usr/bin/psql", "-X", "-q", "-h", host, "-p", port, "-U", "analyst", "-d", db, "-c", cmd)
	c.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQLRC=/dev/null")
	out, _ := c.Output() // "Did not find any relation" goes to stderr
	return string(out)
}

func texts(t *testing.T, c *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// writeRows writes people rows with the given ids to dev's raw.<name>.
func writeRows(t *testing.T, f *fixture, env, name string, ids []int64) {
	t.Helper()
	rdr := people(ids...)
	defer rdr.Release()
	_, err := f.svc.Write(context.Background(), env, lake.Ident{Zone: "raw", Name: name}, rdr,
		envs.WriteOptions{CreateIfMissing: true, Actor: "test"})
	require.NoError(t, err)
}

func writeTable(t *testing.T, svc *envs.Service, env, name string, force bool) {
	t.Helper()
	rdr := people(1)
	defer rdr.Release()
	_, err := svc.Write(context.Background(), env, lake.Ident{Zone: "raw", Name: name}, rdr,
		envs.WriteOptions{CreateIfMissing: true, Force: force, Actor: "test"})
	require.NoError(t, err)
}

// evolve appends a row with a new column "extra" to raw.people (staged in prod).
func evolve(t *testing.T, svc *envs.Service, env string) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(50)
	b.Field(1).(*array.StringBuilder).Append("x")
	b.Field(2).(*array.Float64Builder).Append(1)
	b.Field(3).(*array.StringBuilder).Append("new")
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	defer rdr.Release()
	_, err := svc.Write(context.Background(), env, lake.Ident{Zone: "raw", Name: "people"}, rdr,
		envs.WriteOptions{Force: env == "prod", SchemaEvolve: true, Actor: "test"})
	require.NoError(t, err)
}
