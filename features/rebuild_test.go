package features

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// exportRows reads a dataset version's export as a header line and value lines ("NULL" for nulls).
func exportRows(t *testing.T, f *fixture, name string, version int64) []string {
	t.Helper()
	res, _, err := f.b.Export(f.ctx, "dev", name, version)
	require.NoError(t, err)
	return resultLines(t, res)
}

func resultLines(t *testing.T, res *engine.Result) []string {
	t.Helper()
	defer res.Close()
	var names []string
	for _, fld := range res.Schema().Fields() {
		names = append(names, fld.Name)
	}
	out := []string{strings.Join(names, ",")}
	for res.Next() {
		rec := res.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			var cells []string
			for c := 0; c < int(rec.NumCols()); c++ {
				if col := rec.Column(c); col.IsNull(r) {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, strings.Clone(col.ValueStr(r)))
				}
			}
			out = append(out, strings.Join(cells, ","))
		}
	}
	require.NoError(t, res.Err())
	return out
}

// TestDatasetRebuildReplacesColumns: a rebuild with other features leaves the dataset's table with the new
// build's columns only (no NULL columns left from the earlier build), while the earlier version still reads,
// and exports, with its own columns and values.
func TestDatasetRebuildReplacesColumns(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t))
			spine := f.file(t, "spine.csv", spineCSV)
			_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine,
				Features: []string{"user_stats:total", "user_all:scaled"}, Actor: "ann"})
			require.NoError(t, err)
			v2, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine, FullNames: true,
				Features: []string{"user_all:scaled"}, Actor: "ann"})
			require.NoError(t, err)
			require.Equal(t, int64(2), v2.Version)

			p, err := f.envs.Resolve(f.ctx, "dev", lake.Ident{Zone: "datasets", Name: "train"}, lake.SnapshotRef{})
			require.NoError(t, err)
			var cols []string
			for _, c := range p.Columns {
				cols = append(cols, c.Name)
			}
			require.ElementsMatch(t, []string{"user_id", "event_timestamp", "label", "user_all__scaled", SpineRow}, cols,
				"the rebuilt table has the new build's columns only")
			require.Equal(t, "user_id,event_timestamp,label,spine_row,user_all__scaled",
				f.rows(t, "dev", "SELECT string_agg(column_name, ',') FROM (DESCRIBE SELECT * FROM datasets.train)")[0])

			v1 := exportRows(t, f, "train", 1)
			require.Equal(t, "label,total,scaled", keep(t, v1[0], "label", "total", "scaled"))
			require.Len(t, v1, 9)
			require.NotContains(t, v1[0], "user_all__scaled")
			latest := exportRows(t, f, "train", 0)
			require.NotContains(t, latest[0], "total")
			require.Contains(t, latest[0], "user_all__scaled")
			require.Len(t, latest, 9)
		})
	}
}

// keep returns the names of header (comma-separated) that are among want, in header order.
func keep(t *testing.T, header string, want ...string) string {
	t.Helper()
	var out []string
	for _, n := range strings.Split(header, ",") {
		for _, w := range want {
			if n == w {
				out = append(out, n)
			}
		}
	}
	return strings.Join(out, ",")
}
