//go:build duckdb_arrow

package engine

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// A lake table's view reads its files by Parquet field id (read_parquet(files, schema = MAP {id: ...})), which is
// exact under any schema evolution but hands DuckDB's planner no column statistics and no row estimates: it
// groups with a hash table where the value ranges allow a perfect hash, cannot prove a filter empty, and guesses
// join orders blind. When the files' field ids name the same physical columns as the current schema (the common
// case: no rename, drop or type change since they were written), the view reads them with plain read_parquet and
// a projection instead (an alias for a renamed column, a typed NULL for a column no file has, a widening cast
// where the file's type is narrower), which DuckDB plans with the files' statistics. Anything else keeps the
// field-id form.

// fileColumn is one top-level column of a Parquet file.
type fileColumn struct {
	id   int32  // Parquet field id, -1 if none
	name string // physical name
	duck string // the DuckDB type read_parquet gives it, "" when not one plainView knows
	tree string // a nested column's schema as printed, "" for a primitive one
}

// fileLayout is a Parquet file's top-level columns, as read from its footer.
type fileLayout struct {
	size    int64
	modTime time.Time
	cols    []fileColumn
}

// layoutCache holds the footers' layouts of the files views were made for, by absolute path (lake data files are
// never rewritten in place; size and modification time are checked anyway).
type layoutCache struct {
	mu sync.Mutex
	m  map[string]*fileLayout
}

// fileLayouts is the process's layout cache: files are the same whichever engine reads them.
var fileLayouts layoutCache

// layoutCacheMax bounds the files whose layouts are kept (a layout is a few hundred bytes).
const layoutCacheMax = 100_000

// layout returns the layout of the Parquet file at path, nil if it cannot be read (the field-id view then
// reports the problem).
func (c *layoutCache) layout(path string) *fileLayout {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	c.mu.Lock()
	l := c.m[path]
	c.mu.Unlock()
	if l != nil && l.size == st.Size() && l.modTime.Equal(st.ModTime()) {
		return l
	}
	l, err = readLayout(path)
	if err != nil {
		return nil
	}
	l.size, l.modTime = st.Size(), st.ModTime()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= layoutCacheMax {
		c.m = map[string]*fileLayout{}
	}
	c.m[path] = l
	c.mu.Unlock()
	return l
}

// readLayout reads a Parquet file's footer.
func readLayout(path string) (*fileLayout, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	md := r.MetaData()
	root := md.Schema.Root()
	l := &fileLayout{cols: make([]fileColumn, root.NumFields())}
	elems := md.FileMetaData.Schema // depth first: the root, then each field followed by its children
	elem := 1
	for i := range root.NumFields() {
		at := elem
		elem = skipElement(elems, elem)
		n := root.Field(i)
		l.cols[i] = fileColumn{id: n.FieldID(), name: n.Name()}
		p, ok := n.(*schema.PrimitiveNode)
		if !ok || n.RepetitionType() == parquet.Repetitions.Repeated {
			var b strings.Builder
			schema.PrintSchema(n, &b, 1)
			l.cols[i].tree = b.String()
			continue
		}
		// The element's own logical type, not one derived from a legacy converted type: DuckDB reads some legacy
		// annotations (timestamps) differently from their logical equivalents.
		explicit := at < len(elems) && elems[at].GetName() == n.Name() && elems[at].IsSetLogicalType()
		l.cols[i].duck = duckTypeOfParquet(p, explicit)
	}
	return l, nil
}

// skipElement returns the index of the schema element after element i and its descendants.
func skipElement[E interface{ GetNumChildren() int32 }](elems []E, i int) int {
	if i >= len(elems) {
		return i
	}
	next := i + 1
	for range elems[i].GetNumChildren() {
		next = skipElement(elems, next)
	}
	return next
}

