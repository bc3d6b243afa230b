//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/sqlwire"
)

// TestCatalogFunctions checks the catalog functions and casts clients call, with PostgreSQL's answers, in the
// simple and the extended protocol.
func TestCatalogFunctions(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeDescribeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			c := f.connect(t, "prod", mode)
			one := func(sql string) string {
				t.Helper()
				var s string
				require.NoError(t, c.QueryRow(context.Background(), "SELECT CAST(("+sql+") AS VARCHAR)").Scan(&s), sql)
				return s
			}
			for sql, want := range map[string]string{
				"select pg_catalog.version()":                     "PostgreSQL 15.0 (Strata) on x86_64-pc-linux-gnu, compiled by Go, 64-bit",
				"current_schema()":                                "public",
				"pg_catalog.current_schemas(true)[1]":             "pg_catalog",
				"array_to_string(current_schemas(false), ',')":    "public",
				"current_database()":                              "prod",
				"current_user":                                    "tester",
				"(SELECT session_user FROM pg_namespace LIMIT 1)": "tester",
				"pg_catalog.pg_get_userbyid(10)":                  "strata",
				"format_type(1700, (12 << 16 | 2) + 4)":           "numeric(12,2)",
				"format_type(1007, -1)":                           "integer[]",
				"format_type(1043, 68)":                           "character varying(64)",
				"format_type(1184, NULL)":                         "timestamp with time zone",
				"'pg_class'::regclass::oid":                       "1259",
				"'pg_catalog.pg_namespace'::pg_catalog.regclass":  "2615",
				"'raw.people'::regclass::text":                    "raw.people",
				"(SELECT c.oid::regclass::text FROM pg_class c WHERE relname = 'people')": "raw.people",
				"'int4'::regtype::oid":                                                         "23",
				"23::regtype::text":                                                            "integer",
				"'raw'::regnamespace::oid >= 16384":                                            "true",
				"has_table_privilege('raw.people', 'SELECT')":                                  "true",
				"has_table_privilege('raw.people', 'INSERT')":                                  "false",
				"has_schema_privilege('raw', 'USAGE')":                                         "true",
				"pg_encoding_to_char(6)":                                                       "UTF8",
				"pg_size_pretty(CAST(565248 AS BIGINT))":                                       "552 kB",
				"pg_size_pretty(CAST(100 AS BIGINT))":                                          "100 bytes",
				"pg_size_pretty(CAST(52428800 AS BIGINT))":                                     "50 MB",
				"pg_total_relation_size('raw.people'::regclass) > 0":                           "true",
				"(SELECT 'pg_toast' OPERATOR(pg_catalog.~) 'toast' FROM pg_namespace LIMIT 1)": "true",
				"(SELECT 'pg_toast' !~ '^pg_' FROM pg_namespace LIMIT 1)":                      "false",
				"(SELECT 'People' ~* '^people$' FROM pg_namespace LIMIT 1)":                    "true",
				"pg_table_is_visible('raw.people'::regclass)":                                  "false",
				"pg_table_is_visible('pg_class'::regclass)":                                    "true",
				"obj_description('raw.people'::regclass, 'pg_class') IS NULL":                  "true",
				"col_description('raw.people'::regclass, 1) IS NULL":                           "true",
				"pg_get_expr(NULL, 0) IS NULL":                                                 "true",
				"quote_ident('Strata Lake')":                                                   `"Strata Lake"`,
				"(SELECT typreceive::regproc::text FROM pg_type WHERE typname = 'numeric')":    "numeric_recv",
				"(SELECT count(*) FROM pg_catalog.pg_database)":                                "2",
				"(SELECT setting FROM pg_settings WHERE name = 'server_version')":              "15.0 (Strata)",
				"(SELECT count(*) FROM information_schema.key_column_usage)":                   "0",
			} {
				require.Equal(t, want, one(sql), sql)
			}
		})
	}
}

