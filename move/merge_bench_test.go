//go:build duckdb_arrow

package move_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// BenchmarkMerge merges 50k rows (half updates, half new) into a 500k-row table, against appending them: the
// cost of computing the new contents in DuckDB and rewriting the table as one snapshot.
//
//	go test -tags duckdb_arrow ./move -run XXX -bench BenchmarkMerge -benchtime 3x
func BenchmarkMerge(b *testing.B) {
	f := newFixture(b, testenv.SQLiteDSN(b))
	ctx := context.Background()
	csv := func(name string, from, n int) string {
		var sb strings.Builder
		sb.WriteString("id,name,amount\n")
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&sb, "%d,name %d,%d.25\n", i, i%1000, i%777)
		}
		return f.file(b, name, sb.String())
	}
	base, delta := csv("base.csv", 0, 500000), csv("delta.csv", 475000, 50000)
	for _, mode := range []string{"append", "merge"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				table := fmt.Sprintf("raw.%s_%d", mode, i)
				load, ps := jobOf(b, f, "name: l\nsource: {type: files, path: '"+base+"'}\ntarget: {type: lake, table: "+table+"}\n")
				if _, err := move.Run(ctx, f.deps("dev"), load, ps); err != nil {
					b.Fatal(err)
				}
				extra := ""
				if mode == "merge" {
					extra = ", mode: merge, key: [id]"
				}
				spec, ps := jobOf(b, f, "name: d\nsource: {type: files, path: '"+delta+"'}\ntarget: {type: lake, table: "+table+extra+"}\n")
				b.StartTimer()
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
