package envs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
)

// ErrSchemaMismatch is matched by every *SchemaMismatchError.
var ErrSchemaMismatch = errs.New(errs.Invalid, "the data's columns differ from the table's")

// SchemaMismatchError reports a write whose columns differ from the table's where the write options do not
// allow it: Extra are data columns the table lacks (allowed by WriteOptions.SchemaEvolve), Missing are table
// columns the data lacks (allowed by WriteOptions.AllowMissingColumns). Types are Iceberg type names, as the
// table's schema shows them.
type SchemaMismatchError struct {
	Env     string
	Table   lake.Ident
	Extra   []lake.Column
	Missing []lake.Column
}

func (e *SchemaMismatchError) Error() string {
	var parts []string
	if len(e.Extra) > 0 {
		parts = append(parts, "columns not in the table: "+columnList(e.Extra))
	}
	if len(e.Missing) > 0 {
		parts = append(parts, "table columns missing from the data: "+columnList(e.Missing))
	}
	return fmt.Sprintf("write to %s in %s: %v: %s", e.Table, e.Env, ErrSchemaMismatch, strings.Join(parts, "; "))
}

// Unwrap makes the error match ErrSchemaMismatch (kind Invalid).
func (e *SchemaMismatchError) Unwrap() error { return ErrSchemaMismatch }

func columnList(cols []lake.Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = fmt.Sprintf("%s (%s)", c.Name, c.Type)
	}
	return strings.Join(s, ", ")
}

// checkColumns compares the data's top-level columns with the table's current columns by name and returns the
// data columns the write will add and, with ReplaceSchema, the table columns it will remove. A table that does
// not exist yet has nothing to compare.
func (s *Service) checkColumns(ctx context.Context, env string, id lake.Ident, rdr array.RecordReader, opts WriteOptions) (added, removed []string, err error) {
	cols, err := s.tableColumns(ctx, env, id)
	if err != nil || cols == nil {
		return nil, nil, err
	}
	inTable := map[string]bool{}
	for _, c := range cols {
		inTable[c.Name] = true
	}
	mm := &SchemaMismatchError{Env: env, Table: id}
	inData := map[string]bool{}
	for _, f := range rdr.Schema().Fields() {
		inData[f.Name] = true
		if !inTable[f.Name] {
			added = append(added, f.Name)
			mm.Extra = append(mm.Extra, lake.Column{Name: f.Name, Type: LakeTypeName(f.Type)})
		}
	}
	for _, c := range cols {
		if !inData[c.Name] {
			mm.Missing = append(mm.Missing, c)
		}
	}
	if opts.ReplaceSchema {
		for _, c := range mm.Missing {
			removed = append(removed, c.Name)
		}
		return added, removed, nil
	}
	if opts.SchemaEvolve {
		mm.Extra = nil
	}
	if opts.AllowMissingColumns {
		mm.Missing = nil
	}
	if len(mm.Extra) > 0 || len(mm.Missing) > 0 {
		return nil, nil, mm
	}
	return added, nil, nil
}

// tableColumns returns the current columns of env/id, or nil when the table does not exist.
func (s *Service) tableColumns(ctx context.Context, env string, id lake.Ident) ([]lake.Column, error) {
	info, err := s.lake.Describe(ctx, env, id)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if info.Columns == nil {
		return []lake.Column{}, nil
	}
	return info.Columns, nil
}

// ReadTypes returns the engine (DuckDB) types of the current columns of env/id by name, so that data appended to
// it is read with the table's types: a value that does not fit is a malformed row, not a reason to widen the
// column. nil for a table that does not exist. This is the one place lake column types become engine types.
func (s *Service) ReadTypes(ctx context.Context, env string, id lake.Ident) (map[string]string, error) {
	cols, err := s.tableColumns(ctx, env, id)
	if err != nil || cols == nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range cols {
		if t, err := engine.IcebergToDuckDB(c.Type); err == nil {
			out[c.Name] = t
		}
	}
	return out, nil
}

// LakeTypeName names an Arrow type as the table's schema would show it once stored, for messages and plans
// that compare data with a table (lake decides the stored type). Types without a simple name keep Arrow's.
func LakeTypeName(t arrow.DataType) string {
	switch t := t.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Uint8Type, *arrow.Uint16Type:
		return "int"
	case *arrow.Int64Type, *arrow.Uint32Type:
		return "long"
	case *arrow.Float16Type, *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType:
		return "binary"
	case *arrow.Date32Type, *arrow.Date64Type:
		return "date"
	case *arrow.Time32Type, *arrow.Time64Type:
		return "time"
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "timestamptz"
		}
		return "timestamp"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d, %d)", t.Precision, t.Scale)
	}
	return t.String()
}
