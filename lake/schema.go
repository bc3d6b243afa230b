package lake

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// schemaFromArrow converts an Arrow schema into a new table schema with fresh field ids. Nanosecond
// timestamps become microsecond ones (Iceberg v2 has no nanoseconds). Every column is optional, whatever
// the Arrow nullability says: many producers leave Nullable false by accident, and a required column would
// reject every later write from a source that declares its columns nullable (DuckDB, pandas).
func schemaFromArrow(sc *arrow.Schema) (*iceberg.Schema, error) {
	if err := checkArrowNames(sc); err != nil {
		return nil, err
	}
	fresh, err := table.ArrowSchemaToIcebergWithFreshIDs(sc, true)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot store this data as an Iceberg table: %v", ErrInvalid, err)
	}
	fields := fresh.Fields()
	for i := range fields {
		fields[i].Required = false
		fields[i].Type = optionalType(fields[i].Type)
	}
	return iceberg.NewSchema(0, fields...), nil
}

// optionalType makes the fields of nested structs optional too.
func optionalType(t iceberg.Type) iceberg.Type {
	st, ok := t.(*iceberg.StructType)
	if !ok {
		return t
	}
	fields := make([]iceberg.NestedField, len(st.FieldList))
	for i, f := range st.FieldList {
		f.Required = false
		f.Type = optionalType(f.Type)
		fields[i] = f
	}
	return &iceberg.StructType{FieldList: fields}
}

func checkArrowNames(sc *arrow.Schema) error {
	if sc == nil || sc.NumFields() == 0 {
		return fmt.Errorf("%w: the data has no columns", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, f := range sc.Fields() {
		if f.Name == "" {
			return fmt.Errorf("%w: the data has a column without a name", ErrInvalid)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: the data has two columns named %q", ErrInvalid, f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}

// newColumns compares incoming data with the table schema. It returns the data's columns the table lacks (to
// be added, optional, in data order), or an ErrInvalid error naming the first column whose type the table
// cannot store. Columns are matched by name; nested types are only checked for kind here (iceberg-go checks
// their fields when writing).
func newColumns(cur *iceberg.Schema, sc *arrow.Schema) ([]iceberg.NestedField, error) {
	incoming, err := schemaFromArrow(sc)
	if err != nil {
		return nil, err
	}
	byName := map[string]iceberg.NestedField{}
	for _, f := range cur.Fields() {
		byName[f.Name] = f
	}
	var adds []iceberg.NestedField
	for _, f := range incoming.Fields() {
		existing, ok := byName[f.Name]
		if !ok {
			adds = append(adds, f)
			continue
		}
		if !storable(existing.Type, f.Type) {
			return nil, fmt.Errorf("%w: column %q has type %s in the table but %s in the data (arrow %s); "+
				"cast it to %s, or write to a new table", ErrInvalid, f.Name, existing.Type, f.Type,
				arrowType(sc, f.Name), existing.Type)
		}
	}
	return adds, nil
}

// storable reports whether values of type data can be written into a column of type col.
func storable(col, data iceberg.Type) bool {
	if col.Equals(data) {
		return true
	}
	switch col.(type) {
	case *iceberg.StructType:
		_, ok := data.(*iceberg.StructType)
		return ok
	case *iceberg.ListType:
		_, ok := data.(*iceberg.ListType)
		return ok
	case *iceberg.MapType:
		_, ok := data.(*iceberg.MapType)
		return ok
	}
	_, err := iceberg.PromoteType(data, col)
	return err == nil
}

func arrowType(sc *arrow.Schema, name string) string {
	if idx := sc.FieldIndices(name); len(idx) > 0 {
		return sc.Field(idx[0]).Type.String()
	}
	return "?"
}

// stripFieldIDs drops Parquet field-id metadata from top-level Arrow fields. Data read from another Iceberg
// table carries that table's ids; iceberg-go would match columns by those ids instead of by name.
func stripFieldIDs(sc *arrow.Schema) (*arrow.Schema, bool) {
	changed := false
	fields := sc.Fields()
	for i, f := range fields {
		if idx := f.Metadata.FindKey(table.ArrowParquetFieldIDKey); idx >= 0 {
			keys, vals := []string{}, []string{}
			for j := 0; j < f.Metadata.Len(); j++ {
				if j != idx {
					keys = append(keys, f.Metadata.Keys()[j])
					vals = append(vals, f.Metadata.Values()[j])
				}
			}
			fields[i].Metadata = arrow.NewMetadata(keys, vals)
			changed = true
		}
	}
	if !changed {
		return sc, false
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md), true
}

// replaceSchema stages in txn the schema change that makes sc's columns t's current schema (see
// WriteOptions.ReplaceSchema): same-named columns keep their field id and widen to the data's type where it is
// wider, new columns are added, the others are deleted, and the columns are ordered as in sc. A schema equal
// to an earlier one of t becomes current again without a new schema id.
func replaceSchema(txn *table.Transaction, t *table.Table, sc *arrow.Schema) error {
	incoming, err := schemaFromArrow(sc)
	if err != nil {
		return err
	}
	cur := t.Schema()
	inData := map[string]bool{}
	us := txn.UpdateSchema(true, false)
	var order []string
	for _, f := range incoming.Fields() {
		inData[f.Name] = true
		order = append(order, f.Name)
		existing, ok := cur.FindFieldByName(f.Name)
		switch {
		case !ok:
			us.AddColumn([]string{f.Name}, f.Type, f.Doc, false, nil)
		case storable(existing.Type, f.Type):
		case widens(existing.Type, f.Type):
			us.UpdateColumn([]string{f.Name}, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Valid: true, Val: f.Type}})
		default:
			return fmt.Errorf("%w: column %q has type %s in the table but %s in the data (arrow %s), and %s cannot widen "+
				"to %s; cast it to %s, or write to a new table", ErrInvalid, f.Name, existing.Type, f.Type,
				arrowType(sc, f.Name), existing.Type, f.Type, existing.Type)
		}
	}
	var kept []string // the order without moves: kept columns in the table's order, then the added ones
	for _, f := range cur.Fields() {
		if inData[f.Name] {
			kept = append(kept, f.Name)
			continue
		}
		if src := partitionSource(t, f.ID); src != "" {
			return fmt.Errorf("%w: the data lacks column %q, which partitions the table (%s); include it in the data, "+
				"or write to a new table", ErrInvalid, f.Name, src)
		}
		us.DeleteColumn([]string{f.Name})
	}
	for _, n := range order {
		if _, ok := cur.FindFieldByName(n); !ok {
			kept = append(kept, n)
		}
	}
	if !slices.Equal(kept, order) { // the data's order
		for i, n := range order {
			if i == 0 {
				us.MoveFirst([]string{n})
			} else {
				us.MoveAfter([]string{n}, []string{order[i-1]})
			}
		}
	}
	if err := us.Commit(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// widens reports whether a column of type col can be widened to hold values of type data (int to long, float
// to double, a decimal's precision), as Iceberg's type promotion allows.
func widens(col, data iceberg.Type) bool {
	if _, ok := col.(iceberg.PrimitiveType); !ok {
		return false
	}
	_, err := iceberg.PromoteType(col, data)
	return err == nil
}

// partitionSource names the partition field of t's current spec whose source is the column fieldID ("" if none).
func partitionSource(t *table.Table, fieldID int) string {
	spec := t.Spec()
	if fs := spec.FieldsBySourceID(fieldID); len(fs) > 0 {
		return "partition field " + fs[0].Name
	}
	return ""
}
