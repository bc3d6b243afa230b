package move

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/strata-data/strata/errs"
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
// casts: a value that does not fit (overflow, unparsable text) fails the run (BadData) naming the column.
type mapped struct {
	ctx      context.Context
	in       array.RecordReader
	schema   *arrow.Schema
	src      []int // input column of each output column
	cast     []arrow.DataType
	castName []string // the rule's word for cast (long, double, ...)
	cur      arrow.RecordBatch
	err      error
	refs     int64
}

// mapColumns returns in unchanged when there are no rules. Two columns of one name, in the source or after
// the rules, are an Invalid error naming them: a table cannot hold them, and which one a reader means is not
// guessed.
func mapColumns(ctx context.Context, in array.RecordReader, rules []ColumnRule) (array.RecordReader, error) {
	if len(rules) == 0 {
		if dup := firstDuplicate(columnNames(in.Schema())); dup != "" {
			return nil, fmt.Errorf("%w: the source has two columns named %q: give them distinct names (AS in the query, or columns: rename)", ErrInvalid, dup)
		}
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
		m.castName = append(m.castName, r.Cast)
	}
	m.schema = arrow.NewSchema(fields, nil)
	if err := duplicateAfterRules(m.schema, sc, byName); err != nil {
		return nil, err
	}
	return m, nil
}

// duplicateAfterRules explains a name the rules leave on two columns: a rename onto a column the source keeps,
// two renames to one name, or two source columns of one name.
func duplicateAfterRules(out, in *arrow.Schema, rules map[string]ColumnRule) error {
	dup := firstDuplicate(columnNames(out))
	if dup == "" {
		return nil
	}
	var renamed []string
	for _, f := range in.Fields() {
		if r, ok := rules[f.Name]; ok && r.Rename == dup {
			renamed = append(renamed, f.Name)
		}
	}
	switch len(renamed) {
	case 0:
		return fmt.Errorf("%w: the source has two columns named %q: give them distinct names (AS in the query, or columns: rename)", ErrInvalid, dup)
	case 1:
		return fmt.Errorf("%w: columns: %q is renamed to %q, but the source has a column %q too: drop it or rename it as well", ErrInvalid, renamed[0], dup, dup)
	}
	return fmt.Errorf("%w: columns: %s are all renamed to %q: give each its own name", ErrInvalid, strings.Join(renamed, " and "), dup)
}

func columnNames(sc *arrow.Schema) []string {
	out := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		out[i] = f.Name
	}
	return out
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
			m.err = errs.E(errs.BadData, "columns: cast %q to %s (cast: %s): a source value does not fit: %s; fix the data, or convert it in the source (e.g. in the query)",
				rb.ColumnName(s), m.schema.Field(i).Type, m.castName[i], strings.TrimPrefix(err.Error(), "invalid: "))
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
