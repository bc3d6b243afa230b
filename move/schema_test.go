//go:build duckdb_arrow

package move_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// TestRunSchemaEvolveAndTheFailingDiff: a new source column reaches the table only with schema: evolve;
// without it the run fails showing the difference and what the job can change (not `table import`'s flags),
// committing nothing; a table column the source lacks fails even with evolve.
func TestRunSchemaEvolveAndTheFailingDiff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	job := func(file, schema string) (*move.Spec, move.Params) {
		return f.job(t, "name: e\nsource: {type: files, path: '"+file+"'}\ntarget: {type: lake, table: raw.e}\nschema: "+schema+"\n", nil)
	}
	spec, ps := job(f.file(t, "a.csv", "id,amount\n1,1.5\n"), "strict")
	_, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)

	wider := f.file(t, "b.csv", "id,amount,coupon\n2,2.5,XMAS\n")
	spec, ps = job(wider, "strict")
	rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.ErrorIs(t, err, envs.ErrSchemaMismatch)
	require.Equal(t, errs.Invalid, errs.KindOf(err))
	require.ErrorContains(t, err, "columns not in the table: coupon (string)")
	require.ErrorContains(t, err, "schema: evolve in the job adds the new columns to the table; nothing was committed")
	require.NotContains(t, err.Error(), "--schema")
	require.Equal(t, move.StatusFailed, rec.Status)
	require.Contains(t, rec.Error, "coupon (string)", "the run history keeps the difference")
	require.Equal(t, 1, f.snapshots(t, "dev", "raw.e"))
	p, err := move.Plan(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.True(t, p.WouldFailSchema)

	spec, ps = job(wider, "evolve")
	p, err = move.Plan(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.False(t, p.WouldFailSchema)
	require.Equal(t, []move.PlanColumn{{Name: "coupon", Type: "string"}}, p.AddedColumns)
	_, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.Equal(t, 2, f.snapshots(t, "dev", "raw.e"))
	require.Equal(t, []string{"1|1.5|(null)", "2|2.5|XMAS"}, f.query(t, "dev", "SELECT id, amount, coupon FROM raw.e ORDER BY id"))

	spec, ps = job(f.file(t, "c.csv", "id,coupon\n3,NY\n"), "evolve")
	_, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.ErrorIs(t, err, envs.ErrSchemaMismatch)
	require.ErrorContains(t, err, "table columns missing from the data: amount (double)")
	require.ErrorContains(t, err, "the source must give every table column")
	require.Equal(t, 2, f.snapshots(t, "dev", "raw.e"))
}

// TestRunColumnNamesCollide: a rename onto a column the source keeps, two renames to one name, and a source
// with two columns of one name are refused before anything is written, by plan and run alike, naming them.
func TestRunColumnNamesCollide(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDSN(t)
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	d := f.deps("dev")
	d.Lookup = func(k string) (string, bool) { return pg, k == "PG" }
	src := f.file(t, "a.csv", "id,amt,amount\n1,2,3\n")
	for _, tc := range []struct{ source, columns, want string }{
		{"{type: files, path: '" + src + "'}", "columns: [{name: amt, rename: amount}]",
			`columns: "amt" is renamed to "amount", but the source has a column "amount" too: drop it or rename it as well`},
		{"{type: files, path: '" + src + "'}", "columns: [{name: amt, rename: x}, {name: amount, rename: x}]",
			`columns: amt and amount are all renamed to "x"`},
		{"{type: postgres, dsn: '${PG}', query: 'SELECT 1 AS a, 2 AS a'}", "",
			`the source has two columns named "a": give them distinct names`},
		{"{type: postgres, dsn: '${PG}', query: 'SELECT 1 AS a, 2 AS b, 3 AS a'}", "columns: [{name: b, rename: c}]",
			`the source has two columns named "a"`},
	} {
		spec, ps := f.job(t, "name: c\nsource: "+tc.source+"\ntarget: {type: lake, table: raw.c}\n"+tc.columns+"\n", nil)
		_, err := move.Plan(ctx, d, spec, ps)
		require.ErrorIs(t, err, move.ErrInvalid, tc.want)
		require.ErrorContains(t, err, tc.want)
		_, err = move.Run(ctx, d, spec, ps)
		require.ErrorIs(t, err, move.ErrInvalid, tc.want)
		require.ErrorContains(t, err, tc.want)
		require.Equal(t, 0, f.snapshots(t, "dev", "raw.c"))
	}
}
