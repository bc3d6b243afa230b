// Package record is the byte layout of Strata's online store, shared by every backend: typed feature values,
// entity keys, and the one packed value per entity that makes "one entity = one lookup" true on every store.
//
// An entity's stored value is
//
//	version(1) | schema id(8) | event_ts(8) | created_ts(8) | values in schema order
//
// where the timestamps are order-preserving (a byte comparison of bytes 9..25 orders rows by (event_ts,
// created_ts), a null created_ts lowest), so a backend can decide "newer wins" without decoding. The schema (the
// feature names and kinds) is stored once, content-addressed by its id.
//
// Version 2 (written since) stores each value as kind(1) | binary value | uvarint n | n bytes of the value's
// JSON text (AppendJSON; n = 0 for null, NaN and ±Inf, which answer null), so serving copies the text instead of
// formatting numbers and timestamps per request. Version 1 values (kind | binary value) written by earlier
// releases are still read: their JSON is formatted when read (DecodeJSON). Any other version is an error, never
// misread.
package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Kind is the type of a feature value.
type Kind uint8

// The value kinds. Missing marks a feature the stored row does not have (written by an older definition).
const (
	Null Kind = iota
	Int64
	Float64
	String
	Bool
	Timestamp // microseconds since the Unix epoch, UTC
	Bytes
	Missing Kind = 255
)

var kindNames = map[Kind]string{Null: "null", Int64: "int64", Float64: "float64", String: "string", Bool: "bool",
	Timestamp: "timestamp", Bytes: "bytes", Missing: "missing"}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Value is one typed feature or key value. I holds Int64, Bool (0/1) and Timestamp (µs); F Float64; S String
// and Bytes.
type Value struct {
	Kind Kind
	I    int64
	F    float64
	S    string
}

// Constructors for values.
func IntValue(v int64) Value              { return Value{Kind: Int64, I: v} }
func FloatValue(v float64) Value          { return Value{Kind: Float64, F: v} }
func StringValue(v string) Value          { return Value{Kind: String, S: v} }
func BytesValue(v []byte) Value           { return Value{Kind: Bytes, S: string(v)} }
func TimeValue(t time.Time) Value         { return Value{Kind: Timestamp, I: t.UnixMicro()} }
func TimestampValue(us int64) Value       { return Value{Kind: Timestamp, I: us} }
func BoolValue(v bool) Value              { return Value{Kind: Bool, I: b2i(v)} }
func (v Value) IsNull() bool              { return v.Kind == Null }
func (v Value) Time() time.Time           { return time.UnixMicro(v.I).UTC() }
func (v Value) Bool() bool                { return v.I != 0 }
func orderable(us int64) uint64           { return uint64(us) ^ (1 << 63) }
func fromOrderable(u uint64) int64        { return int64(u ^ (1 << 63)) }
func appendU64(b []byte, u uint64) []byte { return binary.BigEndian.AppendUint64(b, u) }

// Field is one feature of a schema.
type Field struct {
	Name string
	Kind Kind
}

// Schema is the feature list of stored values, identified by the hash of its encoding.
type Schema struct {
	Fields []Field
	ID     [8]byte
	Enc    []byte
	index  map[string]int
}

// NewSchema builds a schema and its id.
func NewSchema(fields []Field) *Schema {
	var enc []byte
	enc = binary.AppendUvarint(enc, uint64(len(fields)))
	for _, f := range fields {
		enc = binary.AppendUvarint(enc, uint64(len(f.Name)))
		enc = append(enc, f.Name...)
		enc = append(enc, byte(f.Kind))
	}
	s := &Schema{Fields: fields, Enc: enc}
	sum := sha256.Sum256(enc)
	copy(s.ID[:], sum[:8])
	s.buildIndex()
	return s
}

func (s *Schema) buildIndex() {
	s.index = make(map[string]int, len(s.Fields))
	for i, f := range s.Fields {
		s.index[f.Name] = i
	}
}

// Index returns the position of a feature, -1 when the schema lacks it.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// DecodeSchema reads a schema's encoding.
func DecodeSchema(enc []byte) (*Schema, error) {
	r := bytes.NewReader(enc)
	n, err := binary.ReadUvarint(r)
	if err != nil || n > 1<<16 {
		return nil, fmt.Errorf("corrupt online schema")
	}
	fields := make([]Field, 0, n)
	for i := uint64(0); i < n; i++ {
		l, err := binary.ReadUvarint(r)
		if err != nil || l > uint64(r.Len()) {
			return nil, fmt.Errorf("corrupt online schema")
		}
		name := make([]byte, l)
		_, _ = r.Read(name)
		k, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("corrupt online schema")
		}
		fields = append(fields, Field{Name: string(name), Kind: Kind(k)})
	}
	s := NewSchema(fields)
	return s, nil
}

// version is the format written; versionBinary the earlier one, still read (versionServing, the serving form,
// is only held in memory: see ServingForm).
const (
	version       = 2
	versionBinary = 1
)

// HeaderLen is the length of a stored value's header; OrderFrom..HeaderLen are the ordering bytes.
const (
	HeaderLen = 25
	OrderFrom = 9
)

