package postgres

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strata-data/strata/errs"
)

// The COPY path: COPY (query) TO STDOUT (FORMAT binary), read through a pipe from pgconn's CopyTo and decoded
// straight into the Arrow builders (no Go value per cell for the common types).
//
// COPY takes no bound parameters, so each parameter is rendered as a literal: its text from pgx's encoder for
// the parameter's type (as PostgreSQL inferred it when the query was prepared), quoted with standard string
// syntax ('...', quotes doubled; PostgreSQL reads backslashes literally when standard_conforming_strings is
// on, which is checked) and cast to that type by name. A value holding a NUL byte is refused. A value can
// therefore only ever be one literal of its type, never SQL.

// pgEpochMicros is 2000-01-01 (PostgreSQL's epoch) in microseconds since 1970-01-01.
const pgEpochMicros = 946_684_800_000_000

// pgEpochDays is 2000-01-01 in days since 1970-01-01.
const pgEpochDays = 10_957

// binDecoder appends one non-NULL binary field to a builder.
type binDecoder func(b array.Builder, src []byte) error

// renderLiterals renders args as typed SQL literals (see above); oids are the parameters' types.
func (r *Reader) renderLiterals(ctx context.Context, oids []uint32, args []any) ([]string, error) {
	if r.conn.PgConn().ParameterStatus("standard_conforming_strings") != "on" {
		return nil, errs.E(errs.Unsupported, "the postgres source server has standard_conforming_strings off")
	}
	names := make([]string, len(oids))
	if len(oids) > 0 {
		rows, err := r.conn.Query(ctx, `SELECT format_type(o, NULL) FROM unnest($1::oid[]) WITH ORDINALITY AS t(o, n) ORDER BY n`, oids)
		if err != nil {
			return nil, err
		}
		i := 0
		for rows.Next() {
			if err := rows.Scan(&names[i]); err != nil {
				rows.Close()
				return nil, err
			}
			i++
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	lits := make([]string, len(args))
	for i, a := range args {
		buf, err := r.conn.TypeMap().Encode(oids[i], pgtype.TextFormatCode, a, nil)
		if err != nil {
			return nil, errs.E(errs.Invalid, "postgres source: parameter $%d as %s: %v", i+1, names[i], err)
		}
		if buf == nil {
			lits[i] = "NULL::" + names[i]
			continue
		}
		if strings.IndexByte(string(buf), 0) >= 0 {
			return nil, errs.E(errs.Invalid, "postgres source: parameter $%d holds a NUL byte, which PostgreSQL text cannot hold", i+1)
		}
		lits[i] = "'" + strings.ReplaceAll(string(buf), "'", "''") + "'::" + names[i]
	}
	return lits, nil
}

// startCopy runs the rendered query with COPY in a goroutine writing into a pipe the reader decodes.
func (r *Reader) startCopy(ctx context.Context, query string) error {
	pr, pw := io.Pipe()
	r.pipe = pr
	r.copyDone = make(chan struct{})
	sql := "COPY (" + query + "\n) TO STDOUT (FORMAT binary)"
	go func() {
		defer close(r.copyDone)
		_, err := r.conn.PgConn().CopyTo(ctx, pw, sql)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
	}()
	r.br = bufio.NewReaderSize(pr, 1<<20)
	var hdr [19]byte
	if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
		return copyError(err, 0)
	}
	if string(hdr[:11]) != "PGCOPY\n\377\r\n\000" {
		return errs.E(errs.Unavailable, "postgres source: COPY sent no binary header")
	}
	if ext := binary.BigEndian.Uint32(hdr[15:]); ext > 0 {
		if _, err := r.br.Discard(int(ext)); err != nil {
			return copyError(err, 0)
		}
	}
	return nil
}

func copyError(err error, rows int64) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && rows == 0 {
		return errs.E(errs.Invalid, "postgres source query: %v", err)
	}
	return errs.E(errs.Unavailable, "postgres source failed after %d rows: %v", rows, err)
}

