//go:build duckdb_arrow

package move_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// TestRunQuarantine: malformed rows (wrong column count, a bad number, a bad date, invalid UTF-8, an
// unterminated quote) within max_bad_rows are skipped, and land in the quarantine table with file, line, raw
// text and reason in the same run, while the good rows land in the target; above the limit the run fails and
// commits nothing to either table, its error naming the count and the first bad rows.
func TestRunQuarantine(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testenv.SQLiteDSN(t))
			ctx := context.Background()
			job := func(path string, max int) string {
				return "name: q\nsource: {type: files, path: '" + path + "'}\ntarget: {type: lake, table: raw.q}\n" +
					"on_error: {max_bad_rows: " + strconv.Itoa(max) + ", quarantine: raw.q__rejected}\n"
			}
			var seed, body string
			var want []string
			if format == "csv" {
				seed = "id,amount,day,note\n0,0.5,2026-11-01,seed\n"
				body = "id,amount,day,note\n1,1.5,2026-11-01,ok\n2,abc,2026-11-02,x\n3,2.5,2026-13-45,x\n4,3.5,2026-11-04\n" +
					"5,4.5,2026-11-05,x,extra\n6,5.5,2026-11-06,caf\xe9\n7,6.5,2026-11-07,fine\n"
				want = []string{"3|2,abc,2026-11-02,x", "4|3,2.5,2026-13-45,x", "5|4,3.5,2026-11-04",
					"6|5,4.5,2026-11-05,x,extra", `7|6,5.5,2026-11-06,caf\xe9`}
			} else {
				seed = `{"id": 0, "amount": 0.5, "day": "2026-11-01", "note": "seed"}` + "\n"
				body = `{"id": 1, "amount": 1.5, "day": "2026-11-01", "note": "ok"}` + "\n" +
					`{"id": 2, "amount": 2.5, "day": "2026-11-02", "note": "x"` + "\n" +
					`{"id": 4, "amount": 3.5, "day": "2026-11-04", "note": "caf` + "\xe9" + `"}` + "\n" +
					`{"id": 7, "amount": 6.5, "day": "2026-11-07", "note": "fine"}` + "\n" +
					`{"id": 8, "amount": 7.5, "day": "2026-11-08", "note": "open}` + "\n"
				want = []string{`2|{"id": 2, "amount": 2.5, "day": "2026-11-02", "note": "x"`,
					`3|{"id": 4, "amount": 3.5, "day": "2026-11-04", "note": "caf\xe9"}`,
					`5|{"id": 8, "amount": 7.5, "day": "2026-11-08", "note": "open}`}
			}
			spec, ps := f.job(t, job(f.file(t, "seed."+format, seed), 5), nil)
			_, err := move.Run(ctx, f.deps("dev"), spec, ps)
			require.NoError(t, err)

			bad := f.file(t, "in."+format, body)
			spec, ps = f.job(t, job(bad, len(want)-1), nil)
			rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
			require.Error(t, err, "one bad row too many")
			require.Equal(t, errs.BadData, errs.KindOf(err))
			require.ErrorContains(t, err, "malformed rows")
			require.ErrorContains(t, err, "on_error: {max_bad_rows: N}")
			require.Equal(t, move.StatusFailed, rec.Status)
			require.Equal(t, 1, f.snapshots(t, "dev", "raw.q"))
			require.Equal(t, 0, f.snapshots(t, "dev", "raw.q__rejected"))

			spec, ps = f.job(t, job(bad, len(want)), nil)
			rec, err = move.Run(ctx, f.deps("dev"), spec, ps)
			require.NoError(t, err)
			require.Equal(t, int64(len(want)), rec.RowsRejected)
			require.Equal(t, int64(len(want)), rec.Quarantined)
			require.NotZero(t, rec.QuarantineSnapshot)
			require.Equal(t, []string{"0|0.5|2026-11-01|seed", "1|1.5|2026-11-01|ok", "7|6.5|2026-11-07|fine"},
				f.query(t, "dev", "SELECT id, amount, day, note FROM raw.q ORDER BY id"), "good rows, never padded or widened")
			require.Equal(t, want, f.query(t, "dev", "SELECT line, raw FROM raw.q__rejected ORDER BY line"))
			got := f.query(t, "dev", "SELECT DISTINCT run_id, job, file = '"+bad+"', reason <> '' FROM raw.q__rejected")
			require.Equal(t, []string{rec.ID + "|q|true|true"}, got)
		})
	}
}

