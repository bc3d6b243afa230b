package record

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Column names every online write carries besides the join keys and the features.
const (
	EventTS   = "event_ts"
	CreatedTS = "created_ts"
)

// KindOf maps an Arrow type to the kind it is stored as; ok is false for a type the online store does not hold.
func KindOf(t arrow.DataType) (Kind, bool) {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return Int64, true
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return Float64, true
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return String, true
	case arrow.BOOL:
		return Bool, true
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return Timestamp, true
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return Bytes, true
	case arrow.NULL:
		return Null, true
	}
	return 0, false
}

// At reads row i of an Arrow column as a Value (Null for a null cell).
func At(col arrow.Array, i int) Value {
	if col.IsNull(i) {
		return Value{}
	}
	switch c := col.(type) {
	case *array.Int8:
		return IntValue(int64(c.Value(i)))
	case *array.Int16:
		return IntValue(int64(c.Value(i)))
	case *array.Int32:
		return IntValue(int64(c.Value(i)))
	case *array.Int64:
		return IntValue(c.Value(i))
	case *array.Uint8:
		return IntValue(int64(c.Value(i)))
	case *array.Uint16:
		return IntValue(int64(c.Value(i)))
	case *array.Uint32:
		return IntValue(int64(c.Value(i)))
	case *array.Uint64:
		return IntValue(int64(c.Value(i)))
	case *array.Float16:
		return FloatValue(float64(c.Value(i).Float32()))
	case *array.Float32:
		return FloatValue(float64(c.Value(i)))
	case *array.Float64:
		return FloatValue(c.Value(i))
	case *array.Decimal128:
		return FloatValue(c.Value(i).ToFloat64(c.DataType().(*arrow.Decimal128Type).Scale))
	case *array.Decimal256:
		return FloatValue(c.Value(i).ToFloat64(c.DataType().(*arrow.Decimal256Type).Scale))
	case *array.String:
		return StringValue(c.Value(i))
	case *array.LargeString:
		return StringValue(c.Value(i))
	case *array.StringView:
		return StringValue(c.Value(i))
	case *array.Boolean:
		return BoolValue(c.Value(i))
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		return TimestampValue(int64(c.Value(i)) * int64(unit.Multiplier()) / int64(time.Microsecond))
	case *array.Date32:
		return TimeValue(c.Value(i).ToTime())
	case *array.Date64:
		return TimeValue(c.Value(i).ToTime())
	case *array.Binary:
		return BytesValue(c.Value(i))
	case *array.LargeBinary:
		return BytesValue(c.Value(i))
	case *array.BinaryView:
		return BytesValue(c.Value(i))
	case *array.FixedSizeBinary:
		return BytesValue(c.Value(i))
	}
	return Value{}
}

// Layout is where a write's columns are: the join keys, the timestamps, the features (with their schema).
type Layout struct {
	Keys    []int
	Event   int
	Created int // -1 when the reader has no created_ts column
	Feats   []int
	Schema  *Schema
}

// LayoutOf checks a write's Arrow schema: every join key, an event_ts timestamp, an optional created_ts timestamp,
// and features of types the store holds. Errors name the column and what to do.
func LayoutOf(sc *arrow.Schema, keys []string) (*Layout, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no join keys: a key space is indexed by the view's entity join keys")
	}
	l := &Layout{Event: -1, Created: -1}
	isKey := map[string]bool{}
	for _, k := range keys {
		idx := sc.FieldIndices(k)
		if len(idx) != 1 {
			return nil, fmt.Errorf("join key column %q is missing (columns: %s)", k, names(sc))
		}
		if kd, _ := KindOf(sc.Field(idx[0]).Type); kd != Int64 && kd != String && kd != Bytes {
			return nil, fmt.Errorf("join key column %q is %s: keys must be integers or strings", k, sc.Field(idx[0]).Type)
		}
		l.Keys = append(l.Keys, idx[0])
		isKey[k] = true
	}
	var fields []Field
	for i, f := range sc.Fields() {
		kd, ok := KindOf(f.Type)
		switch {
		case isKey[f.Name]:
		case f.Name == EventTS || f.Name == CreatedTS:
			if kd != Timestamp && f.Type.ID() != arrow.NULL {
				return nil, fmt.Errorf("column %q is %s: it must be a timestamp", f.Name, f.Type)
			}
			if f.Name == EventTS {
				l.Event = i
			} else {
				l.Created = i
			}
		case !ok:
			return nil, fmt.Errorf("feature column %q has type %s, which the online store does not hold "+
				"(use integers, floats, decimals, strings, booleans, timestamps, dates or binary)", f.Name, f.Type)
		default:
			l.Feats = append(l.Feats, i)
			fields = append(fields, Field{Name: f.Name, Kind: kd})
		}
	}
	if l.Event < 0 || sc.Field(l.Event).Type.ID() == arrow.NULL {
		return nil, fmt.Errorf("column %q (a timestamp) is missing (columns: %s)", EventTS, names(sc))
	}
	l.Schema = NewSchema(fields)
	return l, nil
}

func names(sc *arrow.Schema) string {
	out := ""
	for i, f := range sc.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name
	}
	return out
}

// Entries encodes every row of rec. A row with a null key or a null event_ts is an error naming the row.
func (l *Layout) Entries(rec arrow.RecordBatch, dst []Entry) ([]Entry, error) {
	cols := rec.Columns()
	vals := make([]Value, len(l.Feats))
	kv := make([]Value, len(l.Keys))
	var buf []byte
	rowLen := 64
	for i := 0; i < int(rec.NumRows()); i++ {
		for j, c := range l.Keys {
			if kv[j] = At(cols[c], i); kv[j].IsNull() {
				return nil, fmt.Errorf("row %d: join key %q is null", i, rec.ColumnName(c))
			}
		}
		ev := At(cols[l.Event], i)
		if ev.IsNull() {
			return nil, fmt.Errorf("row %d: %s is null", i, EventTS)
		}
		var cr Value
		if l.Created >= 0 {
			cr = At(cols[l.Created], i)
		}
		for j, c := range l.Feats {
			vals[j] = At(cols[c], i)
		}
		// Keys and values are appended to shared buffers (one allocation per ~64 KB, not two growing ones per
		// row): a full buffer is replaced, never reused, so earlier entries keep their bytes.
		if cap(buf)-len(buf) < 2*rowLen {
			buf = make([]byte, 0, max(64<<10, 64*rowLen))
		}
		start := len(buf)
		buf = Key(buf, kv)
		mid := len(buf)
		buf = Encode(buf, l.Schema, ev.I, cr.I, !cr.IsNull(), vals)
		dst = append(dst, Entry{Key: buf[start:mid:mid], Val: buf[mid:len(buf):len(buf)]})
		rowLen = max(rowLen, len(buf)-start)
	}
	return dst, nil
}