// nextCopy decodes up to BatchRows tuples into b; it returns the rows decoded and whether the stream ended.
func (r *Reader) nextCopy(b *array.RecordBuilder) (int, bool, error) {
	n := 0
	for n < r.opts.BatchRows {
		var cnt [2]byte
		if _, err := io.ReadFull(r.br, cnt[:]); err != nil {
			return n, true, copyError(err, r.read+int64(n))
		}
		fields := int16(binary.BigEndian.Uint16(cnt[:]))
		if fields == -1 {
			return n, true, nil
		}
		if int(fields) != len(r.dec) {
			return n, true, errs.E(errs.Unavailable, "postgres source: a COPY row has %d fields, not %d", fields, len(r.dec))
		}
		for i := range r.dec {
			src, null, err := r.field()
			if err != nil {
				return n, true, copyError(err, r.read+int64(n))
			}
			if null {
				b.Field(i).AppendNull()
				continue
			}
			if err := r.dec[i](b.Field(i), src); err != nil {
				return n, true, fmt.Errorf("column %q, row %d: %w", r.schema.Field(i).Name, r.read+int64(n)+1, err)
			}
			if i == r.wmCol {
				if err := r.trackWatermark(src); err != nil {
					return n, true, err
				}
			}
		}
		n++
	}
	return n, false, nil
}

// field reads one field: its bytes (valid until the next read), or null.
func (r *Reader) field() ([]byte, bool, error) {
	var l [4]byte
	if _, err := io.ReadFull(r.br, l[:]); err != nil {
		return nil, false, err
	}
	size := int32(binary.BigEndian.Uint32(l[:]))
	if size < 0 {
		return nil, true, nil
	}
	if cap(r.buf) < int(size) {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	_, err := io.ReadFull(r.br, r.buf)
	return r.buf, false, err
}

// trackWatermark decodes the incremental column's value as pgx does for the query path.
func (r *Reader) trackWatermark(src []byte) error {
	f := r.fields[r.wmCol]
	t, ok := r.conn.TypeMap().TypeForOID(f.DataTypeOID)
	if !ok {
		return nil
	}
	v, err := t.Codec.DecodeValue(r.conn.TypeMap(), f.DataTypeOID, pgtype.BinaryFormatCode, src)
	if err != nil {
		return err
	}
	if v != nil && greater(v, r.wm) {
		r.wm = v
	}
	return nil
}

// decoderFor is the binary decoder of a result column; types without a direct one go through pgx's codec and
// the query path's converter.
func (r *Reader) decoderFor(f pgconn.FieldDescription, c converter) binDecoder {
	switch f.DataTypeOID {
	case pgtype.Int2OID:
		return func(b array.Builder, s []byte) error {
			b.(*array.Int32Builder).Append(int32(int16(binary.BigEndian.Uint16(s))))
			return nil
		}
	case pgtype.Int4OID:
		return func(b array.Builder, s []byte) error {
			b.(*array.Int32Builder).Append(int32(binary.BigEndian.Uint32(s)))
			return nil
		}
	case pgtype.Int8OID:
		return func(b array.Builder, s []byte) error {
			b.(*array.Int64Builder).Append(int64(binary.BigEndian.Uint64(s)))
			return nil
		}
	case pgtype.Float4OID:
		return func(b array.Builder, s []byte) error {
			b.(*array.Float32Builder).Append(math.Float32frombits(binary.BigEndian.Uint32(s)))
			return nil
		}
	case pgtype.Float8OID:
		return func(b array.Builder, s []byte) error {
			b.(*array.Float64Builder).Append(math.Float64frombits(binary.BigEndian.Uint64(s)))
			return nil
		}
	case pgtype.BoolOID:
		return func(b array.Builder, s []byte) error {
			b.(*array.BooleanBuilder).Append(s[0] != 0)
			return nil
		}
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.JSONOID:
		return func(b array.Builder, s []byte) error {
			b.(*array.StringBuilder).BinaryBuilder.Append(s)
			return nil
		}
	case pgtype.JSONBOID:
		return func(b array.Builder, s []byte) error {
			if len(s) > 0 && s[0] == 1 {
				s = s[1:]
			}
			b.(*array.StringBuilder).BinaryBuilder.Append(s)
			return nil
		}
	case pgtype.ByteaOID:
		return func(b array.Builder, s []byte) error {
			b.(*array.BinaryBuilder).Append(s)
			return nil
		}
	case pgtype.DateOID:
		return func(b array.Builder, s []byte) error {
			d := int32(binary.BigEndian.Uint32(s))
			if d == math.MaxInt32 || d == math.MinInt32 {
				return fmt.Errorf("a date that is not finite cannot be stored: filter it out or cast it in the query")
			}
			b.(*array.Date32Builder).Append(arrow.Date32(d + pgEpochDays))
			return nil
		}
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		return func(b array.Builder, s []byte) error {
			us := int64(binary.BigEndian.Uint64(s))
			if us == math.MaxInt64 || us == math.MinInt64 {
				return fmt.Errorf("a timestamp that is not finite cannot be stored: filter it out or cast it in the query")
			}
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(us + pgEpochMicros))
			return nil
		}
	case pgtype.TimeOID:
		return func(b array.Builder, s []byte) error {
			b.(*array.Time64Builder).Append(arrow.Time64(int64(binary.BigEndian.Uint64(s))))
			return nil
		}
	case pgtype.IntervalOID:
		return func(b array.Builder, s []byte) error {
			us := int64(binary.BigEndian.Uint64(s))
			days, months := int32(binary.BigEndian.Uint32(s[8:])), int32(binary.BigEndian.Uint32(s[12:]))
			b.(*array.StringBuilder).Append(IntervalText(months, days, us))
			return nil
		}
	case pgtype.UUIDOID:
		return func(b array.Builder, s []byte) error {
			return addUUID(b, [16]byte(s))
		}
	}
	if dt, ok := c.typ.(*arrow.Decimal128Type); ok && f.DataTypeOID == pgtype.NumericOID && dt.Precision <= 30 {
		return func(b array.Builder, s []byte) error { return appendNumeric(b.(*array.Decimal128Builder), s, dt.Scale) }
	}
	m, oid := r.conn.TypeMap(), f.DataTypeOID
	t, _ := m.TypeForOID(oid)
	return func(b array.Builder, s []byte) error {
		if c.array && multiDimensional(s) {
			return fmt.Errorf("a multi-dimensional array cannot be stored: unnest it or cast it to text in the query")
		}
		if t == nil {
			return fmt.Errorf("no decoder for type OID %d", oid)
		}
		v, err := t.Codec.DecodeValue(m, oid, pgtype.BinaryFormatCode, s)
		if err != nil {
			return err
		}
		return c.add(b, v)
	}
}

