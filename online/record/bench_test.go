package record_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/online/record"
)

// BenchmarkEntries measures encoding rows for the store (what every load and push pays per row): 65,536 rows ×
// 10 random doubles, every 11th null.
//
//	go test ./online/record -run '^$' -bench Entries -benchmem
func BenchmarkEntries(b *testing.B) {
	fields := []arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}}
	for i := 0; i < 10; i++ {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%d", i), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	sc := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer bld.Release()
	const n = 65536
	for r := 0; r < n; r++ {
		bld.Field(0).(*array.Int64Builder).Append(int64(r))
		bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + r))
		for i := 0; i < 10; i++ {
			if (r+i)%11 == 0 {
				bld.Field(2 + i).AppendNull()
			} else {
				bld.Field(2 + i).(*array.Float64Builder).Append(rand.Float64())
			}
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	l, err := record.LayoutOf(sc, []string{"user_id"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var out []record.Entry
	for i := 0; i < b.N; i++ {
		if out, err = l.Entries(rec, out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