// TestCatalogTypes: pg_type holds PostgreSQL 15's real OIDs, I/O functions and array types.
func TestCatalogTypes(t *testing.T) {
	t.Parallel()
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeExec)
	rows, err := c.Query(context.Background(), `SELECT t.typname, t.oid, t.typarray, p.proname, t.typlen
		FROM pg_catalog.pg_type t JOIN pg_catalog.pg_proc p ON p.oid = t.typreceive
		WHERE t.typname IN ('bool', 'int2', 'int4', 'int8', 'float8', 'numeric', 'text', 'varchar', 'date',
		'timestamptz', 'interval', 'bytea', 'uuid', 'jsonb') ORDER BY t.oid`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var name, recv string
		var oid, arr int64
		var typlen int16
		require.NoError(t, rows.Scan(&name, &oid, &arr, &recv, &typlen))
		got = append(got, fmt.Sprintf("%s %d %d %s %d", name, oid, arr, recv, typlen))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"bool 16 1000 boolrecv 1", "bytea 17 1001 bytearecv -1", "int8 20 1016 int8recv 8",
		"int2 21 1005 int2recv 2", "int4 23 1007 int4recv 4", "text 25 1009 textrecv -1", "float8 701 1022 float8recv 8",
		"varchar 1043 1015 varcharrecv -1", "date 1082 1182 date_recv 4", "timestamptz 1184 1185 timestamptz_recv 8",
		"interval 1186 1187 interval_recv 16", "numeric 1700 1231 numeric_recv -1", "uuid 2950 2951 uuid_recv 16",
		"jsonb 3802 3807 jsonb_recv -1"}, got)
}

// TestCatalogStableOIDs: a table's OID is the same in every session, ≥ 16384, and RowDescription names it
// with the attnum pg_attribute gives the column (RPostgreSQL's and pgjdbc's follow-up lookups).
func TestCatalogStableOIDs(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	oid := func(c *pgx.Conn) uint32 {
		var o uint32
		require.NoError(t, c.QueryRow(ctx, "SELECT CAST('raw.people'::regclass AS BIGINT)").Scan(&o))
		return o
	}
	a, b := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol), f.connect(t, "dev", pgx.QueryExecModeExec)
	require.Equal(t, oid(a), oid(b))
	require.GreaterOrEqual(t, oid(a), uint32(16384))

	want := oid(a)
	for _, c := range []*pgx.Conn{a, b} {
		rows, err := c.Query(ctx, "SELECT score, id, name, id + 1 AS next FROM raw.people")
		require.NoError(t, err)
		fields := append([]pgconn.FieldDescription{}, rows.FieldDescriptions()...) // pgx reuses its buffer
		rows.Close()
		require.Equal(t, []uint16{3, 1, 2, 0}, []uint16{fields[0].TableAttributeNumber, fields[1].TableAttributeNumber,
			fields[2].TableAttributeNumber, fields[3].TableAttributeNumber})
		require.Equal(t, []uint32{want, want, want, 0}, []uint32{fields[0].TableOID, fields[1].TableOID, fields[2].TableOID, fields[3].TableOID})
		// RPostgreSQL's question for every result column.
		var notNull bool
		require.NoError(t, c.QueryRow(ctx, fmt.Sprintf("select attnotnull from pg_attribute where attrelid=%d and attnum='%d'",
			fields[1].TableOID, fields[1].TableAttributeNumber)).Scan(&notNull))
		var name string
		require.NoError(t, c.QueryRow(ctx, fmt.Sprintf("select attname from pg_attribute where attrelid=%d and attnum=%d",
			fields[0].TableOID, fields[0].TableAttributeNumber)).Scan(&name))
		require.Equal(t, "score", name)
	}
}