// appendNumeric decodes a binary numeric (base-10000 digits with a weight) into a decimal of the column's scale,
// exactly: PostgreSQL already rounded the value to that scale. Precision ≤ 30 keeps every intermediate within
// 38 digits.
func appendNumeric(b *array.Decimal128Builder, s []byte, scale int32) error {
	if len(s) < 8 {
		return fmt.Errorf("a numeric of %d bytes", len(s))
	}
	ndigits := int(binary.BigEndian.Uint16(s))
	weight := int(int16(binary.BigEndian.Uint16(s[2:])))
	sign := binary.BigEndian.Uint16(s[4:])
	if sign != 0 && sign != 0x4000 {
		return fmt.Errorf("NaN or infinity cannot be stored in a decimal column: filter it out in the query")
	}
	if len(s) < 8+2*ndigits {
		return fmt.Errorf("a numeric of %d bytes with %d digits", len(s), ndigits)
	}
	v := decimal128.FromI64(0)
	tenK := decimal128.FromI64(10000)
	for i := 0; i < ndigits; i++ {
		v = v.Mul(tenK).Add(decimal128.FromI64(int64(binary.BigEndian.Uint16(s[8+2*i:]))))
	}
	// v = value × 10000^(ndigits-1-weight); the column wants value × 10^scale.
	e := int(scale) - 4*(ndigits-1-weight)
	if ndigits == 0 {
		e = 0
	}
	switch {
	case e > 0:
		v = v.Mul(decimal128.GetScaleMultiplier(e))
	case e < 0:
		v, _ = v.Div(decimal128.GetScaleMultiplier(-e))
	}
	if sign == 0x4000 {
		v = v.Negate()
	}
	b.Append(v)
	return nil
}
