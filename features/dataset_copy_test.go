package features

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// copySpy is the engine as the lake's FileWriter (as the CLI wires it), noting whether each reader it wrote
// was an engine result copied by its own database.
type copySpy struct {
	eng    *engine.Engine
	copied []bool
}

func (s *copySpy) CanWrite(sc *arrow.Schema) bool { return s.eng.CanWrite(sc) }

func (s *copySpy) WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, sc *arrow.Schema) ([]string, error) {
	files, err := s.eng.WriteParquet(ctx, rdr, dir, sc)
	r, ok := rdr.(interface{ Unwrap() array.RecordReader })
	for ok {
		rdr = r.Unwrap()
		r, ok = rdr.(interface{ Unwrap() array.RecordReader })
	}
	res, isResult := rdr.(*engine.Result)
	s.copied = append(s.copied, isResult && res.Copied())
	return files, err
}

// TestDatasetBuildCopiesInEngine checks that with the engine writing the lake's files, a dataset's rows go from
// the join's DuckDB database straight to Parquet (no Arrow through Go), with the same rows and counts as read.
func TestDatasetBuildCopiesInEngine(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, testenv.SQLiteDSN(t))
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	eng, err := engine.New(engine.Options{Threads: 2, TempDir: t.TempDir(), ExternalAccess: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	spy := &copySpy{eng: eng}
	svc := envs.New(db, lk, envs.Options{Files: spy})
	require.NoError(t, svc.Init(ctx))
	f := &fixture{ctx: ctx, envs: svc, eng: eng, b: &Builder{Registry: NewRegistry(db), Envs: svc, Engine: eng}, dir: t.TempDir()}
	f.importCSV(t, "dev", "clean.user_stats", statsCSV)
	_, err = f.b.Registry.Apply(ctx, "dev", mustParse(t, datasetDefs), "ann")
	require.NoError(t, err)

	spy.copied = nil
	ds, err := f.b.Build(ctx, DatasetRequest{Env: "dev", Name: "train", Spine: f.file(t, "spine.csv", spineCSV),
		Features: []string{"user_stats:total", "user_all:scaled"}, Actor: "ann"})
	require.NoError(t, err)
	require.Equal(t, []bool{true}, spy.copied, "the build's rows were copied by the join's own database")
	require.Equal(t, int64(8), ds.Rows)
	require.Equal(t, []string{"a,10,20", "b,1,2", "c,6,12", "d,6,12", "e,NULL,NULL", "f,NULL,NULL", "g,NULL,600", "h,NULL,12"},
		f.rows(t, "dev", "SELECT label, total, scaled FROM datasets.train ORDER BY spine_row"))
	require.Equal(t, map[string]string{"label": "string", "user_id": "long", "event_timestamp": "timestamp", "total": "long",
		"scaled": "long", SpineRow: "long"}, ds.Lineage.ColumnTypes)

	// A lake-table spine, sampled, with other columns: a rebuild replaces the columns, copied again.
	f.importCSV(t, "dev", "raw.spine", spineCSV)
	seed := int64(7)
	spy.copied = nil
	ds, err = f.b.Build(ctx, DatasetRequest{Env: "dev", Name: "train", Spine: "raw.spine", FullNames: true, Sample: 0.5, Seed: &seed,
		Features: []string{"user_all:scaled"}})
	require.NoError(t, err)
	require.Equal(t, []bool{true}, spy.copied)
	require.Equal(t, int64(4), ds.Rows)
	require.Len(t, f.rows(t, "dev", "SELECT label, user_all__scaled FROM datasets.train ORDER BY spine_row"), 4)
}
