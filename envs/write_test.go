package envs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// newServiceDB is newService that also returns the metadata DB, for tests that break it on purpose.
func newServiceDB(t *testing.T, b testenv.Backend) (*envs.Service, *meta.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, b.DSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	return svc, db
}

// FailAudit makes every insert into (op "INSERT") or update of (op "UPDATE") the audit log fail, as a full
// disk or a revoked permission would.
func failAudit(t *testing.T, db *meta.DB, op string) {
	t.Helper()
	ctx := context.Background()
	stmts := []string{`CREATE TRIGGER strata_audit_fails BEFORE ` + op + ` ON strata_audit
		BEGIN SELECT RAISE(ABORT, 'the audit log is unavailable'); END`}
	if db.Dialect == meta.Postgres {
		stmts = []string{
			`CREATE FUNCTION strata_audit_fails() RETURNS trigger AS $$
				BEGIN RAISE EXCEPTION 'the audit log is unavailable'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER strata_audit_fails BEFORE ` + op + ` ON strata_audit
				FOR EACH ROW EXECUTE FUNCTION strata_audit_fails()`,
		}
	}
	for _, s := range stmts {
		_, err := db.SQL.ExecContext(ctx, s)
		require.NoError(t, err)
	}
}

func snapshotsOf(t *testing.T, svc *envs.Service, env, table string) []lake.Snapshot {
	t.Helper()
	info, err := svc.Lake().Describe(context.Background(), env, ident(t, table))
	if err != nil {
		require.ErrorIs(t, err, lake.ErrNotFound)
		return nil
	}
	return info.Snapshots
}

func auditOf(t *testing.T, svc *envs.Service, env, action string) []map[string]any {
	t.Helper()
	log, err := svc.AuditLog(context.Background(), env, 1000)
	require.NoError(t, err)
	var out []map[string]any
	for _, e := range log {
		if e.Action == action {
			var d map[string]any
			dec := json.NewDecoder(bytes.NewReader(e.Detail))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&d))
			d["id"] = e.ID
			out = append(out, d)
		}
	}
	return out
}

func TestWriteRulesAndAudit(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, _ := newServiceDB(t, b)
			orders := ident(t, "raw.orders")
			opts := envs.WriteOptions{CreateIfMissing: true, Actor: "alice", Source: "orders.csv", Action: "import"}

			// dev: written and audited.
			res, err := svc.Write(ctx, "dev", orders, rows(0, 3), opts)
			require.NoError(t, err)
			require.True(t, res.Created)
			require.False(t, res.Staged)
			entries := auditOf(t, svc, "dev", "table.import")
			require.Len(t, entries, 1)
			require.Equal(t, "committed", entries[0]["state"])
			require.Equal(t, json.Number(itoa(res.SnapshotID)), entries[0]["snapshot"])

			// prod without force: refused, nothing created, nothing audited.
			_, err = svc.Write(ctx, "prod", orders, rows(0, 3), opts)
			require.ErrorIs(t, err, envs.ErrForbidden)
			require.Equal(t, errs.Forbidden, errs.KindOf(err))
			require.NotContains(t, err.Error(), "--force", "CLI hints belong to the CLI")
			require.Nil(t, snapshotsOf(t, svc, "prod", "raw.orders"))
			require.Empty(t, auditOf(t, svc, "prod", "table.import.forced"))

			// prod with force: staged (not what readers see), audited as forced, the snapshot names its entry.
			opts.Force = true
			res, err = svc.Write(ctx, "prod", orders, rows(0, 3), opts)
			require.NoError(t, err)
			require.True(t, res.Staged)
			entries = auditOf(t, svc, "prod", "table.import.forced")
			require.Len(t, entries, 1)
			require.Equal(t, "committed", entries[0]["state"])
			require.Equal(t, res.AuditID, entries[0]["id"])
			snaps := snapshotsOf(t, svc, "prod", "raw.orders")
			require.Len(t, snaps, 1)
			require.Equal(t, res.AuditID, snaps[0].Summary[envs.PropAuditID])
			require.Equal(t, "alice", snaps[0].Summary[envs.PropActor])
			require.Equal(t, "orders.csv", snaps[0].Summary[envs.PropSource])
			_, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{})
			require.ErrorIs(t, err, lake.ErrNotFound)

			// A failed write completes its entry as failed.
			_, err = svc.Write(ctx, "dev", orders, failingReader(), envs.WriteOptions{Actor: "bob"})
			require.Error(t, err)
			failed := auditOf(t, svc, "dev", "table.write")
			require.Len(t, failed, 1)
			require.Equal(t, "failed", failed[0]["state"])
			require.Contains(t, failed[0]["error"], "input broke")
			require.Len(t, snapshotsOf(t, svc, "dev", "raw.orders"), 1)

			_, err = svc.Write(ctx, "dev", orders, rows(0, 1), envs.WriteOptions{Mode: "merge"})
			require.ErrorIs(t, err, envs.ErrInvalid)
		})
	}
}

