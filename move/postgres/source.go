// Package postgres is the movement toolkit's PostgreSQL connector. As a source it runs a query through pgx
// with bound parameters and streams the rows as Arrow record batches, tracking the maximum of an incremental
// column (the watermark).
//
// It reads either with the extended protocol's row stream (pgx Query), converting each row's values into
// Arrow builders, or (Options.Copy) with COPY (query) TO STDOUT (FORMAT binary), whose messages are read off the
// connection and decoded straight into the builders (copy.go).
package postgres

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strata-data/strata/errs"
)

// Options describe one read.
type Options struct {
	DSN   string
	Query string // with $1.. placeholders
	Args  []any  // bound values, in order
	// WatermarkArg is the 0-based index in Args of the watermark, or -1. Args[WatermarkArg] is the stored
	// watermark's text, or nil on a job's first run: it is then replaced by the lowest value of the parameter's
	// type (-infinity for timestamps and dates, the minimum for integers, "" for text), so the first run reads
	// everything.
	WatermarkArg int
	// Column is the incremental column whose maximum Watermark reports ("" = none).
	Column string
	// BatchRows is the number of rows per record batch (0 = 65536).
	BatchRows int
	// AfterBatch, if set, is called after each batch is built (fault-injection tests).
	AfterBatch func()
	// Copy reads with COPY (query) TO STDOUT (FORMAT binary) instead of the extended protocol's row stream.
	// COPY takes no parameters: Render must return the query with each parameter replaced by the literal
	// given for it (literals[i] for $i+1); the reader renders the literals safely (see copy.go).
	Copy   bool
	Render func(literals []string) string
}

// Reader streams a query's rows as Arrow record batches. It implements array.RecordReader; Close ends the
// query and the connection. Not safe for concurrent use.
type Reader struct {
	// the COPY path
	fields    []pgconn.FieldDescription
	dec       []binDecoder
	builders  []array.Builder
	hc        *pgconn.HijackedConn // the connection, taken over from pgconn for the COPY
	ctx       context.Context
	stopWatch func() bool
	msg       []byte // the unread rest of the current CopyData message
	buf       []byte
	ended     bool  // ReadyForQuery (or a broken connection) was received
	broken    bool  // the connection failed
	pgErr     error // the error that ended the COPY

	conn   *pgx.Conn
	rows   pgx.Rows
	schema *arrow.Schema
	conv   []converter
	opts   Options
	cur    arrow.RecordBatch
	err    error
	done   bool
	read   int64
	wmCol  int
	wm     any
	wmRaw  []byte // the COPY path: wm's wire bytes
	refs   int64
}

// Open connects, prepares the query (which gives the result's columns and the parameters' types) and starts it.
func Open(ctx context.Context, opts Options) (*Reader, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 65536
	}
	conn, err := pgx.Connect(ctx, opts.DSN)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "connect to the postgres source: %s", err.Error())
	}
	r := &Reader{conn: conn, opts: opts, wmCol: -1, refs: 1}
	if err := r.start(ctx); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return r, nil
}

func (r *Reader) start(ctx context.Context) error {
	sd, err := r.conn.Prepare(ctx, "", r.opts.Query)
	if err != nil {
		return errs.E(errs.Invalid, "postgres source query: %v", err)
	}
	args := append([]any(nil), r.opts.Args...)
	if i := r.opts.WatermarkArg; i >= 0 && i < len(args) && args[i] == nil {
		low, err := lowest(sd.ParamOIDs[i])
		if err != nil {
			return err
		}
		args[i] = low
	}
	fields := make([]arrow.Field, len(sd.Fields))
	r.conv = make([]converter, len(sd.Fields))
	for i, f := range sd.Fields {
		c, err := converterFor(f)
		if err != nil {
			return err
		}
		r.conv[i] = c
		fields[i] = arrow.Field{Name: f.Name, Type: c.typ, Nullable: true}
		if f.Name == r.opts.Column {
			r.wmCol = i
		}
	}
	if r.opts.Column != "" && r.wmCol < 0 {
		return errs.E(errs.Invalid, "the query returns no column %q (the incremental column)", r.opts.Column)
	}
	r.schema = arrow.NewSchema(fields, nil)
	if r.opts.Copy {
		err := r.startCopyPath(ctx, sd, args)
		if errs.KindOf(err) != errs.Unsupported { // a server that would read backslashes in literals: no COPY
			return err
		}
	}
	rows, err := r.conn.Query(ctx, r.opts.Query, args...)
	if err != nil {
		return errs.E(errs.Invalid, "postgres source query: %v", err)
	}
	r.rows = rows
	return nil
}

