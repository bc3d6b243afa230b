package record

import (
	"encoding/binary"
	"fmt"
)

// The serving form of a row is what a cache in front of a store keeps for serving: each value's kind and JSON
// text only, with the texts' positions in a table, so DecodeJSON fills a row's cells without walking its
// values, and the row is about a third smaller than the stored value (no binary values, no length prefixes):
//
//	versionServing(1) | schema id(8) | event_ts(8) | created_ts(8) | n (uint16) | kinds [n] | ends [n]uint16 | texts
//
// The header is a stored value's (DecodeHeader reads it); ends[i] is where value i's text ends, counted from
// the start of texts (it starts where value i-1's ends); an empty text is null (a null, NaN or ±Inf value).
// It carries no typed values: DecodeInto refuses it. It is never written to a store.
const versionServing = 3

// servingFixed is the length of the serving form's header and field count.
const servingFixed = HeaderLen + 2

// ServingForm returns the serving form of the stored value v (format 1 or 2) in new memory of its exact size;
// ok is false when v is corrupt or too large for the form (more than 65,535 values or bytes of text), and the
// caller keeps v as it is.
func ServingForm(v []byte) (out []byte, ok bool) {
	if _, err := DecodeHeader(v); err != nil || v[0] == versionServing {
		return nil, false
	}
	var cellBuf [64]Cell
	cells := cellBuf[:0]
	var scratch []byte
	data := v
	if v[0] == versionBinary {
		if cells, scratch, ok = binaryTexts(v, cells, scratch); !ok {
			return nil, false
		}
		data = scratch
	} else if cells, ok = storedTexts(v, cells); !ok {
		return nil, false
	}
	text := 0
	for _, c := range cells {
		text += int(c.Len)
	}
	n := len(cells)
	if n > 0xffff || text > 0xffff {
		return nil, false
	}
	out = make([]byte, servingFixed+3*n, servingFixed+3*n+text)
	copy(out, v[:HeaderLen])
	out[0] = versionServing
	binary.LittleEndian.PutUint16(out[HeaderLen:], uint16(n))
	kinds, ends := out[servingFixed:servingFixed+n], out[servingFixed+n:]
	for i, c := range cells {
		kinds[i] = byte(c.Kind)
		out = append(out, data[c.Off:c.Off+c.Len]...)
		binary.LittleEndian.PutUint16(ends[2*i:], uint16(len(out)-servingFixed-3*n))
	}
	return out, true
}

// storedTexts appends the kind and text position in v of every value of a format 2 value v.
func storedTexts(v []byte, cells []Cell) ([]Cell, bool) {
	for p := HeaderLen; p < len(v); {
		kind := Kind(v[p])
		q, ok := skipValue(v, p+1, kind)
		if !ok {
			return cells, false
		}
		start, end, ok := jsonText(v, q)
		if !ok {
			return cells, false
		}
		cells = append(cells, Cell{Kind: kind, Off: uint32(start), Len: uint32(end - start)})
		p = end
	}
	return cells, true
}

// binaryTexts formats the text of every value of a format 1 value v into scratch and appends its kind and
// position there.
func binaryTexts(v []byte, cells []Cell, scratch []byte) ([]Cell, []byte, bool) {
	for p := HeaderLen; p < len(v); {
		val, next, ok := readValue(v, p)
		if !ok {
			return cells, scratch, false
		}
		p = next
		start := len(scratch)
		if val.Kind != Null && (val.Kind != Float64 || finite(val.F)) {
			scratch = AppendJSON(scratch, val)
		}
		cells = append(cells, Cell{Kind: val.Kind, Off: uint32(start), Len: uint32(len(scratch) - start)})
	}
	return cells, scratch, true
}

// decodeServingJSON is DecodeJSON of a value in the serving form: a table lookup per value.
func decodeServingJSON(b []byte, slots []int, out []Cell) ([]byte, error) {
	if len(b) < servingFixed {
		return nil, fmt.Errorf("corrupt online value (%d bytes)", len(b))
	}
	n := int(binary.LittleEndian.Uint16(b[HeaderLen:]))
	base := servingFixed + 3*n
	if len(slots) > n || base > len(b) {
		return nil, fmt.Errorf("corrupt online value: %d values in the serving form, the schema has %d", n, len(slots))
	}
	kinds, ends := b[servingFixed:servingFixed+n], b[servingFixed+n:base]
	prev := 0
	for i, slot := range slots {
		end := int(binary.LittleEndian.Uint16(ends[2*i:]))
		if slot >= 0 {
			if end < prev || base+end > len(b) {
				return nil, fmt.Errorf("corrupt online value at value %d", i)
			}
			out[slot] = Cell{Kind: Kind(kinds[i]), Off: uint32(base + prev), Len: uint32(end - prev)}
		}
		prev = end
	}
	return b, nil
}
