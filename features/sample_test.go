package features

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestDatasetSampling: --sample keeps round(fraction × rows) spine rows chosen by the seed: the same seed gives
// the same rows, another seed others; stratified sampling keeps the fraction of each value's rows; the seed
// (chosen at random when not given) is in the lineage and rebuilds the same rows.
func TestDatasetSampling(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	var sb strings.Builder
	sb.WriteString("user_id,event_timestamp,label\n")
	for i := 0; i < 1000; i++ {
		label := "a"
		if i%10 >= 7 {
			label = "b"
		}
		fmt.Fprintf(&sb, "%d,2024-01-11 00:00:00,%s\n", 1+i%3, label)
	}
	spine := f.file(t, "spine.csv", sb.String())
	build := func(req DatasetRequest) (*Dataset, []string) {
		req.Env, req.Name, req.Spine, req.Features = "dev", "s", spine, []string{"user_stats:total"}
		ds, err := f.b.Build(f.ctx, req)
		require.NoError(t, err)
		return ds, f.rows(t, "dev", "SELECT spine_row FROM datasets.s ORDER BY spine_row")
	}
	seed := func(n int64) *int64 { return &n }
	ds, seven := build(DatasetRequest{Sample: 0.1, Seed: seed(7)})
	require.Len(t, seven, 100)
	require.Equal(t, int64(100), ds.Rows)
	require.Equal(t, &Sampling{Fraction: 0.1, Seed: 7}, ds.Lineage.Sampling)
	_, again := build(DatasetRequest{Sample: 0.1, Seed: seed(7)})
	require.Equal(t, seven, again, "the same seed keeps the same rows")
	_, eight := build(DatasetRequest{Sample: 0.1, Seed: seed(8)})
	require.Len(t, eight, 100)
	require.NotEqual(t, seven, eight, "another seed keeps other rows")

	ds, _ = build(DatasetRequest{Sample: 0.1, Seed: seed(7), Stratify: "label"})
	require.Equal(t, &Sampling{Fraction: 0.1, Seed: 7, Stratify: "label"}, ds.Lineage.Sampling)
	require.Equal(t, []string{"a,70", "b,30"}, f.rows(t, "dev", "SELECT label, count(*) FROM datasets.s GROUP BY label ORDER BY label"))

	ds, random := build(DatasetRequest{Sample: 0.25})
	require.Len(t, random, 250)
	_, replay := build(DatasetRequest{Sample: 0.25, Seed: &ds.Lineage.Sampling.Seed})
	require.Equal(t, random, replay, "the recorded seed rebuilds the same rows")

	_, all := build(DatasetRequest{Sample: 1, Seed: seed(3)})
	require.Len(t, all, 1000)

	for _, tc := range []struct {
		req  DatasetRequest
		want string
	}{
		{DatasetRequest{Sample: 1.5}, "sample 1.5: give a fraction of the spine's rows above 0 and at most 1"},
		{DatasetRequest{Sample: -0.1}, "sample -0.1"},
		{DatasetRequest{Seed: seed(1)}, "sample 0: give a fraction"},
		{DatasetRequest{Sample: 0.5, Stratify: "nope"}, `stratify: the spine has no column "nope" (it has event_timestamp, label, user_id)`},
	} {
		tc.req.Env, tc.req.Name, tc.req.Spine, tc.req.Features = "dev", "s", spine, []string{"user_stats:total"}
		_, err := f.b.Build(f.ctx, tc.req)
		require.ErrorIs(t, err, ErrInvalid)
		require.ErrorContains(t, err, tc.want)
	}
}

// TestDatasetExport: a dataset version's rows come back in spine order without spine_row, from the snapshot
// that build wrote, also after a rebuild overwrote the table.
func TestDatasetExport(t *testing.T) {
	f := newFixture(t, testenv.SQLiteDSN(t))
	spine := f.file(t, "spine.csv", spineCSV)
	_, err := f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "ex", Spine: spine, Features: []string{"user_stats:total"}})
	require.NoError(t, err)
	_, err = f.b.Build(f.ctx, DatasetRequest{Env: "dev", Name: "ex", Spine: spine, Features: []string{"user_all:scaled"}})
	require.NoError(t, err)
	read := func(version int64) []string {
		res, d, err := f.b.Export(f.ctx, "dev", "ex", version)
		require.NoError(t, err)
		defer res.Close()
		var out []string
		for res.Next() {
			rec := res.RecordBatch()
			var names []string
			for _, fl := range rec.Schema().Fields() {
				names = append(names, fl.Name)
			}
			out = append(out, fmt.Sprintf("v%d %s", d.Version, strings.Join(names, ",")))
			for r := 0; r < int(rec.NumRows()); r++ {
				out = append(out, strings.Clone(rec.Column(2).ValueStr(r))+"="+strings.Clone(rec.Column(3).ValueStr(r)))
			}
		}
		require.NoError(t, res.Err())
		return out
	}
	require.Equal(t, []string{"v1 user_id,event_timestamp,label,total", "a=10", "b=1", "c=6", "d=6", "e=(null)", "f=(null)", "g=(null)", "h=(null)"}, read(1))
	require.Equal(t, []string{"v2 user_id,event_timestamp,label,scaled", "a=20", "b=2", "c=12", "d=12", "e=(null)", "f=(null)", "g=600", "h=12"}, read(0))
	_, _, err = f.b.Export(f.ctx, "dev", "ex", 3)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "dataset ex has no version 3 (versions 1 to 2)")
	_, _, err = f.b.Export(f.ctx, "dev", "nope", 0)
	require.ErrorIs(t, err, ErrNotFound)
}