// duckTypeOfParquet is the DuckDB type read_parquet gives a primitive Parquet column, for the types the lake's
// writers produce; "" for any other (the view then keeps the field-id form).
func duckTypeOfParquet(p *schema.PrimitiveNode, explicitLogical bool) string {
	lt := p.LogicalType()
	switch t := lt.(type) {
	case nil, schema.NoLogicalType:
		switch p.PhysicalType() {
		case parquet.Types.Boolean:
			return "BOOLEAN"
		case parquet.Types.Int32:
			return "INTEGER"
		case parquet.Types.Int64:
			return "BIGINT"
		case parquet.Types.Float:
			return "FLOAT"
		case parquet.Types.Double:
			return "DOUBLE"
		case parquet.Types.ByteArray:
			return "BLOB"
		}
	case schema.IntLogicalType:
		if !t.IsSigned() {
			return ""
		}
		want := map[int8]parquet.Type{8: parquet.Types.Int32, 16: parquet.Types.Int32, 32: parquet.Types.Int32, 64: parquet.Types.Int64}
		names := map[int8]string{8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}
		if want[t.BitWidth()] == p.PhysicalType() {
			return names[t.BitWidth()]
		}
	case schema.StringLogicalType:
		if p.PhysicalType() == parquet.Types.ByteArray {
			return "VARCHAR"
		}
	case schema.DateLogicalType:
		if p.PhysicalType() == parquet.Types.Int32 {
			return "DATE"
		}
	case schema.DecimalLogicalType:
		switch p.PhysicalType() {
		case parquet.Types.Int32, parquet.Types.Int64, parquet.Types.FixedLenByteArray:
			return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision(), t.Scale())
		}
	case schema.TimestampLogicalType:
		if !explicitLogical || p.PhysicalType() != parquet.Types.Int64 {
			return ""
		}
		switch {
		case t.TimeUnit() == schema.TimeUnitNanos && !t.IsAdjustedToUTC():
			return "TIMESTAMP_NS"
		case t.TimeUnit() != schema.TimeUnitMicros:
			return ""
		case t.IsAdjustedToUTC():
			return "TIMESTAMPTZ"
		}
		return "TIMESTAMP"
	case schema.TimeLogicalType:
		if explicitLogical && !t.IsAdjustedToUTC() && t.TimeUnit() == schema.TimeUnitMicros && p.PhysicalType() == parquet.Types.Int64 {
			return "TIME"
		}
	case schema.UUIDLogicalType:
		if p.PhysicalType() == parquet.Types.FixedLenByteArray && p.TypeLength() == 16 {
			return "UUID"
		}
	}
	return ""
}

// widens reports whether every value of DuckDB type from casts exactly to type to (the casts the field-id
// form applies to a file written before a type promotion, or by a writer with narrower integers).
func widens(from, to string) bool {
	switch to {
	case "INTEGER":
		return from == "TINYINT" || from == "SMALLINT"
	case "BIGINT":
		return from == "TINYINT" || from == "SMALLINT" || from == "INTEGER"
	case "DOUBLE":
		return from == "FLOAT"
	}
	return false
}

