package record

import (
	"encoding/binary"
	"fmt"
)

// The serving form of a row is what a cache in front of a store keeps for serving: each value's kind and JSON
// text only, with the texts' positions in a table, so DecodeJSON fills a row's cells without walking its
// values, and the row is about a third smaller than the stored value (no binary values, no length prefixes):
//
//	versionServing(1) | schema id(8) | event_ts(8) | created_ts(8) | n (uint16) | kinds [n] | offs [n+1]uint16 | texts
//
// The header is a stored value's (DecodeHeader reads it); value i's text is texts[offs[i]:offs[i+1]] (offs[0] is
// 0, offs[n] the texts' length); an empty text is null (a null, NaN or ±Inf value).
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
	base := servingBase(n)
	out = make([]byte, base, base+text)
	copy(out, v[:HeaderLen])
	out[0] = versionServing
	binary.LittleEndian.PutUint16(out[HeaderLen:], uint16(n))
	kinds, offs := out[servingFixed:servingFixed+n], out[servingFixed+n:base]
	for i, c := range cells {
		kinds[i] = byte(c.Kind)
		out = append(out, data[c.Off:c.Off+c.Len]...)
		binary.LittleEndian.PutUint16(offs[2*i+2:], uint16(len(out)-base))
	}
	return out, true
}

// servingBase is where the texts of a serving form of n values start.
func servingBase(n int) int { return servingFixed + n + 2*(n+1) }

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
	if err := CheckServing(b, len(slots)); err != nil {
		return nil, err
	}
	l := ServingLayoutOf(b)
	for i, slot := range slots {
		if slot >= 0 {
			out[slot] = l.Cell(b, i)
		}
	}
	return b, nil
}

// CheckServing checks that b, a value in the serving form, holds at least fields values and all their texts,
// so that its layout's Cell reads it in bounds for any value below fields.
func CheckServing(b []byte, fields int) error {
	if len(b) < servingFixed {
		return fmt.Errorf("corrupt online value (%d bytes)", len(b))
	}
	n := int(binary.LittleEndian.Uint16(b[HeaderLen:]))
	base := servingBase(n)
	if fields > n || base > len(b) {
		return fmt.Errorf("corrupt online value: %d values in the serving form, the schema has %d", n, fields)
	}
	// Only ServingForm makes the form, its offsets rising from 0: a value cut short is what is checked (once per
	// row served, so in constant time).
	if end := base + int(binary.LittleEndian.Uint16(b[base-2:])); end != len(b) {
		return fmt.Errorf("corrupt online value: its texts end at %d of %d bytes", end, len(b))
	}
	return nil
}

// ServingLayout is where the parts of one value in the serving form are, for reading its cells.
type ServingLayout struct {
	Offs, Base int // the kinds start at servingFixed
}

// ServingLayoutOf returns the layout of b, a value in the serving form checked by CheckServing.
func ServingLayoutOf(b []byte) ServingLayout {
	n := int(binary.LittleEndian.Uint16(b[HeaderLen:]))
	return ServingLayout{Offs: servingFixed + n, Base: servingBase(n)}
}

// Cell returns where value i's text is in b (checked by CheckServing, i below its count): what DecodeJSON fills
// in for it. Small enough to be inlined: serving reads 5,000 cells for a 100 × 50 answer.
func (l ServingLayout) Cell(b []byte, i int) Cell {
	o := binary.LittleEndian.Uint32(b[l.Offs+2*i:]) // offs[i] and offs[i+1]
	return Cell{Kind: Kind(b[servingFixed+i]), Off: uint32(l.Base) + o&0xffff, Len: o>>16 - o&0xffff}
}

// IsServing tells whether a value is in the serving form.
func IsServing(b []byte) bool { return len(b) > 0 && b[0] == versionServing }
