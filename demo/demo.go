// Package demo generates a small, deterministic shop dataset (users, orders, events) and loads it into a lake:
// raw tables in dev, a cleaned orders table, and a prod release made by a zero-copy clone — so a newcomer's
// first `strata serve --demo` has something real to query, compare and time-travel.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// Sizes of the demo tables.
const (
	Users  = 1000
	Orders = 20000
	Events = 50000
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Loaded reports whether the demo data is already in dev.
func Loaded(ctx context.Context, svc *envs.Service) (bool, error) {
	list, err := svc.Tables(ctx, "dev", "raw")
	if err != nil {
		return false, err
	}
	for _, t := range list {
		if t.Ident.Name == "orders" {
			return true, nil
		}
	}
	return false, nil
}

// Options configure LoadWith.
type Options struct {
	Actor string // who loads, for the audit log
	// Force allows the load's prod writes (the clone into prod and its release), as for any direct prod write.
	Force bool
}

// Load writes the demo tables to dev, clones them to prod and publishes prod's first release, as an admin
// would: the prod writes are forced and audited (LoadWith with Force).
func Load(ctx context.Context, svc *envs.Service, actor string) error {
	return LoadWith(ctx, svc, Options{Actor: actor, Force: true})
}

// LoadWith writes the demo tables to dev, clones them to prod and publishes prod's first release. It then
// appends a second day of orders to dev only, so dev and prod differ. Every table write goes through
// envs.Service.Write. Without opts.Force, prod's rule refuses the load (envs.ErrForbidden) before anything is
// written.
func LoadWith(ctx context.Context, svc *envs.Service, opts Options) error {
	if err := svc.CheckWrite(ctx, "prod", opts.Force); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	r := rand.New(rand.NewPCG(42, 7))
	steps := []struct {
		table string
		rdr   array.RecordReader
	}{
		{"raw.users", users(r)},
		{"raw.orders", orders(r, 0, Orders)},
		{"raw.events", events(r)},
		{"clean.orders", cleanOrders(rand.New(rand.NewPCG(42, 7)))},
	}
	defer func() {
		for _, s := range steps {
			s.rdr.Release()
		}
	}()
	for _, s := range steps {
		if err := write(ctx, svc, s.table, s.rdr, envs.Overwrite, opts); err != nil {
			return err
		}
	}
	if _, err := svc.Clone(ctx, "dev", "prod", nil, opts.Force, opts.Actor); err != nil {
		return fmt.Errorf("demo: clone to prod: %w", err)
	}
	if _, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: opts.Actor, Note: "demo data",
		Source: map[string]string{"by": "demo"}}); err != nil {
		return fmt.Errorf("demo: publish: %w", err)
	}
	more := orders(r, Orders, Orders/10)
	defer more.Release()
	return write(ctx, svc, "raw.orders", more, envs.Append, opts)
}

func write(ctx context.Context, svc *envs.Service, table string, rdr array.RecordReader, mode envs.WriteMode, opts Options) error {
	id, err := lake.ParseIdent(table)
	if err != nil {
		return err
	}
	_, err = svc.Write(ctx, "dev", id, rdr, envs.WriteOptions{Mode: mode, CreateIfMissing: true, Actor: opts.Actor,
		Action: "demo", Source: "demo"})
	if err != nil {
		return fmt.Errorf("demo: write %s: %w", table, err)
	}
	return nil
}

func reader(schema *arrow.Schema, rec arrow.RecordBatch) array.RecordReader {
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rdr
}

var countries = []string{"DE", "FR", "NL", "ES", "IT", "PL", "SE", "US", "GB", "PT"}

func users(r *rand.Rand) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "country", Type: arrow.BinaryTypes.String},
		{Name: "signup_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "premium", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 1; i <= Users; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("user_%04d", i))
		b.Field(2).(*array.StringBuilder).Append(countries[r.IntN(len(countries))])
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(epoch.AddDate(0, 0, -r.IntN(700))))
		b.Field(4).(*array.BooleanBuilder).Append(r.IntN(5) == 0)
	}
	return reader(schema, b.NewRecordBatch())
}

var statuses = []string{"paid", "paid", "paid", "shipped", "shipped", "refunded", "cancelled", "PAID "}

func orderSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ordered_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "items", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
}

func orders(r *rand.Rand, first, n int) array.RecordReader {
	schema := orderSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	span := 90 * 24 * time.Hour
	for i := first + 1; i <= first+n; i++ {
		at := epoch.Add(time.Duration(r.Int64N(int64(span))))
		if first > 0 {
			at = epoch.Add(span + time.Duration(r.Int64N(int64(24*time.Hour))))
		}
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int64Builder).Append(1 + r.Int64N(Users))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
		b.Field(3).(*array.StringBuilder).Append(statuses[r.IntN(len(statuses))])
		amount := float64(r.IntN(30000))/100 + 1
		if r.IntN(200) == 0 {
			amount = -amount // a few bad rows for the clean zone to drop
		}
		b.Field(4).(*array.Float64Builder).Append(amount)
		b.Field(5).(*array.Int32Builder).Append(int32(1 + r.IntN(6)))
	}
	return reader(schema, b.NewRecordBatch())
}

// cleanOrders replays the raw orders generator and keeps valid rows with a normalised status.
func cleanOrders(r *rand.Rand) array.RecordReader {
	users(r).Release() // advance the generator exactly as Load did
	raw := orders(r, 0, Orders)
	defer raw.Release()
	schema := orderSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for raw.Next() {
		rec := raw.RecordBatch()
		st := rec.Column(3).(*array.String)
		amt := rec.Column(4).(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			if amt.Value(i) <= 0 {
				continue
			}
			status := st.Value(i)
			if status == "PAID " {
				status = "paid"
			}
			b.Field(0).(*array.Int64Builder).Append(rec.Column(0).(*array.Int64).Value(i))
			b.Field(1).(*array.Int64Builder).Append(rec.Column(1).(*array.Int64).Value(i))
			b.Field(2).(*array.TimestampBuilder).Append(rec.Column(2).(*array.Timestamp).Value(i))
			b.Field(3).(*array.StringBuilder).Append(status)
			b.Field(4).(*array.Float64Builder).Append(amt.Value(i))
			b.Field(5).(*array.Int32Builder).Append(rec.Column(5).(*array.Int32).Value(i))
		}
	}
	return reader(schema, b.NewRecordBatch())
}

var eventTypes = []string{"view", "view", "view", "search", "add_to_cart", "checkout"}

func events(r *rand.Rand) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "event_type", Type: arrow.BinaryTypes.String},
		{Name: "page", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	span := int64(90 * 24 * time.Hour)
	for i := 1; i <= Events; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int64Builder).Append(1 + r.Int64N(Users))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(epoch.Add(time.Duration(r.Int64N(span))).UnixMicro()))
		b.Field(3).(*array.StringBuilder).Append(eventTypes[r.IntN(len(eventTypes))])
		b.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("/p/%d", r.IntN(200)))
	}
	return reader(schema, b.NewRecordBatch())
}
