package features

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

// BenchmarkMaterializeLateRows compares, on 200k order rows of 2,000 users with four window aggregations, a
// full materialisation with an incremental one that picks up 20 late rows (recomputing their entities' rows)
// and with one that finds nothing new.
//
//	go test -tags duckdb_arrow ./features/ -run '^$' -bench MaterializeLateRows -benchtime 5x
func BenchmarkMaterializeLateRows(b *testing.B) {
	ctx := context.Background()
	db := openDBB(b, testenv.SQLiteDSN(b))
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: b.TempDir()})
	require.NoError(b, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(b, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 2, TempDir: b.TempDir(), ExternalAccess: true})
	require.NoError(b, err)
	b.Cleanup(func() { _ = eng.Close() })
	reg := NewRegistry(db)
	dir := b.TempDir()
	var base strings.Builder
	base.WriteString("user_id,event_ts,created_ts,amount,item\n")
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200_000 {
		ev := jan.Add(time.Duration(i*13) * time.Second)
		fmt.Fprintf(&base, "%d,%s,%s,%d,%c\n", i%2000, ev.Format(time.DateTime), ev.Format(time.DateTime), i%97, 'a'+rune(i%7))
	}
	imports := 0
	load := func(body string) {
		imports++
		p := filepath.Join(dir, fmt.Sprintf("orders%d.csv", imports))
		require.NoError(b, os.WriteFile(p, []byte(body), 0o644))
		_, err := svc.ImportFile(ctx, eng, "dev", lake.Ident{Zone: "clean", Name: "orders"}, p, engine.ReadOptions{},
			envs.WriteOptions{CreateIfMissing: true, Mode: envs.Overwrite, Actor: "bench"})
		require.NoError(b, err)
	}
	load(base.String())
	defs := datasetDefs[:strings.Index(datasetDefs, "feature_views:")] + `feature_views:
  - name: orders
    entities: [user]
    source: {table: clean.orders}
    event_time: event_ts
    created_time: created_ts
    features:
      - {name: amount, type: long}
      - {name: sum_1h, type: long, aggregation: {function: sum, column: amount, window: 1h}}
      - {name: n_1d, type: long, aggregation: {function: count, window: 1d}}
      - {name: mean_7d, type: double, aggregation: {function: mean, column: amount, window: 7d}}
      - {name: items_30d, type: long, aggregation: {function: count_distinct, column: item, window: 30d}}
`
	_, err = reg.Apply(ctx, "dev", mustParseB(b, defs), "bench")
	require.NoError(b, err)
	m := &Materializer{Registry: reg, Envs: svc, Engine: eng}
	run := func(incremental bool) {
		_, err := m.Materialize(ctx, MaterializeRequest{Env: "dev", Views: []string{"orders"}, Incremental: incremental})
		require.NoError(b, err)
	}
	b.Run("full", func(b *testing.B) {
		for range b.N {
			run(false)
		}
	})
	b.Run("incremental-late", func(b *testing.B) {
		for i := range b.N {
			b.StopTimer()
			created := jan.AddDate(1, 0, i)
			for j := range 20 {
				fmt.Fprintf(&base, "%d,%s,%s,5,z\n", j*97, jan.Add(time.Duration(j)*time.Hour*24).Format(time.DateTime), created.Format(time.DateTime))
			}
			load(base.String())
			b.StartTimer()
			run(true)
		}
	})
	b.Run("incremental-nothing-new", func(b *testing.B) {
		for range b.N {
			run(true)
		}
	})
}