// failingReader delivers one batch, then fails.
func failingReader() array.RecordReader {
	return &brokenReader{RecordReader: rows(100, 2)}
}

type brokenReader struct {
	array.RecordReader
	done bool
}

func (r *brokenReader) Next() bool {
	if r.done {
		return false
	}
	r.done = true
	return r.RecordReader.Next()
}

func (r *brokenReader) Err() error {
	if r.done {
		return errInput
	}
	return nil
}

var errInput = errs.New(errs.BadData, "input broke")

func TestWriteFailsWhenTheAuditCannotBeWritten(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, db := newServiceDB(t, b)
			orders := ident(t, "clean.orders")
			_, err := svc.Write(ctx, "prod", orders, rows(0, 3), envs.WriteOptions{CreateIfMissing: true, Force: true})
			require.NoError(t, err)
			write(t, svc, "dev", "raw.kept", 0, 1)
			write(t, svc, "dev", "raw.kept", 1, 1)
			failAudit(t, db, "INSERT")

			for _, env := range []string{"dev", "prod"} {
				before := snapshotsOf(t, svc, env, "clean.orders")
				res, err := svc.Write(ctx, env, orders, rows(10, 3), envs.WriteOptions{CreateIfMissing: true, Force: true})
				require.ErrorContains(t, err, "the audit log is unavailable")
				require.ErrorContains(t, err, "nothing was written")
				require.Nil(t, res)
				require.Equal(t, before, snapshotsOf(t, svc, env, "clean.orders"), "%s: no snapshot without its audit entry", env)
			}
			// Drop and expire change nothing either.
			kept := snapshotsOf(t, svc, "dev", "raw.kept")
			require.ErrorContains(t, svc.Drop(ctx, "dev", ident(t, "raw.kept"), false, "x"), "nothing was done")
			_, err = svc.Expire(ctx, "dev", ident(t, "raw.kept"), time.Now().Add(time.Hour), 1, "x")
			require.ErrorContains(t, err, "the audit log is unavailable")
			require.Equal(t, kept, snapshotsOf(t, svc, "dev", "raw.kept"))
		})
	}
}

func TestWriteReportsAnAuditEntryItCannotComplete(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, db := newServiceDB(t, b)
			failAudit(t, db, "UPDATE")
			res, err := svc.Write(ctx, "dev", ident(t, "raw.x"), rows(0, 2), envs.WriteOptions{CreateIfMissing: true})
			require.ErrorContains(t, err, "could not be completed")
			require.NotNil(t, res, "the data was written: the result says which snapshot")
			entries := auditOf(t, svc, "dev", "table.write")
			require.Len(t, entries, 1)
			require.Equal(t, "started", entries[0]["state"])
			require.Equal(t, res.AuditID, entries[0]["id"])
			snaps := snapshotsOf(t, svc, "dev", "raw.x")
			require.Len(t, snaps, 1)
			require.Equal(t, res.AuditID, snaps[0].Summary[envs.PropAuditID], "the started entry names the snapshot's write")
		})
	}
}