// plainSelect returns the plain read_parquet SELECT for a table whose files line up with its schema (see the
// top of this file), or "" when they do not. want are the columns' DuckDB types, paths the absolute files.
// extra are further columns of read_parquet to keep (its virtual columns, such as file_row_number).
func (c *layoutCache) plainSelect(t Table, want, paths, extra []string) string {
	layouts := make([]*fileLayout, len(paths))
	for i, p := range paths {
		if layouts[i] = c.layout(p); layouts[i] == nil {
			return ""
		}
	}
	// Every physical name (case-insensitively, as DuckDB binds them) must stand for one field id in every file, and
	// every field id for one name, so that a column read by name is the column of that id wherever it appears; a
	// column the view reads must have one type in every file (others are not read).
	type named struct {
		id   int32
		name string
	}
	byName := map[string]named{}
	byID := map[int32]named{}
	types := map[int32]string{}
	typed := map[int32]bool{} // the type is the same in every file that has the column
	same := true              // every file has the same columns in the same order
	nested := false           // some file has a nested column
	for i, l := range layouts {
		seen := map[string]bool{}
		for _, fc := range l.cols {
			k := strings.ToLower(fc.name)
			if seen[k] {
				return ""
			}
			seen[k] = true
			nested = nested || fc.tree != ""
			n := named{fc.id, fc.name}
			if prev, ok := byName[k]; ok && prev != n {
				return ""
			}
			byName[k] = n
			if fc.id < 0 {
				continue
			}
			if prev, ok := byID[fc.id]; ok && prev != n {
				return ""
			}
			if _, ok := byID[fc.id]; !ok {
				types[fc.id], typed[fc.id] = fc.duck, true
			} else if types[fc.id] != fc.duck {
				typed[fc.id] = false
			}
			byID[fc.id] = n
		}
		if i > 0 && !sameColumns(l.cols, layouts[0].cols) {
			same = false
		}
	}
	if !same && nested {
		// union_by_name would merge nested columns of different shapes (a struct that gained a field) by rules
		// of its own; the field-id form reads them as the schema says.
		return ""
	}
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		alias := sqlIdent(col.Name)
		id := int32(col.FieldID)
		n, ok := byID[id]
		switch {
		case !ok:
			cols[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", want[i], alias)
			continue
		case !typed[id] || types[id] == "":
			return ""
		}
		expr := sqlIdent(n.name)
		switch {
		case types[id] == want[i]:
		case widens(types[id], want[i]):
			expr = fmt.Sprintf("CAST(%s AS %s)", expr, want[i])
		default:
			return ""
		}
		if expr != alias {
			expr += " AS " + alias
		}
		cols[i] = expr
	}
	cols = append(cols, extra...)
	opts := ""
	if !same {
		opts = ", union_by_name = true"
	}
	return fmt.Sprintf("SELECT %s FROM read_parquet(%s%s)", strings.Join(cols, ", "), sqlStringList(paths), opts)
}

func sameColumns(a, b []fileColumn) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// PositionalScanSQL returns a FROM item that reads the rows of table t as its view does, with read_parquet's
// virtual columns file_index and file_row_number, which name each row of the snapshot: the files are read in
// path order, so a row's (file_index, file_row_number) is the same in every read of the same snapshot. It is
// plain read_parquet under a projection when the files line up with the schema, else read_parquet by field id,
// like the table's view; a query should read all its tables in one way or the other, since DuckDB plans a
// join between a scan it has row estimates for and one it has none for blind (the field-id form gives none).
// t's files must be among the tables bound to the query (the sandbox allows only those).
func PositionalScanSQL(t Table) (string, error) {
	t.Files = slices.Clone(t.Files)
	for i, f := range t.Files {
		p, err := localPath(f)
		if err != nil {
			return "", fmt.Errorf("engine: table %s.%s: %w", t.Schema, t.Name, err)
		}
		t.Files[i] = p
	}
	slices.Sort(t.Files)
	body, paths, err := tableSelect(t)
	if err != nil {
		return "", err
	}
	if len(paths) == 0 {
		return "", fmt.Errorf("engine: table %s.%s has no files to scan: %w", t.Schema, t.Name, ErrInvalid)
	}
	types := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		types[i], _ = duckTypeOf(c.Type)
	}
	if plain := fileLayouts.plainSelect(t, types, paths, []string{"file_index", "file_row_number"}); plain != "" {
		return "(" + plain + ")", nil
	}
	from, ok := strings.CutPrefix(body, "SELECT "+strings.Join(quoted(t.Columns), ", ")+" FROM ")
	if !ok {
		return "", fmt.Errorf("engine: table %s.%s: unexpected view SQL", t.Schema, t.Name)
	}
	return from, nil
}

func quoted(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = sqlIdent(c.Name)
	}
	return out
}
