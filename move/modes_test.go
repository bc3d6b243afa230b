//go:build duckdb_arrow

package move_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/move"
)

func mergeJob(path string) string {
	return "name: m\nsource: {type: files, path: '" + path + "'}\ntarget: {type: lake, table: raw.m, mode: merge, key: [id, region]}\n"
}

// TestRunMerge: a merge replaces the rows with equal keys and keeps the others, one snapshot per run; the same
// run twice leaves the same contents; duplicate or NULL keys in the new rows, a missing key column and a
// missing table column fail the run without a snapshot; a write landing while a merge computes is not lost.
func TestRunMerge(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b.DSN(t))
			ctx := context.Background()
			run := func(body string) (*move.RunRecord, error) {
				spec, ps := f.job(t, body, nil)
				return move.Run(ctx, f.deps("dev"), spec, ps)
			}
			first := f.file(t, "a.csv", "id,region,v\n1,eu,a\n2,eu,b\n2,us,c\n")
			rec, err := run(mergeJob(first))
			require.NoError(t, err, "a merge into a missing table creates it")
			require.Equal(t, int64(3), rec.RowsWritten)
			second := f.file(t, "b.csv", "id,region,v\n2,eu,B\n3,eu,d\n")
			for i := 0; i < 2; i++ {
				rec, err = run(mergeJob(second))
				require.NoError(t, err)
				require.Equal(t, int64(2), rec.RowsRead)
				require.Equal(t, int64(2), rec.RowsWritten)
				require.Equal(t, 2+i, f.snapshots(t, "dev", "raw.m"), "one snapshot per run")
				require.Equal(t, []string{"1|eu|a", "2|eu|B", "2|us|c", "3|eu|d"},
					f.query(t, "dev", "SELECT id, region, v FROM raw.m ORDER BY id, region"), "run %d", i+1)
			}
			require.Contains(t, f.query(t, "dev", "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM raw.m)"), "id|BIGINT")

			for _, c := range []struct{ name, body, want string }{
				{"dup.csv", "id,region,v\n5,eu,x\n5,eu,y\n", "(id, region)=(5, eu) 2 times"},
				{"null.csv", "id,region,v\n6,,x\n", "(id, region)=(6, (null)) 1 times"},
			} {
				_, err = run(mergeJob(f.file(t, c.name, c.body)))
				require.Error(t, err)
				require.Equal(t, errs.BadData, errs.KindOf(err), err.Error())
				require.ErrorContains(t, err, c.want)
				require.ErrorContains(t, err, "DISTINCT ON (id, region)")
			}
			_, err = run(mergeJob(f.file(t, "nokey.csv", "id,v\n7,x\n")))
			require.ErrorContains(t, err, `merge key column "region" is not among the new rows' columns (id, v)`)
			_, err = run("name: m\nsource: {type: files, path: '" + f.file(t, "nov.csv", "id,region\n7,eu\n") +
				"'}\ntarget: {type: lake, table: raw.m, mode: merge, key: [id, region]}\n")
			require.ErrorIs(t, err, envs.ErrSchemaMismatch)
			require.ErrorContains(t, err, "table columns missing from the data: v (string)")
			require.Equal(t, 3, f.snapshots(t, "dev", "raw.m"), "no failed run committed")

			// Another write lands while the merge computes: the merge commits nothing rather than drop it.
			spec, ps := f.job(t, mergeJob(second), nil)
			d := f.deps("dev")
			d.Progress = func(func() int64) func() {
				_, err := f.svc.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "m"}, rowsOf(t, f, "id,region,v\n9,eu,z\n"),
					envs.WriteOptions{Actor: "other"})
				require.NoError(t, err)
				return func() {}
			}
			_, err = move.Run(ctx, d, spec, ps)
			require.ErrorIs(t, err, envs.ErrConflict)
			require.ErrorContains(t, err, "run it again")
			require.Equal(t, 4, f.snapshots(t, "dev", "raw.m"), "only the other write's snapshot")
			_, err = move.Run(ctx, f.deps("dev"), spec, ps)
			require.NoError(t, err)
			require.Equal(t, []string{"1|eu|a", "2|eu|B", "2|us|c", "3|eu|d", "9|eu|z"},
				f.query(t, "dev", "SELECT id, region, v FROM raw.m ORDER BY id, region"))
		})
	}
}

// TestRunOverwritePartition: the table's rows of the partitions the new rows hold are replaced (a NULL
// partition is a partition); the others stay; in prod the run builds on the staging head, not the release.
func TestRunOverwritePartition(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	job := func(path string) string {
		return "name: p\nsource: {type: files, path: '" + path + "'}\ntarget: {type: lake, table: raw.p, mode: overwrite-partition, partition: [day]}\n"
	}
	for _, env := range []string{"dev", "prod"} {
		d := f.deps(env)
		d.Force = true
		run := func(body string) {
			t.Helper()
			spec, ps := f.job(t, job(f.file(t, env+".csv", body)), nil)
			_, err := move.Run(ctx, d, spec, ps)
			require.NoError(t, err)
		}
		run("day,n\n2026-11-01,1\n2026-11-02,2\n2026-11-02,3\n,4\n2026-11-03,5\n")
		if env == "prod" {
			_, err := f.svc.Publish(ctx, "prod", []lake.Ident{{Zone: "raw", Name: "p"}}, envs.PublishOptions{Actor: "t"})
			require.NoError(t, err)
		}
		run("day,n\n2026-11-02,20\n,40\n2026-11-04,6\n")
		run("day,n\n2026-11-03,50\n") // builds on the staged run above in prod, not on the release
		if env == "prod" {
			_, err := f.svc.Publish(ctx, "prod", []lake.Ident{{Zone: "raw", Name: "p"}}, envs.PublishOptions{Actor: "t"})
			require.NoError(t, err)
		}
		require.Equal(t, []string{"2026-11-01|1", "2026-11-02|20", "2026-11-03|50", "2026-11-04|6", "(null)|40"},
			f.query(t, env, "SELECT day, n FROM raw.p ORDER BY day NULLS LAST, n"), env)
		require.Equal(t, 3, f.snapshots(t, env, "raw.p"))
	}
}

// rowsOf reads CSV text as the engine reads a file.
func rowsOf(t *testing.T, f *fixture, csv string) *engine.FileReader {
	t.Helper()
	r, err := f.eng.ReadFile(context.Background(), f.file(t, "rows.csv", csv), engine.ReadOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}
