// Package laketest helps tests that need a lake: a Lake on a fresh metadata database and warehouse, and
// synthetic Arrow data generated batch by batch (so even 10M-row inputs take no memory).
package laketest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// New opens a Lake on a fresh metadata database (dsn, e.g. from testenv.Backends) with a temporary warehouse,
// and creates the environments envs. Everything is closed when the test ends.
func New(t testing.TB, dsn string, envs ...string) (*lake.Lake, *meta.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open metadata database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	l := Open(t, db, t.TempDir())
	for _, env := range envs {
		if err := l.EnsureEnv(ctx, env); err != nil {
			t.Fatalf("create environment %s: %v", env, err)
		}
	}
	return l, db
}

// Open opens another Lake on db and warehouse (e.g. to act as a second process).
func Open(t testing.TB, db *meta.DB, warehouse string) *lake.Lake {
	t.Helper()
	l, err := lake.Open(context.Background(), db, lake.Options{Warehouse: warehouse})
	if err != nil {
		t.Fatalf("open lake: %v", err)
	}
	return l
}

// Schema is the 12-column schema of Rows: a mix of the types feature tables have.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "balance", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var (
	categories = []string{"books", "games", "garden", "music", "sports", "toys", "tools", "food"}
	countries  = []string{"FR", "DE", "US", "JP", "BR", "IN", "NG", "CA", "AU", "MX"}
	epoch      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Rows returns a reader of n deterministic rows of Schema, in batches of batchRows, starting at id first.
// Batches are built on demand; the reader holds only the current one. The caller releases the reader.
func Rows(first, n int64, batchRows int) array.RecordReader {
	return &genReader{next: first, end: first + n, batch: batchRows, refs: 1}
}

type genReader struct {
	next, end int64
	batch     int
	cur       arrow.RecordBatch
	refs      int64
}

func (g *genReader) Retain()               { g.refs++ }
func (g *genReader) Schema() *arrow.Schema { return Schema }
func (g *genReader) Err() error            { return nil }

func (g *genReader) Release() {
	if g.refs--; g.refs == 0 && g.cur != nil {
		g.cur.Release()
		g.cur = nil
	}
}

func (g *genReader) RecordBatch() arrow.RecordBatch { return g.cur }

// Record is the deprecated name of RecordBatch.
func (g *genReader) Record() arrow.RecordBatch { return g.cur }

func (g *genReader) Next() bool {
	if g.cur != nil {
		g.cur.Release()
		g.cur = nil
	}
	if g.next >= g.end {
		return false
	}
	n := min(int64(g.batch), g.end-g.next)
	g.cur = Batch(g.next, n)
	g.next += n
	return true
}

// Batch builds rows first..first+n-1 of Schema (the rows Rows yields). The caller releases it.
func Batch(first, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, Schema)
	defer b.Release()
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(epoch.UnixMicro() + i*1_000_000))
		b.Field(2).(*array.Int64Builder).Append(i % 10_007)
		b.Field(3).(*array.Float64Builder).Append(float64(i%1000) * 1.25)
		b.Field(4).(*array.Int32Builder).Append(int32(i % 17))
		b.Field(5).(*array.StringBuilder).Append(categories[i%int64(len(categories))])
		b.Field(6).(*array.StringBuilder).Append(fmt.Sprintf("item-%d", i%50_000))
		b.Field(7).(*array.BooleanBuilder).Append(i%3 == 0)
		b.Field(8).(*array.Float32Builder).Append(float32(i%97) / 97)
		b.Field(9).(*array.Date32Builder).Append(arrow.Date32(20454 + i%365))
		if i%11 == 0 {
			b.Field(10).AppendNull()
		} else {
			b.Field(10).(*array.Float64Builder).Append(float64(i) * 0.01)
		}
		b.Field(11).(*array.StringBuilder).Append(countries[i%int64(len(countries))])
	}
	return b.NewRecordBatch()
}

// ErrBroken is the error FailAfter's reader reports.
var ErrBroken = errors.New("laketest: source broke")

// FailAfter wraps r: after batches batches, Next returns false and Err returns ErrBroken, like a source whose
// connection dropped mid-stream.
func FailAfter(r array.RecordReader, batches int) array.RecordReader {
	return &failReader{RecordReader: r, left: batches}
}

type failReader struct {
	array.RecordReader
	left   int
	failed bool
}

func (f *failReader) Next() bool {
	if f.left == 0 {
		f.failed = true
		return false
	}
	f.left--
	return f.RecordReader.Next()
}

func (f *failReader) Err() error {
	if f.failed {
		return ErrBroken
	}
	return f.RecordReader.Err()
}
