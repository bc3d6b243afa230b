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

const version = 1

// HeaderLen is the length of a stored value's header; OrderFrom..HeaderLen are the ordering bytes.
const (
	HeaderLen = 25
	OrderFrom = 9
)

// Newer reports whether stored value a orders strictly after b by (event_ts, created_ts).
func Newer(a, b []byte) bool {
	return bytes.Compare(a[OrderFrom:HeaderLen], b[OrderFrom:HeaderLen]) > 0
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
		dst = AppendValue(dst, v)
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
	if len(b) < HeaderLen || b[0] != version {
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
	p := HeaderLen
	for _, slot := range slots {
		v, next, ok := readValue(b, p)
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
