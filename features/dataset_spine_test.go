package features

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestDatasetAsSpine: a built dataset (zone datasets, as the issue's `--spine datasets.some_table`) is the spine
// of another build: its spine_row gives the new build's spine order, and the new dataset has one spine_row.
func TestDatasetAsSpine(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spine := f.file(t, "spine.csv", spineCSV)
	_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train", Spine: spine, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train2", Spine: "datasets.train", Features: []string{"user_all:scaled"}})
	require.NoError(t, err, "a dataset is a spine")
	require.Equal(t, int64(8), ds.Rows)
	require.Equal(t, []string{"a,10,20", "b,1,2", "c,6,12", "d,6,12", "e,NULL,NULL", "f,NULL,NULL", "g,NULL,600", "h,NULL,12"},
		f.rows(t, "dev", "SELECT label, total, scaled FROM datasets.train2 ORDER BY spine_row"))
	// A view over one table (read by position) on a dataset spine, full names beside the spine's total.
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "train3", Spine: "datasets.train", FullNames: true, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	require.Equal(t, []string{"a,10,10", "b,1,1", "c,6,6", "d,6,6", "e,NULL,NULL", "f,NULL,NULL", "g,NULL,NULL", "h,NULL,NULL"},
		f.rows(t, "dev", "SELECT label, total, user_stats__total FROM datasets.train3 ORDER BY spine_row"))
}

// TestDatasetSpineRowOrder: a spine file holding a dataset's rows (its integer spine_row, rows in any order)
// is read in spine_row order and numbered again; a spine_row of another type is refused, naming it.
func TestDatasetSpineRowOrder(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spine := f.file(t, "ds.csv", "spine_row,user_id,event_timestamp,label\n"+
		"7,1,2024-01-05 00:00:00,c\n2,2,2024-01-11 00:00:00,a\n5,1,2024-01-04 00:00:00,b\n")
	ds, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "again", Spine: spine, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	require.Equal(t, []string{"event_timestamp", "label", SpineRow, "total", "user_id"}, ds.Lineage.Columns, "one spine_row: the new build's")
	require.Equal(t, []string{"1,a,10", "2,b,1", "3,c,6"}, f.rows(t, "dev", "SELECT spine_row, label, total FROM datasets.again ORDER BY spine_row"))

	bad := f.file(t, "bad.csv", "spine_row,user_id,event_timestamp\nx,1,2024-01-05 00:00:00\n")
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "bad", Spine: bad, Features: []string{"user_stats:total"}})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "the spine has a column spine_row of type string")
	require.ErrorContains(t, err, "rename it")
}