// columns builds a one-row reader with the given columns (name → arrow type), all null.
func columns(cols ...arrow.Field) array.RecordReader {
	for i := range cols {
		cols[i].Nullable = true
	}
	schema := arrow.NewSchema(cols, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, f := range b.Fields() {
		f.AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rdr
}

func TestWriteComparesColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	id := ident(t, "raw.orders")
	f := func(name string, typ arrow.DataType) arrow.Field { return arrow.Field{Name: name, Type: typ} }
	id64, amount := f("id", arrow.PrimitiveTypes.Int64), f("amount", arrow.PrimitiveTypes.Float64)
	_, err := svc.Write(ctx, "dev", id, columns(id64, amount), envs.WriteOptions{CreateIfMissing: true})
	require.NoError(t, err)

	cases := []struct {
		name             string
		data             []arrow.Field
		opts             envs.WriteOptions
		extra, missing   []string
		added            []string
		wantTableColumns []string
	}{
		{name: "misspelt column", data: []arrow.Field{id64, f("amout", arrow.PrimitiveTypes.Float64)},
			extra: []string{"amout (double)"}, missing: []string{"amount (double)"}},
		{name: "missing column", data: []arrow.Field{id64}, missing: []string{"amount (double)"}},
		{name: "new column", data: []arrow.Field{id64, amount, f("note", arrow.BinaryTypes.String)}, extra: []string{"note (string)"}},
		{name: "misspelt, evolve only", data: []arrow.Field{id64, f("amout", arrow.PrimitiveTypes.Float64)},
			opts: envs.WriteOptions{SchemaEvolve: true}, missing: []string{"amount (double)"}},
		{name: "misspelt, missing allowed only", data: []arrow.Field{id64, f("amout", arrow.PrimitiveTypes.Float64)},
			opts: envs.WriteOptions{AllowMissingColumns: true}, extra: []string{"amout (double)"}},
		{name: "same columns, other order", data: []arrow.Field{amount, id64}, wantTableColumns: []string{"id", "amount"}},
		{name: "missing allowed", data: []arrow.Field{amount}, opts: envs.WriteOptions{AllowMissingColumns: true},
			wantTableColumns: []string{"id", "amount"}},
		{name: "overwrite checks too", data: []arrow.Field{id64, f("ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})},
			opts: envs.WriteOptions{Mode: envs.Overwrite}, extra: []string{"ts (timestamptz)"}, missing: []string{"amount (double)"}},
		{name: "evolve", data: []arrow.Field{id64, amount, f("note", arrow.BinaryTypes.String)}, opts: envs.WriteOptions{SchemaEvolve: true},
			added: []string{"note"}, wantTableColumns: []string{"id", "amount", "note"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotsOf(t, svc, "dev", "raw.orders")
			auditBefore := len(auditOf(t, svc, "dev", "table.write"))
			res, err := svc.Write(ctx, "dev", id, columns(tc.data...), tc.opts)
			if tc.extra == nil && tc.missing == nil {
				require.NoError(t, err)
				require.Equal(t, tc.added, res.AddedColumns)
				info, err := svc.Lake().Describe(ctx, "dev", id)
				require.NoError(t, err)
				var names []string
				for _, c := range info.Columns {
					names = append(names, c.Name)
				}
				require.Equal(t, tc.wantTableColumns, names)
				return
			}
			var mm *envs.SchemaMismatchError
			require.ErrorAs(t, err, &mm)
			require.ErrorIs(t, err, envs.ErrSchemaMismatch)
			require.Equal(t, errs.Invalid, errs.KindOf(err))
			require.Equal(t, tc.extra, colNames(mm.Extra))
			require.Equal(t, tc.missing, colNames(mm.Missing))
			for _, c := range append(tc.extra, tc.missing...) {
				require.Contains(t, err.Error(), c)
			}
			require.Equal(t, before, snapshotsOf(t, svc, "dev", "raw.orders"), "a refused write commits nothing")
			require.Len(t, auditOf(t, svc, "dev", "table.write"), auditBefore, "a refused write is no write")
		})
	}
}

func colNames(cols []lake.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name+" ("+c.Type+")")
	}
	return out
}

// tick makes the next release or snapshot get a later millisecond than anything before.
func tick() time.Time {
	time.Sleep(5 * time.Millisecond)
	t := time.Now()
	time.Sleep(5 * time.Millisecond)
	return t
}

func TestProdTimeTravelFollowsReleases(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			orders, hidden := ident(t, "clean.orders"), ident(t, "raw.hidden")
			at := func(tm time.Time) lake.SnapshotRef { return lake.SnapshotRef{AsOf: tm} }

			beforeAll := tick()
			s1 := write(t, svc, "prod", "clean.orders", 0, 10)
			afterS1 := tick()
			_, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"}) // release 1 pins s1
			require.NoError(t, err)
			afterR1 := tick()
			s2 := write(t, svc, "prod", "clean.orders", 10, 5) // forced, never published
			hid := write(t, svc, "prod", "raw.hidden", 0, 1)   // a table no release pins
			afterS2 := tick()

			// As of an instant: the release current then, and its pin.
			_, err = svc.Resolve(ctx, "prod", orders, at(beforeAll))
			require.ErrorIs(t, err, lake.ErrNotFound)
			require.ErrorContains(t, err, "no release yet at that time")
			_, err = svc.Resolve(ctx, "prod", orders, at(afterS1)) // s1 existed, but no release did
			require.ErrorIs(t, err, lake.ErrNotFound)
			for _, tm := range []time.Time{afterR1, afterS2, time.Now().Add(time.Hour)} {
				p, err := svc.Resolve(ctx, "prod", orders, at(tm))
				require.NoError(t, err)
				require.Equal(t, s1, p.SnapshotID)
			}
			_, err = svc.Resolve(ctx, "prod", hidden, at(time.Now().Add(time.Hour)))
			require.ErrorIs(t, err, lake.ErrNotFound)
			require.ErrorContains(t, err, "release 1, current at that time, does not pin it")

			// By id: only snapshots a release pinned; an unreleased one reads as if it did not exist.
			p, err := svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{ID: s1})
			require.NoError(t, err)
			require.Equal(t, int64(10), p.Rows)
			_, errUnreleased := svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{ID: s2})
			require.ErrorIs(t, errUnreleased, lake.ErrNotFound)
			_, errNever := svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{ID: 12345})
			require.ErrorIs(t, errNever, lake.ErrNotFound)
			require.Equal(t, errNever.Error(), replaceID(errUnreleased.Error(), s2, 12345), "the error must not confirm the snapshot exists")
			_, err = svc.Resolve(ctx, "prod", hidden, lake.SnapshotRef{ID: hid})
			require.ErrorIs(t, err, lake.ErrNotFound)

			// After release 2 pins s2, instants after it see s2, instants before still s1; both ids resolve.
			_, err = svc.Publish(ctx, "prod", []lake.Ident{orders}, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			afterR2 := tick()
			_, err = svc.Rollback(ctx, "prod", 1, "a") // release 3 = release 1
			require.NoError(t, err)
			for tm, want := range map[time.Time]int64{afterS2: s1, afterR2: s2, time.Now().Add(time.Hour): s1} {
				p, err := svc.Resolve(ctx, "prod", orders, at(tm))
				require.NoError(t, err)
				require.Equal(t, want, p.SnapshotID)
			}
			p, err = svc.Resolve(ctx, "prod", orders, lake.SnapshotRef{ID: s2})
			require.NoError(t, err)
			require.Equal(t, int64(15), p.Rows)

			// dev time travel is unchanged: any snapshot.
			d1 := write(t, svc, "dev", "clean.orders", 0, 1)
			write(t, svc, "dev", "clean.orders", 1, 1)
			p, err = svc.Resolve(ctx, "dev", orders, lake.SnapshotRef{ID: d1})
			require.NoError(t, err)
			require.Equal(t, int64(1), p.Rows)
		})
	}
}