// TestCatalogNpgsqlTypeLoad replays the type-loading batch of Npgsql 4.0 (Power BI's bundled driver): three
// statements in the extended protocol, text results, one Sync.
func TestCatalogNpgsqlTypeLoad(t *testing.T) {
	t.Parallel()
	f := start(t)
	c := f.connect(t, "prod", pgx.QueryExecModeExec)
	batch := &pgconn.Batch{}
	for _, q := range npgsqlTypeLoad {
		batch.ExecParams(q, nil, nil, nil, nil)
	}
	res, err := c.PgConn().ExecBatch(context.Background(), batch).ReadAll()
	require.NoError(t, err)
	require.Len(t, res, 3)
	types := map[string]string{}
	for _, r := range res[0].Rows {
		types[string(r[1])] = fmt.Sprintf("%s %s %s %s %s", r[0], r[2], r[5], r[6], r[7])
	}
	for name, want := range map[string]string{
		"int2": "pg_catalog 21 b 0 0", "int4": "pg_catalog 23 b 0 0", "int8": "pg_catalog 20 b 0 0",
		"float4": "pg_catalog 700 b 0 0", "float8": "pg_catalog 701 b 0 0", "numeric": "pg_catalog 1700 b 0 0",
		"text": "pg_catalog 25 b 0 0", "varchar": "pg_catalog 1043 b 0 0", "bool": "pg_catalog 16 b 0 0",
		"date": "pg_catalog 1082 b 0 0", "timestamp": "pg_catalog 1114 b 0 0", "timestamptz": "pg_catalog 1184 b 0 0",
		"interval": "pg_catalog 1186 b 0 0", "bytea": "pg_catalog 17 b 0 0", "uuid": "pg_catalog 2950 b 0 0",
		"json": "pg_catalog 114 b 0 0", "jsonb": "pg_catalog 3802 b 0 0", "_int4": "pg_catalog 1007 a 23 3",
		"_float8": "pg_catalog 1022 a 701 3", "_text": "pg_catalog 1009 a 25 3", "int4range": "pg_catalog 3904 r 23 2",
		"record": "pg_catalog 2249 p 0 0", "void": "pg_catalog 2278 p 0 0",
	} {
		require.Equal(t, want, types[name], name)
	}
	require.Empty(t, res[1].Rows)
	require.Empty(t, res[2].Rows)
	require.Equal(t, "SELECT 0", res[2].CommandTag.String())
}

// npgsqlTypeLoad is Npgsql 4.0's PostgresDatabaseInfo type query for PostgreSQL ≥ 9.2 (npgsql/npgsql
// src/Npgsql/PostgresDatabaseInfo.cs), as it sends it.
var npgsqlTypeLoad = []string{`/*** Load all supported types ***/
SELECT ns.nspname, a.typname, a.oid, a.typrelid, a.typbasetype,
CASE WHEN pg_proc.proname='array_recv' THEN 'a' ELSE a.typtype END AS type,
CASE
  WHEN pg_proc.proname='array_recv' THEN a.typelem
  WHEN a.typtype='r' THEN rngsubtype
  ELSE 0
END AS elemoid,
CASE
  WHEN pg_proc.proname IN ('array_recv','oidvectorrecv') THEN 3    /* Arrays last */
  WHEN a.typtype='r' THEN 2                                        /* Ranges before */
  WHEN a.typtype='d' THEN 1                                        /* Domains before */
  ELSE 0                                                           /* Base types first */
END AS ord
FROM pg_type AS a
JOIN pg_namespace AS ns ON (ns.oid = a.typnamespace)
JOIN pg_proc ON pg_proc.oid = a.typreceive
LEFT OUTER JOIN pg_class AS cls ON (cls.oid = a.typrelid)
LEFT OUTER JOIN pg_type AS b ON (b.oid = a.typelem)
LEFT OUTER JOIN pg_class AS elemcls ON (elemcls.oid = b.typrelid)
LEFT OUTER JOIN pg_range ON (pg_range.rngtypid = a.oid)
WHERE
  a.typtype IN ('b', 'r', 'e', 'd') OR         /* Base, range, enum, domain */
  (a.typtype = 'c' AND cls.relkind='c') OR /* User-defined free-standing composites (not table composites) by default */
  (pg_proc.proname='array_recv' AND (
    b.typtype IN ('b', 'r', 'e', 'd') OR       /* Array of base, range, enum, domain */
    (b.typtype = 'p' AND b.typname IN ('record', 'void')) OR /* Arrays of special supported pseudo-types */
    (b.typtype = 'c' AND elemcls.relkind='c')  /* Array of user-defined free-standing composites (not table composites) */
  )) OR
  (a.typtype = 'p' AND a.typname IN ('record', 'void'))  /* Some special supported pseudo-types */
ORDER BY ord`, `/*** Load field definitions for (free-standing) composite types ***/
SELECT typ.oid, att.attname, att.atttypid
FROM pg_type AS typ
JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace)
JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid)
WHERE
  (typ.typtype = 'c' AND cls.relkind='c') AND
  attnum > 0 AND     /* Don't load system attributes */
  NOT attisdropped
ORDER BY typ.oid, att.attnum`, `/*** Load enum fields ***/
SELECT pg_type.oid, enumlabel
FROM pg_enum
JOIN pg_type ON pg_type.oid=enumtypid
ORDER BY oid, enumsortorder`}