// Newer reports whether stored value a orders strictly after b by (event_ts, created_ts).
func Newer(a, b []byte) bool {
	return bytes.Compare(a[OrderFrom:HeaderLen], b[OrderFrom:HeaderLen]) > 0
}

// SameOrder reports whether stored values a and b have the same (event_ts, created_ts).
func SameOrder(a, b []byte) bool {
	return bytes.Equal(a[OrderFrom:HeaderLen], b[OrderFrom:HeaderLen])
}

// Encode packs one entity's row; hasCreated=false stores a null created_ts.
func Encode(dst []byte, s *Schema, eventUS int64, createdUS int64, hasCreated bool, vals []Value) []byte {
	dst = append(dst, version)
	dst = append(dst, s.ID[:]...)
	dst = appendU64(dst, orderable(eventUS))
	c := uint64(0)
	if hasCreated {
		c = orderable(createdUS)
		if c == 0 { // the smallest timestamp collides with "null"; one µs later is indistinguishable in practice
			c = 1
		}
	}
	dst = appendU64(dst, c)
	for _, v := range vals {
		dst = appendStored(dst, v)
	}
	return dst
}

// appendStored appends a value as version 2 stores it: tagged binary, then its JSON text.
func appendStored(dst []byte, v Value) []byte {
	dst = AppendValue(dst, v)
	if v.Kind == Null || v.Kind == Float64 && !finite(v.F) {
		return append(dst, 0)
	}
	n := len(dst)
	dst = append(dst, 0) // one length byte, moved along when the text is 128 bytes or more
	dst = AppendJSON(dst, v)
	if l := len(dst) - n - 1; l < 0x80 {
		dst[n] = byte(l)
	} else {
		var lb [binary.MaxVarintLen64]byte
		w := binary.PutUvarint(lb[:], uint64(l))
		dst = append(dst, lb[:w-1]...)
		copy(dst[n+w:], dst[n+1:n+1+l])
		copy(dst[n:], lb[:w])
	}
	return dst
}

// AppendValue appends one tagged value.
func AppendValue(dst []byte, v Value) []byte {
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case Int64, Timestamp:
		dst = appendU64(dst, uint64(v.I))
	case Float64:
		dst = appendU64(dst, math.Float64bits(v.F))
	case Bool:
		dst = append(dst, byte(v.I))
	case String, Bytes:
		dst = binary.AppendUvarint(dst, uint64(len(v.S)))
		dst = append(dst, v.S...)
	}
	return dst
}

// Header is the decoded header of a stored value.
type Header struct {
	SchemaID   [8]byte
	EventUS    int64
	CreatedUS  int64
	HasCreated bool
}

// DecodeHeader reads a stored value's header.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderLen || b[0] != version && b[0] != versionBinary && b[0] != versionServing {
		return h, fmt.Errorf("corrupt online value (%d bytes)", len(b))
	}
	copy(h.SchemaID[:], b[1:9])
	h.EventUS = fromOrderable(binary.BigEndian.Uint64(b[9:17]))
	if c := binary.BigEndian.Uint64(b[17:25]); c != 0 {
		h.CreatedUS, h.HasCreated = fromOrderable(c), true
	}
	return h, nil
}

// Slots maps a schema's fields to output positions for the features wanted: slots[i] is where field i goes,
// -1 when it is not wanted. Compute it once per schema and reuse it for every row.
func Slots(s *Schema, want []string) []int {
	slots := make([]int, len(s.Fields))
	for i := range slots {
		slots[i] = -1
	}
	for o, name := range want {
		if i := s.Index(name); i >= 0 {
			slots[i] = o
		}
	}
	return slots
}

// DecodeInto reads the values after the header into out by slots (see Slots); positions no field fills are set
// to Missing.
func DecodeInto(b []byte, slots []int, out []Value) error {
	for i := range out {
		out[i] = Value{Kind: Missing}
	}
	if b[0] == versionServing {
		return fmt.Errorf("online value in the serving form holds no typed values (read the store, not its serving cache)")
	}
	p, withJSON := HeaderLen, b[0] == version
	for _, slot := range slots {
		v, next, ok := readValue(b, p)
		if ok && withJSON {
			_, next, ok = jsonText(b, next)
		}
		if !ok {
			return fmt.Errorf("corrupt online value at byte %d", p)
		}
		if slot >= 0 {
			out[slot] = v
		}
		p = next
	}
	return nil
}

// jsonText reads the JSON text length at p and returns the text's start and end.
func jsonText(b []byte, p int) (start, end int, ok bool) {
	l, n := binary.Uvarint(b[min(p, len(b)):])
	if n <= 0 || uint64(len(b)-p-n) < l {
		return p, p, false
	}
	return p + n, p + n + int(l), true
}

// Cell is where a decoded value's JSON text is, in the data DecodeJSON returns: Len 0 means null (a null, NaN,
// ±Inf or missing value).
type Cell struct {
	Kind     Kind
	Off, Len uint32
}

var null = []byte("null")

