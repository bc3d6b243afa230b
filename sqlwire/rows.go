package sqlwire

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
)

// outFlush is the size at which encoded rows are written to the socket: large writes, few syscalls, and
// a bounded buffer per connection.
const outFlush = 256 << 10

// colEncoder encodes one column of the current batch.
type colEncoder struct {
	enc   encoder
	col   arrow.Array
	nulls bool // the column has NULLs in this batch: check each row
}

// setEncoders picks each column's encoder for the current batch, in the column's result format.
// setFormatCodes switches the cursor's result formats, also for the rest of the current batch.
func (cu *cursor) setFormatCodes(formats []int16) {
	cu.formats = formats
	if cu.batch != nil {
		cu.setEncoders()
	}
}

func (cu *cursor) setEncoders() {
	cu.encs = cu.encs[:0]
	for j, col := range cu.batch.Columns() {
		var enc encoder
		if cu.formats != nil && cu.formats[j] == 1 {
			enc = binaryEncoder(col, cu.colOpts(j))
		} else {
			enc = textEncoder(col, cu.colOpts(j))
		}
		cu.encs = append(cu.encs, colEncoder{enc: enc, col: col, nulls: col.NullN() > 0})
	}
}

// appendRow appends the current row as one message of type typ: a DataRow ('D') or a binary COPY tuple in
// CopyData ('d', prefix: the COPY header before the first tuple). Either is a column count, then each
// value as its length (-1 for NULL) and bytes, encoded in place.
func (cu *cursor) appendRow(b []byte, typ byte, prefix []byte) []byte {
	be := binary.BigEndian
	at := len(b)
	b = append(b, typ, 0, 0, 0, 0)
	b = append(b, prefix...)
	b = be.AppendUint16(b, uint16(len(cu.encs)))
	row := cu.row
	for _, e := range cu.encs {
		if e.nulls && e.col.IsNull(row) {
			b = append(b, 0xFF, 0xFF, 0xFF, 0xFF)
			continue
		}
		lenAt := len(b)
		b = e.enc(append(b, 0, 0, 0, 0), row)
		be.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	}
	be.PutUint32(b[at+1:], uint32(len(b)-at-1))
	return b
}

// values returns the current row's values (nil for NULL), encoded into cu.scratch; valid until the next
// call. Text and CSV COPY escape them afterwards.
func (cu *cursor) values() [][]byte {
	buf := cu.scratch[:0]
	if len(cu.ends) != len(cu.encs) {
		cu.ends, cu.vals = make([]int, len(cu.encs)), make([][]byte, len(cu.encs))
	}
	ends, out := cu.ends, cu.vals
	for j, e := range cu.encs {
		if e.nulls && e.col.IsNull(cu.row) {
			ends[j] = -1
			continue
		}
		buf = e.enc(buf, cu.row)
		ends[j] = len(buf)
	}
	cu.scratch = buf
	from := 0
	for j, end := range ends {
		if end < 0 {
			out[j] = nil
			continue
		}
		out[j] = buf[from:end:end]
		if out[j] == nil {
			out[j] = []byte{} // an empty value is not NULL
		}
		from = end
	}
	return out
}

// appendMessage appends a message of type typ with body data.
func appendMessage(b []byte, typ byte, data []byte) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)+4))
	return append(b, data...)
}

// writeOut writes the encoded rows to the socket. Rows bypass pgproto3's Backend buffer, which shrinks
// back to 1 KiB after every flush and so regrew, row by row, for every batch; whatever the Backend holds
// is flushed before rows are encoded (stream), so messages keep their order.
func (c *conn) writeOut() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.out)
	if cap(c.out) > 4*outFlush {
		c.out = nil // a huge row grew it: do not keep it for the connection's life
	} else {
		c.out = c.out[:0]
	}
	return err
}