func replaceID(s string, from, to int64) string {
	return strings.ReplaceAll(s, itoa(from), itoa(to))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDescribeShowsWhatReadersSee(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			orders := ident(t, "clean.orders")
			s1 := write(t, svc, "prod", "clean.orders", 0, 10)
			_, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			s2 := write(t, svc, "prod", "clean.orders", 10, 5) // unpublished
			s3 := write(t, svc, "prod", "clean.orders", 15, 5) // published below: its parent s2 is not
			_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
			require.NoError(t, err)
			// An unpublished write that adds a column.
			_, err = svc.Write(ctx, "prod", orders, columns(arrow.Field{Name: "secret", Type: arrow.BinaryTypes.String}),
				envs.WriteOptions{Force: true, SchemaEvolve: true, AllowMissingColumns: true})
			require.NoError(t, err)

			v, err := svc.Describe(ctx, "prod", orders)
			require.NoError(t, err)
			require.Equal(t, s3, v.CurrentSnapshotID)
			require.Equal(t, s3, v.ReadSnapshotID)
			require.Equal(t, int64(20), v.ReadRows)
			require.Empty(t, v.MetadataLocation)
			var ids []int64
			for _, s := range v.Snapshots {
				ids = append(ids, s.ID)
			}
			require.Equal(t, []int64{s1, s3}, ids)
			require.Equal(t, s1, v.Snapshots[1].ParentID, "the parent is the nearest released ancestor, not unpublished s2")
			for _, c := range v.Columns {
				require.NotEqual(t, "secret", c.Name)
			}
			out, err := json.Marshal(v)
			require.NoError(t, err)
			require.NotContains(t, string(out), itoa(s2))
			require.NotContains(t, string(out), "secret")

			// dev: the table as it is.
			write(t, svc, "dev", "clean.orders", 0, 1)
			d2 := write(t, svc, "dev", "clean.orders", 1, 1)
			v, err = svc.Describe(ctx, "dev", orders)
			require.NoError(t, err)
			require.Len(t, v.Snapshots, 2)
			require.Equal(t, d2, v.CurrentSnapshotID)
			require.NotEmpty(t, v.MetadataLocation)

			_, err = svc.Describe(ctx, "prod", ident(t, "raw.nothing"))
			var nr *envs.NotReleasedError
			require.ErrorAs(t, err, &nr)
		})
	}
}