// TestStrataSystemTables: strata.tables / snapshots / releases / pins show what the environment's readers see.
func TestStrataSystemTables(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	rel, err := f.svc.Release(ctx, "prod", 1)
	require.NoError(t, err)
	pinned := rel.Pins[0].SnapshotID
	require.Equal(t, []string{fmt.Sprintf("raw people %d 2", pinned)},
		texts(t, prod, "SELECT zone || ' ' || name || ' ' || snapshot_id || ' ' || rows FROM strata.tables"))
	require.Equal(t, []string{fmt.Sprintf("raw people %d true", pinned)}, // the forced write is not listed
		texts(t, prod, "SELECT zone || ' ' || name || ' ' || snapshot_id || ' ' || read FROM strata.snapshots"))
	require.Equal(t, []string{"1 test true 1"},
		texts(t, prod, "SELECT release_id || ' ' || actor || ' ' || current || ' ' || tables FROM strata.releases"))
	require.Equal(t, []string{fmt.Sprintf("1 raw.people %d 2", pinned)},
		texts(t, prod, "SELECT release_id || ' ' || zone || '.' || name || ' ' || snapshot_id || ' ' || rows FROM strata.pins"))
	require.Equal(t, []string{"strata.datasets", "strata.features", "strata.job_runs", "strata.pins", "strata.releases", "strata.snapshots", "strata.tables"},
		texts(t, prod, "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema = 'strata' ORDER BY 1"))
	require.Empty(t, texts(t, prod, "SELECT name FROM strata.datasets"))

	dev := f.connect(t, "dev", pgx.QueryExecModeExec)
	require.Equal(t, []string{"raw people 3"}, texts(t, dev, "SELECT zone || ' ' || name || ' ' || rows FROM strata.tables"))
	require.Empty(t, texts(t, dev, "SELECT actor FROM strata.releases"))
}