func (r *Reader) startCopyPath(ctx context.Context, sd *pgconn.StatementDescription, args []any) error {
	if r.opts.Render == nil {
		return errs.E(errs.Invalid, "postgres source: the COPY path needs Render")
	}
	lits, err := r.renderLiterals(ctx, sd.ParamOIDs, args)
	if err != nil {
		return err
	}
	r.fields = sd.Fields
	r.dec = make([]binDecoder, len(sd.Fields))
	for i, f := range sd.Fields {
		r.dec[i] = r.decoderFor(f, r.conv[i])
	}
	return r.startCopy(ctx, r.opts.Render(lits))
}

// lowest is the first run's watermark: every value of the type is greater.
func lowest(oid uint32) (any, error) {
	switch oid {
	case pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.DateOID:
		return "-infinity", nil
	case pgtype.Int2OID:
		return strconv.Itoa(math.MinInt16), nil
	case pgtype.Int4OID:
		return strconv.Itoa(math.MinInt32), nil
	case pgtype.Int8OID:
		return strconv.FormatInt(math.MinInt64, 10), nil
	case pgtype.TextOID, pgtype.VarcharOID:
		return "", nil
	case pgtype.NumericOID, pgtype.Float8OID, pgtype.Float4OID:
		return "-Infinity", nil
	}
	return nil, errs.E(errs.Unsupported, "{{ watermark }} compares with a column of type OID %d: use a timestamp, date, integer, numeric or text column", oid)
}

// Schema returns the Arrow schema of the rows.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next builds the next batch of up to BatchRows rows.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil {
		return false
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, r.schema)
	defer b.Release()
	if r.dec != nil {
		n, done, err := r.nextCopy(b)
		return r.finishBatch(b, n, done, err)
	}
	n := 0
	for n < r.opts.BatchRows && r.rows.Next() {
		vals, err := r.rows.Values()
		if err != nil {
			r.err = err
			return false
		}
		raws := r.rows.RawValues()
		for i, v := range vals {
			if r.conv[i].raw {
				v = raws[i]
			}
			if r.conv[i].array && multiDimensional(raws[i]) {
				r.err = fmt.Errorf("column %q, row %d: a multi-dimensional array cannot be stored: unnest it or cast it to text in the query",
					r.schema.Field(i).Name, r.read+int64(n)+1)
				return false
			}
			if err := r.conv[i].add(b.Field(i), v); err != nil {
				r.err = fmt.Errorf("column %q, row %d: %w", r.schema.Field(i).Name, r.read+int64(n)+1, err)
				return false
			}
		}
		if r.wmCol >= 0 && vals[r.wmCol] != nil && greater(vals[r.wmCol], r.wm) {
			r.wm = vals[r.wmCol]
		}
		n++
	}
	if n < r.opts.BatchRows {
		r.done = true
		if err := r.rows.Err(); err != nil {
			r.err = errs.E(errs.Unavailable, "postgres source failed after %d rows: %v", r.read+int64(n), err)
			return false
		}
	}
	if n == 0 {
		return false
	}
	r.read += int64(n)
	r.cur = b.NewRecordBatch()
	if r.opts.AfterBatch != nil {
		r.opts.AfterBatch()
	}
	return true
}

// finishBatch ends a Next of the COPY path.
func (r *Reader) finishBatch(b *array.RecordBuilder, n int, done bool, err error) bool {
	r.done = done
	if err != nil {
		r.err = err
		return false
	}
	if n == 0 {
		return false
	}
	r.read += int64(n)
	r.cur = b.NewRecordBatch()
	if r.opts.AfterBatch != nil {
		r.opts.AfterBatch()
	}
	return true
}