// TestWritePropsAfterAndBasedOn: props computed once the data is read land on the snapshot (but cannot override
// the gate's own); a write based on a snapshot that is no longer the write base commits nothing (dev and the
// prod staging branch); WriteBase is the writer's view in prod, not the release pin.
func TestWritePropsAfterAndBasedOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	tbl := ident(t, "raw.t")
	var drained bool
	counted := &countRows{RecordReader: rows(0, 3)}
	opts := envs.WriteOptions{CreateIfMissing: true, Actor: "alice", PropsAfter: func() map[string]string {
		drained = true
		return map[string]string{"job.watermark": strconv.FormatInt(counted.n, 10), envs.PropActor: "mallory"}
	}}
	res, err := svc.Write(ctx, "dev", tbl, counted, opts)
	require.NoError(t, err)
	require.True(t, drained)
	snaps := snapshotsOf(t, svc, "dev", "raw.t")
	require.Equal(t, "3", snaps[0].Summary["job.watermark"], "evaluated after the last row was read")
	require.Equal(t, "alice", snaps[0].Summary[envs.PropActor])

	// A failed reader: PropsAfter is not called, nothing is committed.
	drained = false
	_, err = svc.Write(ctx, "dev", tbl, failingReader(), opts)
	require.ErrorIs(t, err, errInput)
	require.False(t, drained)

	for _, env := range []string{"dev", "prod"} {
		base, err := svc.WriteBase(ctx, env, tbl)
		if env == "prod" {
			require.ErrorIs(t, err, lake.ErrNotFound)
			base = &lake.Plan{}
		} else {
			require.NoError(t, err)
			require.Equal(t, res.SnapshotID, base.SnapshotID)
			require.NotEmpty(t, base.Files)
		}
		stale := base.SnapshotID
		w := envs.WriteOptions{Mode: envs.Overwrite, CreateIfMissing: true, Force: true, BasedOn: &stale}
		first, err := svc.Write(ctx, env, tbl, rows(10, 2), w)
		require.NoError(t, err, "based on the current base")
		before := len(snapshotsOf(t, svc, env, "raw.t"))
		_, err = svc.Write(ctx, env, tbl, rows(20, 2), w)
		require.ErrorIs(t, err, envs.ErrConflict, "the table moved on since the base")
		require.Equal(t, errs.Conflict, errs.KindOf(err))
		require.Len(t, snapshotsOf(t, svc, env, "raw.t"), before, "nothing committed")
		now, err := svc.WriteBase(ctx, env, tbl)
		require.NoError(t, err)
		require.Equal(t, first.SnapshotID, now.SnapshotID, "the writer's view (prod: the staging head)")
		require.EqualValues(t, 2, now.Rows)
	}
	_, err = svc.Resolve(ctx, "prod", tbl, lake.SnapshotRef{})
	require.ErrorIs(t, err, lake.ErrNotFound, "readers still see no release")
}

type countRows struct {
	array.RecordReader
	n int64
}

func (c *countRows) Next() bool {
	if !c.RecordReader.Next() {
		return false
	}
	c.n += c.RecordBatch().NumRows()
	return true
}
