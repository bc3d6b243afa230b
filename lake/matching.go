package lake

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// FilesMatching returns the data files of snapshot snapshotID of env/id (local paths, as Plan lists them) that
// may hold a row equal, in keys' columns, to one of keys' rows. It judges each file by the column bounds and
// null counts of its manifest entry, without reading it: a file it leaves out holds no such row; a file it
// returns may hold none (bounds are ranges, and the columns are judged one by one). A NULL in keys matches a
// file that may hold a NULL in that column.
//
// This is how a merge by key or a replacement of partitions rewrites only the files that can hold the rows it
// replaces (see WriteOptions.Replace). Columns are matched by name; a column the table lacks, or whose type
// has no byte-comparable bounds here (floating point, uuid, fixed, nested), does not narrow the choice, nor
// does a file without bounds for a column. keys is read to the end and not released.
//
// Errors: ErrNotFound for an unknown environment, table or snapshot; ErrInvalid when the snapshot has delete
// files (see Plan).
func (l *Lake) FilesMatching(ctx context.Context, env string, id Ident, snapshotID int64, keys array.RecordReader) ([]string, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return nil, err
	}
	t, err := l.loadTable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	snap, err := pickSnapshot(t, SnapshotRef{ID: snapshotID})
	if err != nil || snap == nil {
		return nil, fmt.Errorf("table %q in environment %q: %w", id.String(), env, err)
	}
	sc := t.Schema()
	if snap.SchemaID != nil {
		if s, ok := t.Schemas()[*snap.SchemaID]; ok {
			sc = s
		}
	}
	cols, err := keyColumns(sc, keys)
	if err != nil {
		return nil, fmt.Errorf("match the files of %s in %s: %w", id, env, err)
	}
	tasks, err := t.Scan(table.WithSnapshotID(snap.SnapshotID)).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %q in environment %q: plan files of snapshot %d: %w", id.String(), env, snap.SnapshotID, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, task := range tasks {
		if n := len(task.DeleteFiles) + len(task.EqualityDeleteFiles) + len(task.DeletionVectorFiles); n > 0 {
			return nil, fmt.Errorf("%w: snapshot %d of %s has delete files (merge-on-read), which Strata does not rewrite",
				ErrInvalid, snap.SnapshotID, id)
		}
		p, ok := localPath(task.File.FilePath())
		if !ok {
			return nil, fmt.Errorf("%w: data file %s is not on the local file system", ErrInvalid, task.File.FilePath())
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		if mayHold(task.File, cols) {
			out = append(out, p)
		}
	}
	return out, nil
}

// keyColumn is one column of the keys a file may hold: its table field, its sorted distinct values in
// byte-comparable form and whether a key is NULL in it.
type keyColumn struct {
	field   iceberg.NestedField
	values  [][]byte
	hasNull bool
}

// keyColumns reads keys and keeps the columns that can narrow the choice of files.
func keyColumns(sc *iceberg.Schema, keys array.RecordReader) ([]*keyColumn, error) {
	in := keys.Schema()
	cols := make([]*keyColumn, in.NumFields())
	for i, f := range in.Fields() {
		tf, ok := sc.FindFieldByName(f.Name)
		if !ok || !boundsComparable(tf.Type) {
			continue
		}
		cols[i] = &keyColumn{field: tf}
	}
	for keys.Next() {
		rec := keys.RecordBatch()
		for i, kc := range cols {
			if kc == nil {
				continue
			}
			if !kc.add(rec.Column(i)) {
				cols[i] = nil // a type this code cannot compare: it does not narrow
			}
		}
	}
	if err := keys.Err(); err != nil {
		return nil, err
	}
	var out []*keyColumn
	for _, kc := range cols {
		if kc != nil {
			slices.SortFunc(kc.values, bytes.Compare)
			kc.values = slices.CompactFunc(kc.values, bytes.Equal)
			out = append(out, kc)
		}
	}
	return out, nil
}

// boundsComparable says whether an Iceberg type's bounds are compared here.
func boundsComparable(t iceberg.Type) bool {
	switch t.(type) {
	case iceberg.BooleanType, iceberg.Int32Type, iceberg.Int64Type, iceberg.DateType, iceberg.TimeType,
		iceberg.TimestampType, iceberg.TimestampTzType, iceberg.StringType, iceberg.BinaryType, iceberg.DecimalType:
		return true
	}
	return false
}

// add adds an Arrow column's values; false if their type cannot be compared with the field's bounds.
func (kc *keyColumn) add(a arrow.Array) bool {
	for r := 0; r < a.Len(); r++ {
		if a.IsNull(r) {
			kc.hasNull = true
			continue
		}
		v, ok := arrowKey(a, r, kc.field.Type)
		if !ok {
			return false
		}
		kc.values = append(kc.values, v)
	}
	return true
}