// TestRunQuarantineJSONWrongTypes: JSON values that cannot become their column's type (a string that is no
// number in a number column, an object or an array where a scalar is expected, a non-date in a date column)
// are malformed rows like any other: within max_bad_rows the good rows land and those lines go to the
// quarantine table with their raw text and a reason naming the column; above it nothing is committed.
func TestRunQuarantineJSONWrongTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	job := func(path string, max int) string {
		return "name: qj\nsource: {type: files, path: '" + path + "'}\ntarget: {type: lake, table: raw.qj}\n" +
			"on_error: {max_bad_rows: " + strconv.Itoa(max) + ", quarantine: raw.qj__rejected}\n"
	}
	seed := `{"id": 0, "amount": 0.5, "day": "2026-11-01", "note": "seed"}` + "\n"
	spec, ps := f.job(t, job(f.file(t, "seed.jsonl", seed), 1), nil)
	_, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)

	body := `{"id": 1, "amount": 1.5, "day": "2026-11-01", "note": "ok"}` + "\n" +
		`{"id": 2, "amount": "abc", "day": "2026-11-02", "note": "x"}` + "\n" +
		`{"id": 3, "amount": {"v": 2.5}, "day": "2026-11-03", "note": "x"}` + "\n" +
		`{"id": [4], "amount": 3.5, "day": "2026-11-04", "note": "x"}` + "\n" +
		`{"id": 5, "amount": 4.5, "day": "someday", "note": "x"}` + "\n" +
		`{"id": 6, "amount": "6.5", "day": "2026-11-06", "note": {"any": "text"}}` + "\n"
	want := []string{`2|amount|{"id": 2, "amount": "abc", "day": "2026-11-02", "note": "x"}`,
		`3|amount|{"id": 3, "amount": {"v": 2.5}, "day": "2026-11-03", "note": "x"}`,
		`4|id|{"id": [4], "amount": 3.5, "day": "2026-11-04", "note": "x"}`,
		`5|day|{"id": 5, "amount": 4.5, "day": "someday", "note": "x"}`}
	bad := f.file(t, "in.jsonl", body)
	spec, ps = f.job(t, job(bad, len(want)-1), nil)
	rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
	require.Error(t, err, "one bad row too many")
	require.Equal(t, errs.BadData, errs.KindOf(err))
	require.ErrorContains(t, err, "malformed rows")
	require.ErrorContains(t, err, `line 2, column "amount": the string "abc" where the column's type DOUBLE needs a number`)
	require.Equal(t, move.StatusFailed, rec.Status)
	require.Equal(t, 1, f.snapshots(t, "dev", "raw.qj"))
	require.Equal(t, 0, f.snapshots(t, "dev", "raw.qj__rejected"))

	spec, ps = f.job(t, job(bad, len(want)), nil)
	rec, err = move.Run(ctx, f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.Equal(t, int64(len(want)), rec.Quarantined)
	require.Equal(t, []string{"0|0.5|2026-11-01|seed", "1|1.5|2026-11-01|ok", `6|6.5|2026-11-06|{"any":"text"}`},
		f.query(t, "dev", "SELECT id, amount, day, note FROM raw.qj ORDER BY id"))
	require.Equal(t, want, f.query(t, "dev", "SELECT line, \"column\", raw FROM raw.qj__rejected ORDER BY line"))
}

// TestRunQuarantineCSVUnterminatedQuote: a CSV value whose quote never closes (or closes before text that is no
// delimiter) is a malformed row at the line where it opens: within max_bad_rows the other rows land (the rest
// of the file is read from the next line on, quoting intact) and that line goes to the quarantine table; above
// it the run fails naming the line, and commits nothing.
func TestRunQuarantineCSVUnterminatedQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       []string
		rows       []string
	}{
		{name: "no other quotes", body: "id,amount,day,note\n1,1.5,2026-11-01,ok\n2,2.5,2026-11-02,\"open\n3,3.5,2026-11-03,fine\n",
			want: []string{`3|note|2,2.5,2026-11-02,"open`}, rows: []string{"1|ok", "3|fine"}},
		{name: "two, and quoted values", body: "id,amount,day,note\n1,1.5,2026-11-01,\"a, b\"\n2,2.5,2026-11-02,\"open\n" +
			"3,3.5,2026-11-03,\"x\"y\n4,4.5,2026-11-04,\"c\"\n",
			want: []string{`3|note|2,2.5,2026-11-02,"open`, `4|note|3,3.5,2026-11-03,"x"y`}, rows: []string{"1|a, b", "4|c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testenv.SQLiteDSN(t))
			ctx := context.Background()
			job := func(path string, max int) string {
				q := ", quarantine: raw.qq__rejected"
				if max == 0 {
					q = ""
				}
				return "name: qq\nsource: {type: files, path: '" + path + "'}\ntarget: {type: lake, table: raw.qq}\n" +
					"on_error: {max_bad_rows: " + strconv.Itoa(max) + q + "}\n"
			}
			bad := f.file(t, "in.csv", tc.body)
			spec, ps := f.job(t, job(bad, len(tc.want)-1), nil)
			rec, err := move.Run(ctx, f.deps("dev"), spec, ps)
			require.Error(t, err, "one bad row too many")
			require.Equal(t, errs.BadData, errs.KindOf(err))
			require.ErrorContains(t, err, "line 3")
			require.ErrorContains(t, err, "the quoted value that starts here")
			require.Equal(t, move.StatusFailed, rec.Status)
			require.Equal(t, 0, f.snapshots(t, "dev", "raw.qq"))
			require.Equal(t, 0, f.snapshots(t, "dev", "raw.qq__rejected"))

			spec, ps = f.job(t, job(bad, len(tc.want)), nil)
			rec, err = move.Run(ctx, f.deps("dev"), spec, ps)
			require.NoError(t, err)
			require.Equal(t, int64(len(tc.want)), rec.Quarantined)
			require.Equal(t, tc.rows, f.query(t, "dev", "SELECT id, note FROM raw.qq ORDER BY id"))
			require.Equal(t, tc.want, f.query(t, "dev", "SELECT line, \"column\", raw FROM raw.qq__rejected ORDER BY line"))
		})
	}
}
