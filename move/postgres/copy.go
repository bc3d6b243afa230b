package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/strata-data/strata/errs"
)

// The COPY path: COPY (query) TO STDOUT (FORMAT binary), read message by message off the connection and decoded
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
		// A non-nil buffer: pgx returns nil only for NULL, so an empty string stays '' (not NULL).
		buf, err := r.conn.TypeMap().Encode(oids[i], pgtype.TextFormatCode, a, make([]byte, 0, 32))
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

// startCopy takes the connection over from pgconn (the reader owns it from here on: it only streams this COPY,
// then ends) and sends the rendered query as COPY. The CopyData messages are decoded where pgproto3 read them:
// no pipe, no goroutine, no copy. ctx stays watched for the whole stream: its end fails the next read.
func (r *Reader) startCopy(ctx context.Context, query string) (err error) {
	hc, err := r.conn.PgConn().Hijack()
	if err != nil {
		return errs.E(errs.Unavailable, "postgres source: %v", err)
	}
	r.hc, r.ctx = hc, ctx
	r.stopWatch = context.AfterFunc(ctx, func() { _ = hc.Conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if err != nil { // Open fails: pgconn no longer closes this connection
			r.stopWatch()
			_ = hc.Conn.Close()
		}
	}()
	hc.Frontend.SendQuery(&pgproto3.Query{String: "COPY (" + query + "\n) TO STDOUT (FORMAT binary)"})
	if err := hc.Frontend.Flush(); err != nil {
		return copyError(r.netError(err), 0)
	}
	hdr, err := r.take(19)
	if err != nil {
		return copyError(err, 0)
	}
	if string(hdr[:11]) != "PGCOPY\n\377\r\n\000" {
		return errs.E(errs.Unavailable, "postgres source: COPY sent no binary header")
	}
	if ext := binary.BigEndian.Uint32(hdr[15:]); ext > 0 {
		if _, err := r.take(int(ext)); err != nil {
			return copyError(err, 0)
		}
	}
	return nil
}

// netError is a failed read or write of the connection; a deadline set because ctx ended says so.
func (r *Reader) netError(err error) error {
	if cerr := r.ctx.Err(); cerr != nil {
		return fmt.Errorf("timeout: %w", cerr)
	}
	return err
}

// fill receives the next CopyData message into r.msg. The end of the COPY (ReadyForQuery) is io.EOF, or the
// error PostgreSQL sent before it.
func (r *Reader) fill() error {
	if r.ended {
		if r.pgErr != nil {
			return r.pgErr
		}
		return io.EOF
	}
	for {
		msg, err := r.hc.Frontend.Receive()
		if err != nil {
			r.ended, r.broken = true, true
			r.pgErr = r.netError(err)
			return r.pgErr
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			r.msg = msg.Data
			return nil
		case *pgproto3.ErrorResponse:
			r.pgErr = pgconn.ErrorResponseToPgError(msg)
		case *pgproto3.ReadyForQuery:
			r.ended = true
			return r.fill()
		}
	}
}

// take returns the next n bytes of the COPY stream, valid until the next take: a slice of the current message
// when it holds them (PostgreSQL sends one message per row), else assembled in r.buf.
func (r *Reader) take(n int) ([]byte, error) {
	if len(r.msg) >= n {
		b := r.msg[:n:n]
		r.msg = r.msg[n:]
		return b, nil
	}
	buf := append(r.buf[:0], r.msg...)
	r.msg = nil
	for len(buf) < n {
		if err := r.fill(); err != nil {
			r.buf = buf
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		k := min(n-len(buf), len(r.msg))
		buf = append(buf, r.msg[:k]...)
		r.msg = r.msg[k:]
	}
	r.buf = buf
	return buf, nil
}

// drain reads the rest of the COPY after its trailer, up to ReadyForQuery.
func (r *Reader) drain() error {
	for {
		err := r.fill()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
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
	builders := r.builders[:0]
	for i := range r.dec {
		builders = append(builders, b.Field(i))
	}
	r.builders = builders
	for n < r.opts.BatchRows {
		cnt, err := r.take(2)
		if err != nil {
			return n, true, copyError(err, r.read+int64(n))
		}
		fields := int16(binary.BigEndian.Uint16(cnt))
		if fields == -1 {
			if err := r.drain(); err != nil {
				return n, true, copyError(err, r.read+int64(n))
			}
			return n, true, nil
		}
		if int(fields) != len(r.dec) {
			return n, true, errs.E(errs.Unavailable, "postgres source: a COPY row has %d fields, not %d", fields, len(r.dec))
		}
		for i, dec := range r.dec {
			src, null, err := r.field()
			if err != nil {
				return n, true, copyError(err, r.read+int64(n))
			}
			if null {
				builders[i].AppendNull()
				continue
			}
			if err := dec(builders[i], src); err != nil {
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
	var size int32
	if len(r.msg) >= 4 {
		size = int32(binary.BigEndian.Uint32(r.msg))
		r.msg = r.msg[4:]
	} else {
		l, err := r.take(4)
		if err != nil {
			return nil, false, err
		}
		size = int32(binary.BigEndian.Uint32(l))
	}
	if size < 0 {
		return nil, true, nil
	}
	b, err := r.take(int(size))
	return b, false, err
}

// trackWatermark decodes the incremental column's value as pgx does for the query path. For integers,
// timestamps and dates (whose wire integers order as their values) and text (whose bytes order as Go strings
// compare) a value is decoded only when it is greater than the largest seen; other types decode every value.
func (r *Reader) trackWatermark(src []byte) error {
	f := r.fields[r.wmCol]
	if r.wm != nil {
		var x, max int64
		switch f.DataTypeOID {
		case pgtype.Int8OID, pgtype.TimestampOID, pgtype.TimestamptzOID:
			x, max = int64(binary.BigEndian.Uint64(src)), int64(binary.BigEndian.Uint64(r.wmRaw))
		case pgtype.Int4OID, pgtype.DateOID:
			x, max = int64(int32(binary.BigEndian.Uint32(src))), int64(int32(binary.BigEndian.Uint32(r.wmRaw)))
		case pgtype.Int2OID:
			x, max = int64(int16(binary.BigEndian.Uint16(src))), int64(int16(binary.BigEndian.Uint16(r.wmRaw)))
		case pgtype.TextOID, pgtype.VarcharOID:
			x, max = int64(bytes.Compare(src, r.wmRaw)), 0
		default:
			x, max = 1, 0
		}
		if x <= max {
			return nil
		}
	}
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
		r.wmRaw = append(r.wmRaw[:0], src...)
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
			if len(s) != 16 {
				return fmt.Errorf("a uuid of %d bytes", len(s))
			}
			var t [36]byte // the canonical text addUUID writes, without a value boxed or formatted per row
			hex.Encode(t[0:8], s[0:4])
			hex.Encode(t[9:13], s[4:6])
			hex.Encode(t[14:18], s[6:8])
			hex.Encode(t[19:23], s[8:10])
			hex.Encode(t[24:36], s[10:16])
			t[8], t[13], t[18], t[23] = '-', '-', '-', '-'
			b.(*array.StringBuilder).BinaryBuilder.Append(t[:])
			return nil
		}
	}
	if dt, ok := c.typ.(*arrow.Decimal128Type); ok && f.DataTypeOID == pgtype.NumericOID && dt.Precision <= 30 {
		return func(b array.Builder, s []byte) error { return appendNumeric(b.(*array.Decimal128Builder), s, dt.Scale) }
	}
	m, oid := r.conn.TypeMap(), f.DataTypeOID
	t, _ := m.TypeForOID(oid)
	slow := func(b array.Builder, s []byte) error {
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
	if oid == pgtype.NumericOID && c.typ == arrow.BinaryTypes.String {
		var text, scratch []byte
		return func(b array.Builder, s []byte) error {
			var ok bool
			if text, scratch, ok = appendNumericText(text[:0], scratch, s); !ok {
				return slow(b, s)
			}
			b.(*array.StringBuilder).BinaryBuilder.Append(text)
			return nil
		}
	}
	return slow
}

// appendNumericText appends the text the query path stores for a numeric without a declared precision (pgx's
// Numeric decoding, then its MarshalJSON), straight from the binary form; digits is scratch space. ok is false
// for a malformed value, which the caller leaves to pgx.
func appendNumericText(buf, digits, s []byte) (_, _ []byte, ok bool) {
	if len(s) < 8 {
		return buf, digits, false
	}
	ndigits := int(binary.BigEndian.Uint16(s))
	weight := int(int16(binary.BigEndian.Uint16(s[2:])))
	sign := binary.BigEndian.Uint16(s[4:])
	dscale := int(int16(binary.BigEndian.Uint16(s[6:])))
	switch sign {
	case 0xC000:
		return append(buf, `"NaN"`...), digits, true
	case 0xD000:
		return append(buf, `"Infinity"`...), digits, true
	case 0xF000:
		return append(buf, `"-Infinity"`...), digits, true
	}
	if len(s) != 8+2*ndigits {
		return buf, digits, false
	}
	if ndigits == 0 {
		return append(buf, '0'), digits, true
	}
	// The value is d × 10^exp: d the magnitude's decimal digits without leading zeros ("0" for zero).
	d := digits[:0]
	for i := 0; i < ndigits; i++ {
		g := binary.BigEndian.Uint16(s[8+2*i:])
		if g >= 10000 {
			return buf, d, false
		}
		d = append(d, byte('0'+g/1000), byte('0'+g/100%10), byte('0'+g/10%10), byte('0'+g%10))
	}
	digits = d
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	zero := len(d) == 1 && d[0] == '0'
	exp := 4 * (weight - ndigits + 1)
	if dscale > 0 { // pgx rescales to exactly dscale fractional digits (cutting toward zero)
		switch cut := -dscale - exp; {
		case cut < 0 && !zero:
			for range -cut {
				d = append(d, '0')
			}
		case cut >= len(d):
			d, zero = d[:1], true
			d[0] = '0'
		case cut > 0:
			d = d[:len(d)-cut]
		}
		exp = -dscale
	}
	if exp >= 0 && !zero { // and strips trailing zeros from an integer
		for d[len(d)-1] == '0' {
			d, exp = d[:len(d)-1], exp+1
		}
	}
	if sign != 0 && !zero {
		buf = append(buf, '-')
	}
	n := len(d)
	switch {
	case exp > 0:
		buf = append(buf, d...)
		for range exp {
			buf = append(buf, '0')
		}
	case exp < 0 && n <= -exp:
		buf = append(buf, '0', '.')
		for range -exp - n {
			buf = append(buf, '0')
		}
		buf = append(buf, d...)
	case exp < 0:
		buf = append(buf, d[:n+exp]...)
		buf = append(buf, '.')
		buf = append(buf, d[n+exp:]...)
	default:
		buf = append(buf, d...)
	}
	return buf, digits, true
}

// appendNumeric decodes a binary numeric (base-10000 digits with a weight) into a decimal of the column's scale,
// exactly: PostgreSQL already rounded the value to that scale. Precision ≤ 30 keeps every intermediate within
// 38 digits. The digits are accumulated in a 128-bit integer with multiplications only (digit i is worth
// 10^(4·(weight−i)+scale) in the result); a last digit finer than the scale is cut by a small division; a numeric
// with more such digits than PostgreSQL ever sends goes through numericDiv, the exact general form.
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
	if ndigits > 0 && 4*weight+int(scale) > 37 {
		return fmt.Errorf("a numeric with %d digits before the point does not fit a decimal of scale %d", 4*(weight+1), scale)
	}
	if scale < 0 || scale > 38 {
		return appendNumericDiv(b, s, ndigits, weight, sign, scale)
	}
	var hi, lo uint64
	i := 0
	for ; i < ndigits; i++ {
		if 4*(weight-i)+int(scale) < 0 {
			break
		}
		c, l := bits.Mul64(lo, 10000)
		hi = hi*10000 + c
		var carry uint64
		lo, carry = bits.Add64(l, uint64(binary.BigEndian.Uint16(s[8+2*i:])), 0)
		hi += carry
	}
	if i > 0 {
		hi, lo = mulPow10(hi, lo, 4*(weight-i+1)+int(scale))
	}
	if i < ndigits {
		x, d := 4*(weight-i)+int(scale), uint64(binary.BigEndian.Uint16(s[8+2*i:]))
		if i+1 < ndigits || d >= 10000 {
			return appendNumericDiv(b, s, ndigits, weight, sign, scale)
		}
		if x >= -4 { // a digit worth less than 10^-4 of the scale's unit adds nothing
			var carry uint64
			lo, carry = bits.Add64(lo, d/pow10u64[-x], 0)
			hi += carry
		}
	}
	v := decimal128.New(int64(hi), lo)
	if sign == 0x4000 {
		v = v.Negate()
	}
	b.Append(v)
	return nil
}

// pow10u64 holds 10^0 … 10^19.
var pow10u64 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// mulPow10 multiplies the 128-bit integer hi:lo by 10^k (0 ≤ k ≤ 38), modulo 2^128.
func mulPow10(hi, lo uint64, k int) (uint64, uint64) {
	for k > 0 {
		m := pow10u64[min(k, 19)]
		c, l := bits.Mul64(lo, m)
		hi, lo = hi*m+c, l
		k -= min(k, 19)
	}
	return hi, lo
}

// appendNumericDiv appends numericDiv's value.
func appendNumericDiv(b *array.Decimal128Builder, s []byte, ndigits, weight int, sign uint16, scale int32) error {
	v, err := numericDiv(s, ndigits, weight, sign, scale)
	if err != nil {
		return err
	}
	b.Append(v)
	return nil
}

// numericDiv is appendNumeric's general form: every digit accumulated, then rescaled with a division.
func numericDiv(s []byte, ndigits, weight int, sign uint16, scale int32) (decimal128.Num, error) {
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
	case e > 38:
		return v, fmt.Errorf("a numeric too large for a decimal of scale %d", scale)
	case e < -38:
		return decimal128.Num{}, nil
	case e > 0:
		v = v.Mul(decimal128.GetScaleMultiplier(e))
	case e < 0:
		v, _ = v.Div(decimal128.GetScaleMultiplier(-e))
	}
	if sign == 0x4000 {
		v = v.Negate()
	}
	return v, nil
}
