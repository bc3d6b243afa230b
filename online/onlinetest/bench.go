package onlinetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

// Bench measures a store: a bulk write of 10,000 entities × 50 float features (WriteLatest, newer wins; and Fill,
// the fresh-space bulk path), then Get of 1 and of 100 random
// entities × 50 features, as typed values (Get) and as JSON texts (GetJSON, serving's read). Backends call it
// from their Benchmark functions.
func Bench(b *testing.B, s online.Store) {
	const n = 10000
	fields := []arrow.Field{keyID, {Name: "event_ts", Type: ts}}
	feats := make([]string, 50)
	for i := range feats {
		feats[i] = fmt.Sprintf("f%02d", i)
		fields = append(fields, arrow.Field{Name: feats[i], Type: arrow.PrimitiveTypes.Float64})
	}
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, base}
		for range feats {
			rows[i] = append(rows[i], rand.Float64())
		}
	}
	ctx := context.Background()
	b.Run("write10000x50", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rdr := Rows(b, fields, rows...)
			start := time.Now()
			if err := s.WriteLatest(ctx, fmt.Sprintf("dev/w%d", i), []string{"user_id"}, rdr); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(n/time.Since(start).Seconds(), "rows/s")
			rdr.Release()
			if i > 0 { // dev/w0 stays for the reads below; the others go, so a long -benchtime keeps the store small
				dropSpace(b, s, fmt.Sprintf("dev/w%d", i))
			}
		}
	})
	b.Run("fill10000x50", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rdr := Rows(b, fields, rows...)
			start := time.Now()
			if err := s.Fill(ctx, fmt.Sprintf("dev/f%d", i), []string{"user_id"}, rdr); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(n/time.Since(start).Seconds(), "rows/s")
			rdr.Release()
			dropSpace(b, s, fmt.Sprintf("dev/f%d", i))
		}
	})
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("get%dx50", batch), func(b *testing.B) {
			ents := make([][]online.Value, batch)
			for i := 0; i < b.N; i++ {
				for e := range ents {
					ents[e] = []online.Value{record.IntValue(int64(rand.IntN(n)))}
				}
				got, err := s.Get(ctx, "dev/w0", ents, feats)
				if err != nil || !got[0].Found {
					b.Fatal(err, got)
				}
			}
		})
		// Serving's read: the rows' JSON texts into a Buffer kept from call to call.
		b.Run(fmt.Sprintf("getjson%dx50", batch), func(b *testing.B) {
			ents := make([][]online.Value, batch)
			var buf online.Buffer
			for i := 0; i < b.N; i++ {
				for e := range ents {
					ents[e] = []online.Value{record.IntValue(int64(rand.IntN(n)))}
				}
				buf.Reset()
				got, err := s.GetJSON(ctx, "dev/w0", ents, feats, &buf)
				if err != nil || !got[0].Found {
					b.Fatal(err, got)
				}
			}
		})
	}
}

// dropSpace deletes a space a benchmark wrote, outside the timer: without it every iteration adds 10,000 rows
// to the store and a long -benchtime fills the disk.
func dropSpace(b *testing.B, s online.Store, space string) {
	b.StopTimer()
	if err := s.DeleteSpace(context.Background(), space); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}
