package move

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
)

// castType is the Arrow type a columns: cast names.
func castType(name string) arrow.DataType {
	switch name {
	case "string":
		return arrow.BinaryTypes.String
	case "int":
		return arrow.PrimitiveTypes.Int32
	case "long":
		return arrow.PrimitiveTypes.Int64
	case "float":
		return arrow.PrimitiveTypes.Float32
	case "double":
		return arrow.PrimitiveTypes.Float64
	case "boolean":
		return arrow.FixedWidthTypes.Boolean
	case "date":
		return arrow.FixedWidthTypes.Date32
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case "timestamptz":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	return nil
}

// mapped applies columns: rules to a stream: it drops, renames and casts columns, batch by batch. Casts are safe
// casts: a value that does not fit (overflow, unparsable text) fails the run naming the column.
type mapped struct {
	ctx    context.Context
	in     array.RecordReader
	schema *arrow.Schema
	src    []int // input column of each output column
	cast   []arrow.DataType
	cur    arrow.RecordBatch
	err    error
	refs   int64
}

// mapColumns returns in unchanged when there are no rules.
func mapColumns(ctx context.Context, in array.RecordReader, rules []ColumnRule) (array.RecordReader, error) {
	if len(rules) == 0 {
		return in, nil
	}
	byName := map[string]ColumnRule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	sc := in.Schema()
	var names []string
	for _, f := range sc.Fields() {
		names = append(names, f.Name)
	}
	for _, r := range rules {
		if len(sc.FieldIndices(r.Name)) == 0 {
			return nil, fmt.Errorf("%w: columns: the source has no column %q (it has %s)", ErrInvalid, r.Name, strings.Join(names, ", "))
		}
	}
	m := &mapped{ctx: ctx, in: in, refs: 1}
	var fields []arrow.Field
	for i, f := range sc.Fields() {
		r, ok := byName[f.Name]
		if ok && r.Drop {
			continue
		}
		var to arrow.DataType
		if ok && r.Rename != "" {
			f.Name = r.Rename
		}
		if ok && r.Cast != "" {
			to = castType(r.Cast)
			f.Type = to
		}
		fields = append(fields, f)
		m.src = append(m.src, i)
		m.cast = append(m.cast, to)
	}
	m.schema = arrow.NewSchema(fields, nil)
	return m, nil
}

func (m *mapped) Schema() *arrow.Schema { return m.schema }

func (m *mapped) Next() bool {
	if m.cur != nil {
		m.cur.Release()
		m.cur = nil
	}
	if m.err != nil || !m.in.Next() {
		return false
	}
	rb := m.in.RecordBatch()
	cols := make([]arrow.Array, len(m.src))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, s := range m.src {
		c := rb.Column(s)
		if m.cast[i] == nil {
			c.Retain()
			cols[i] = c
			continue
		}
		out, err := compute.CastArray(m.ctx, c, compute.SafeCastOptions(m.cast[i]))
		if err != nil {
			m.err = fmt.Errorf("%w: columns: cast %q to %s: %v", ErrInvalid, rb.ColumnName(s), m.schema.Field(i).Type, err)
			return false
		}
		cols[i] = out
	}
	m.cur = array.NewRecordBatch(m.schema, cols, rb.NumRows())
	return true
}

func (m *mapped) RecordBatch() arrow.RecordBatch { return m.cur }
func (m *mapped) Record() arrow.RecordBatch      { return m.cur }
func (m *mapped) Retain()                        { m.refs++ }
func (m *mapped) Release()                       { m.refs-- }

func (m *mapped) Err() error {
	if m.err != nil {
		return m.err
	}
	return m.in.Err()
}