// JSON returns the cell's JSON text in data.
func (c Cell) JSON(data []byte) []byte {
	if c.Len == 0 {
		return null
	}
	return data[c.Off : c.Off+c.Len]
}

// DecodeJSON is DecodeInto for serving: it fills out by slots with each value's kind and the position of its
// JSON text (positions no field fills get kind Missing), and returns the bytes those positions refer to. For a
// version 2 value, or one in the serving form (ServingForm), that is b itself, nothing is formatted; a version 1
// value's texts are formatted into scratch, which is returned grown (the data stays valid when scratch is later
// reallocated).
func DecodeJSON(b []byte, slots []int, out []Cell, scratch []byte) (data, grown []byte, err error) {
	for i := range out {
		out[i] = Cell{Kind: Missing}
	}
	switch b[0] {
	case version:
	case versionServing:
		data, err := decodeServingJSON(b, slots, out)
		return data, scratch, err
	default:
		return decodeBinaryJSON(b, slots, out, scratch)
	}
	// One tight loop (serving reads 50 values of 100 rows per request): the common lengths, a one-byte JSON
	// length and fixed-width binary values, need no function call.
	p, n := HeaderLen, len(b)
	for _, slot := range slots {
		if p >= n {
			return nil, scratch, fmt.Errorf("corrupt online value at byte %d", p)
		}
		kind, q := Kind(b[p]), p+1
		switch kind {
		case Int64, Timestamp, Float64:
			q += 8
		case Null:
		case Bool:
			q++
		default:
			var ok bool
			if q, ok = skipValue(b, q, kind); !ok {
				return nil, scratch, fmt.Errorf("corrupt online value at byte %d", p)
			}
		}
		if q >= n {
			return nil, scratch, fmt.Errorf("corrupt online value at byte %d", p)
		}
		start, end := q+1, q+1+int(b[q])
		if b[q] >= 0x80 {
			var ok bool
			if start, end, ok = jsonText(b, q); !ok {
				return nil, scratch, fmt.Errorf("corrupt online value at byte %d", p)
			}
		}
		if end > n {
			return nil, scratch, fmt.Errorf("corrupt online value at byte %d", p)
		}
		if slot >= 0 {
			out[slot] = Cell{Kind: kind, Off: uint32(start), Len: uint32(end - start)}
		}
		p = end
	}
	return b, scratch, nil
}

// skipValue returns the end of a binary value of kind starting at p.
func skipValue(b []byte, p int, kind Kind) (int, bool) {
	switch kind {
	case Null:
		return p, true
	case Int64, Timestamp, Float64:
		return p + 8, p+8 <= len(b)
	case Bool:
		return p + 1, p < len(b)
	case String, Bytes:
		l, n := binary.Uvarint(b[min(p, len(b)):])
		if n <= 0 || uint64(len(b)-p-n) < l {
			return p, false
		}
		return p + n + int(l), true
	}
	return p, false
}

// decodeBinaryJSON is DecodeJSON of a version 1 value.
func decodeBinaryJSON(b []byte, slots []int, out []Cell, scratch []byte) (data, grown []byte, err error) {
	from := len(scratch)
	p := HeaderLen
	for _, slot := range slots {
		v, next, ok := readValue(b, p)
		if !ok {
			return nil, scratch, fmt.Errorf("corrupt online value at byte %d", p)
		}
		p = next
		if slot < 0 {
			continue
		}
		start := len(scratch)
		if v.Kind != Null && (v.Kind != Float64 || finite(v.F)) {
			scratch = AppendJSON(scratch, v)
		}
		out[slot] = Cell{Kind: v.Kind, Off: uint32(start - from), Len: uint32(len(scratch) - start)}
	}
	return scratch[from:len(scratch):len(scratch)], scratch, nil
}

func readValue(b []byte, p int) (Value, int, bool) {
	if p >= len(b) {
		return Value{}, p, false
	}
	v := Value{Kind: Kind(b[p])}
	p++
	switch v.Kind {
	case Null:
	case Int64, Timestamp, Float64:
		if p+8 > len(b) {
			return v, p, false
		}
		u := binary.BigEndian.Uint64(b[p:])
		if v.Kind == Float64 {
			v.F = math.Float64frombits(u)
		} else {
			v.I = int64(u)
		}
		p += 8
	case Bool:
		if p >= len(b) {
			return v, p, false
		}
		v.I = int64(b[p])
		p++
	case String, Bytes:
		l, n := binary.Uvarint(b[p:])
		if n <= 0 || uint64(len(b)-p-n) < l {
			return v, p, false
		}
		p += n
		v.S = string(b[p : p+int(l)])
		p += int(l)
	default:
		return v, p, false
	}
	return v, p, true
}

// Key encodes an entity's join key values (in the view's declared order) as the bytes stores index by. Integer
// keys of any width and a JSON number encode alike.
func Key(dst []byte, vals []Value) []byte {
	for _, v := range vals {
		dst = AppendValue(dst, v)
	}
	return dst
}

// Entry is one entity's row to upsert: its encoded key and packed value.
type Entry struct {
	Key, Val []byte
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