// arrowKey encodes value r of a (already of the table's type, as Iceberg maps it to Arrow) so that byte order is
// value order, the same way literalKey encodes a bound of type t.
func arrowKey(a arrow.Array, r int, t iceberg.Type) ([]byte, bool) {
	switch a := a.(type) {
	case *array.Boolean:
		if a.Value(r) {
			return intKey(1), true
		}
		return intKey(0), true
	case *array.Int8:
		return intKey(int64(a.Value(r))), true
	case *array.Int16:
		return intKey(int64(a.Value(r))), true
	case *array.Int32:
		return intKey(int64(a.Value(r))), true
	case *array.Int64:
		return intKey(a.Value(r)), true
	case *array.Date32:
		return intKey(int64(a.Value(r))), true
	case *array.Time64:
		if a.DataType().(*arrow.Time64Type).Unit != arrow.Microsecond {
			return nil, false
		}
		return intKey(int64(a.Value(r))), true
	case *array.Timestamp:
		if a.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
			return nil, false
		}
		return intKey(int64(a.Value(r))), true
	case *array.String:
		return []byte(a.Value(r)), true
	case *array.LargeString:
		return []byte(a.Value(r)), true
	case *array.Binary:
		return bytes.Clone(a.Value(r)), true
	case *array.Decimal128:
		dt, ok := t.(iceberg.DecimalType)
		if !ok || int(a.DataType().(*arrow.Decimal128Type).Scale) != dt.Scale() {
			return nil, false
		}
		v := a.Value(r)
		return decimalKey(v.HighBits(), v.LowBits()), true
	}
	return nil, false
}

// literalKey encodes a bound like arrowKey encodes a value.
func literalKey(l iceberg.Literal) ([]byte, bool) {
	switch l := l.(type) {
	case iceberg.BoolLiteral:
		if l {
			return intKey(1), true
		}
		return intKey(0), true
	case iceberg.Int32Literal:
		return intKey(int64(l)), true
	case iceberg.Int64Literal:
		return intKey(int64(l)), true
	case iceberg.DateLiteral:
		return intKey(int64(l)), true
	case iceberg.TimeLiteral:
		return intKey(int64(l)), true
	case iceberg.TimestampLiteral:
		return intKey(int64(l)), true
	case iceberg.StringLiteral:
		return []byte(l), true
	case iceberg.BinaryLiteral:
		return []byte(l), true
	case iceberg.DecimalLiteral:
		return decimalKey(l.Val.HighBits(), l.Val.LowBits()), true
	}
	return nil, false
}

// intKey is v big-endian with the sign bit flipped: byte order is numeric order.
func intKey(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v)^(1<<63))
}

// decimalKey is a 128-bit unscaled value in byte-comparable form (values of one scale compare as numbers).
func decimalKey(hi int64, lo uint64) []byte {
	return binary.BigEndian.AppendUint64(intKey(hi), lo)
}

// mayHold says whether f may hold a row equal to one of the keys, column by column.
func mayHold(f iceberg.DataFile, cols []*keyColumn) bool {
	for _, kc := range cols {
		if !kc.mayHold(f) {
			return false
		}
	}
	return true
}

func (kc *keyColumn) mayHold(f iceberg.DataFile) bool {
	fid := kc.field.ID
	if kc.hasNull {
		if n, ok := f.NullValueCounts()[fid]; !ok || n > 0 {
			return true
		}
	}
	if len(kc.values) == 0 {
		return false
	}
	lo, ok1 := bound(f.LowerBoundValues(), fid, kc.field.Type)
	hi, ok2 := bound(f.UpperBoundValues(), fid, kc.field.Type)
	if !ok1 || !ok2 {
		// No bounds: all NULL if the counts say so, else unknown.
		nulls, ok3 := f.NullValueCounts()[fid]
		vals, ok4 := f.ValueCounts()[fid]
		return !(ok3 && ok4 && nulls == vals)
	}
	i, _ := slices.BinarySearchFunc(kc.values, lo, bytes.Compare)
	return i < len(kc.values) && bytes.Compare(kc.values[i], hi) <= 0
}

// bound decodes the bound of field fid in bounds.
func bound(bounds map[int][]byte, fid int, t iceberg.Type) ([]byte, bool) {
	b, ok := bounds[fid]
	if !ok || b == nil {
		return nil, false
	}
	l, err := iceberg.LiteralFromBytes(t, b)
	if err != nil {
		return nil, false
	}
	return literalKey(l)
}
