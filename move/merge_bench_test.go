//go:build duckdb_arrow

package move_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// BenchmarkMerge merges 20k rows (10k updates of the newest ids, 10k new) into a 2M-row table written as 8
// appends of 250k rows (8 data files), against appending them: a small merge into a large table. The table is
// built once per sub-benchmark, outside the timer; each iteration merges (or appends) the same rows again.
// Data files are written by the engine's DuckDB, as in the CLI and the server.
//
//	go test -tags duckdb_arrow ./move -run XXX -bench BenchmarkMerge -benchtime 3x
func BenchmarkMerge(b *testing.B) {
	f := newFixture(b, testenv.SQLiteDSN(b))
	f.svc = envs.New(f.db, f.svc.Lake(), envs.Options{Files: f.eng}) // as the CLI and server write: DuckDB encodes
	ctx := context.Background()
	csv := func(name string, from, n int) string {
		var sb strings.Builder
		sb.WriteString("id,name,amount\n")
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&sb, "%d,name %d,%d.25\n", i, i%1000, i%777)
		}
		return f.file(b, name, sb.String())
	}
	const files, perFile, delta = 8, 250_000, 20_000
	var parts []string
	for p := range files {
		parts = append(parts, csv(fmt.Sprintf("base%d.csv", p), p*perFile, perFile))
	}
	deltaFile := csv("delta.csv", files*perFile-delta/2, delta)
	for _, mode := range []string{"append", "merge"} {
		b.Run(mode, func(b *testing.B) {
			table := "raw." + mode
			for _, part := range parts {
				load, ps := jobOf(b, f, "name: l\nsource: {type: files, path: '"+part+"'}\ntarget: {type: lake, table: "+table+"}\n")
				if _, err := move.Run(ctx, f.deps("dev"), load, ps); err != nil {
					b.Fatal(err)
				}
			}
			extra := ""
			if mode == "merge" {
				extra = ", mode: merge, key: [id]"
			}
			spec, ps := jobOf(b, f, "name: d\nsource: {type: files, path: '"+deltaFile+"'}\ntarget: {type: lake, table: "+table+extra+"}\n")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := move.Run(ctx, f.deps("dev"), spec, ps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func jobOf(b *testing.B, f *fixture, body string) (*move.Spec, move.Params) {
	s, err := move.Parse("job.yaml", []byte(body))
	if err != nil {
		b.Fatal(err)
	}
	ps, err := move.ResolveParams(s, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return s, ps
}