// TestStrataAsOf: SET strata.as_of / strata.snapshot change what later queries of the session read; prod
// still reads only released snapshots.
func TestStrataAsOf(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	count := func(c *pgx.Conn) int64 {
		var n int64
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people").Scan(&n))
		return n
	}
	exec := func(c *pgx.Conn, sql string) {
		_, err := c.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	// prod: release 1 pins ids 1-2; release 2 adds the staged id 100.
	between := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	_, err := f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	require.Equal(t, int64(3), count(prod))
	exec(prod, "SET strata.as_of = 'release 1'")
	require.Equal(t, int64(2), count(prod))
	exec(prod, "SET strata.as_of = '"+between.Format(time.RFC3339Nano)+"'")
	require.Equal(t, int64(2), count(prod))
	var shown string
	require.NoError(t, prod.QueryRow(ctx, "SHOW strata.as_of").Scan(&shown))
	require.Equal(t, between.Format(time.RFC3339Nano), shown)
	exec(prod, "RESET strata.as_of")
	require.Equal(t, int64(3), count(prod))

	// dev: a second snapshot; as_of before it and the first snapshot's id read the first.
	p, err := f.svc.Resolve(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, lake.SnapshotRef{})
	require.NoError(t, err)
	first := p.SnapshotID
	mid := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	write(t, f.svc, "dev", false, people(4, 5))
	dev := f.connect(t, "dev", pgx.QueryExecModeExec)
	require.Equal(t, int64(5), count(dev))
	exec(dev, "SET strata.as_of TO '"+mid.Format(time.RFC3339Nano)+"'")
	require.Equal(t, int64(3), count(dev))
	exec(dev, "SET strata.as_of = DEFAULT")
	exec(dev, fmt.Sprintf("SET strata.snapshot = 'raw.people@%d'", first))
	require.Equal(t, int64(3), count(dev))
	exec(dev, "SET strata.snapshot = ''")
	require.Equal(t, int64(5), count(dev))

	// Bad values fail at SET, saying what to give; a snapshot prod never released is not found.
	for sql, msg := range map[string]string{
		"SET strata.as_of = 'yesterday'":  "22023",
		"SET strata.as_of = 'release x'":  "22023",
		"SET strata.snapshot = '12'":      "22023",
		"SET strata.as_of = '1999-01-01'": "",
	} {
		_, err := prod.Exec(ctx, sql)
		if msg == "" {
			require.NoError(t, err)
			continue
		}
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, sql)
		require.Equal(t, msg, pgErr.Code, sql)
	}
	_, err = prod.Exec(ctx, "SELECT count(*) FROM raw.people")
	require.Error(t, err) // no release existed in 1999
	exec(prod, "RESET ALL")
	staged, err := f.svc.Lake().Describe(ctx, "prod", lake.Ident{Zone: "raw", Name: "people"})
	require.NoError(t, err)
	exec(prod, fmt.Sprintf("SET strata.snapshot = 'raw.people@%d'", staged.Snapshots[0].ID))
	require.Equal(t, int64(2), count(prod)) // released in release 1
}

// fakeDatasets lists datasets as the features registry would.
type fakeDatasets struct{ list []features.Dataset }

func (d fakeDatasets) Datasets(_ context.Context, env string) ([]features.Dataset, error) {
	var out []features.Dataset
	for _, x := range d.list {
		if x.Env == env {
			out = append(out, x)
		}
	}
	return out, nil
}

// TestStrataDatasets: strata.datasets lists the environment's datasets; prod only those whose snapshot a
// release pinned (a dataset built into prod but not published stays invisible).
func TestStrataDatasets(t *testing.T) {
	t.Parallel()
	ds := &fakeDatasets{}
	f := start(t, func(o *sqlwire.Options) { o.Datasets = ds })
	ctx := context.Background()
	rel, err := f.svc.Release(ctx, "prod", 1)
	require.NoError(t, err)
	staged, err := f.svc.Lake().Describe(ctx, "prod", lake.Ident{Zone: "raw", Name: "people"})
	require.NoError(t, err)
	created := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).UnixMilli()
	ds.list = []features.Dataset{
		{Env: "prod", Name: "published", Version: 2, Table: "raw.people", SnapshotID: rel.Pins[0].SnapshotID, Rows: 2, Actor: "ci", CreatedMs: created},
		{Env: "prod", Name: "staged", Version: 1, Table: "raw.people", SnapshotID: staged.Snapshots[len(staged.Snapshots)-1].ID, Rows: 3, Actor: "ci", CreatedMs: created},
		{Env: "dev", Name: "trial", Version: 1, Table: "datasets.trial", SnapshotID: 9, Rows: 5, Actor: "ann", CreatedMs: created},
	}
	require.NotEqual(t, rel.Pins[0].SnapshotID, ds.list[1].SnapshotID)
	q := "SELECT name || ' v' || version || ' ' || zone || '.' || table_name || ' ' || rows || ' ' || actor || ' ' || " +
		"strftime(created, '%Y-%m-%d %H:%M') FROM strata.datasets ORDER BY name"
	require.Equal(t, []string{"published v2 raw.people 2 ci 2026-11-30 08:00"}, texts(t, f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol), q))
	require.Equal(t, []string{"trial v1 datasets.trial 5 ann 2026-11-30 08:00"}, texts(t, f.connect(t, "dev", pgx.QueryExecModeExec), q))
}