// RecordBatch returns the current batch, valid until the next Next.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch (the older name of array.RecordReader).
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err returns the error that ended the stream, if any.
func (r *Reader) Err() error { return r.err }

// Retain and Release satisfy array.RecordReader; Close frees the connection.
func (r *Reader) Retain()  { r.refs++ }
func (r *Reader) Release() { r.refs-- }

// Rows returns how many rows were read.
func (r *Reader) Rows() int64 { return r.read }

// Watermark returns the text of the largest incremental-column value read, or "" if none was read.
func (r *Reader) Watermark() string { return watermarkText(r.wm) }

// Close ends the query and closes the connection. A query not read to its end is abandoned, not drained:
// the connection is closed, which makes the server stop it.
func (r *Reader) Close() error {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.rows != nil && r.done {
		r.rows.Close()
	}
	if r.hc != nil { // the reader owns the connection: a COPY not at its end is stopped by closing the socket
		r.stopWatch()
		if r.ended && !r.broken {
			r.hc.Frontend.Send(&pgproto3.Terminate{})
			_ = r.hc.Frontend.Flush()
		}
		return r.hc.Conn.Close()
	}
	return r.conn.PgConn().Close(context.Background())
}

func greater(a, b any) bool {
	if b == nil {
		return true
	}
	switch x := a.(type) {
	case time.Time:
		return x.After(b.(time.Time))
	case int16:
		return x > b.(int16)
	case int32:
		return x > b.(int32)
	case int64:
		return x > b.(int64)
	case float64:
		return x > b.(float64)
	case string:
		return x > b.(string)
	case pgtype.Numeric:
		return numericRat(x).Cmp(numericRat(b.(pgtype.Numeric))) > 0
	}
	return false
}

func numericRat(n pgtype.Numeric) *big.Rat {
	r := new(big.Rat).SetInt(n.Int)
	e := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil)
	if n.Exp >= 0 {
		return r.Mul(r, new(big.Rat).SetInt(e))
	}
	return r.Quo(r, new(big.Rat).SetInt(e))
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func watermarkText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case pgtype.Numeric:
		b, _ := x.MarshalJSON()
		return string(b)
	}
	return fmt.Sprint(v)
}

// Describe returns the Arrow schema of query's rows without running it (the statement is only prepared).
func Describe(ctx context.Context, dsn, query string) (*arrow.Schema, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "connect to the postgres source: %s", err.Error())
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	sd, err := conn.Prepare(ctx, "", query)
	if err != nil {
		return nil, errs.E(errs.Invalid, "postgres source query: %v", err)
	}
	fields := make([]arrow.Field, len(sd.Fields))
	for i, f := range sd.Fields {
		c, err := converterFor(f)
		if err != nil {
			return nil, err
		}
		fields[i] = arrow.Field{Name: f.Name, Type: c.typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// Estimate returns the planner's row estimate of opts.Query with its arguments (EXPLAIN, which runs nothing).
func Estimate(ctx context.Context, opts Options) (int64, error) {
	conn, err := pgx.Connect(ctx, opts.DSN)
	if err != nil {
		return 0, errs.E(errs.Unavailable, "connect to the postgres source: %s", err.Error())
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	sd, err := conn.Prepare(ctx, "", opts.Query)
	if err != nil {
		return 0, errs.E(errs.Invalid, "postgres source query: %v", err)
	}
	args := append([]any(nil), opts.Args...)
	if i := opts.WatermarkArg; i >= 0 && i < len(args) && args[i] == nil {
		if args[i], err = lowest(sd.ParamOIDs[i]); err != nil {
			return 0, err
		}
	}
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+opts.Query, args...).Scan(&plan); err != nil {
		return 0, errs.E(errs.Invalid, "postgres source query: explain: %v", err)
	}
	if len(plan) == 0 {
		return 0, nil
	}
	return int64(plan[0].Plan.Rows), nil
}
