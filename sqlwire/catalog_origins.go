package sqlwire

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/engine"
)

// Column origins of a query over several lake tables (a join): DuckDB's parser gives the query's tree
// (json_serialize_sql), and the select list's plain column references are resolved against the FROM
// clause's tables as the binder does: qualified by a table's alias or name, or unqualified when exactly one
// table has the column; * and t.* expand to the tables' columns in order. Anything else (expressions,
// subqueries, CTEs, table functions, USING / NATURAL joins' merged columns, star modifiers) keeps 0, as
// PostgreSQL gives 0 for a field that is not a plain column of a table.

// parserSetup is an empty database the parser runs in (pooled: no tables, no setup).
var parserSetup = engine.Setup{Key: "sqlwire:parser", Script: func() (string, error) { return "", nil }}

// sqlTree is the part of json_serialize_sql's output the origins need.
type sqlTree struct {
	Error      bool `json:"error"`
	Statements []struct {
		Node struct {
			Type       string                          `json:"type"`
			SelectList []sqlExpr                       `json:"select_list"`
			From       *sqlFrom                        `json:"from_table"`
			CTEs       struct{ Map []json.RawMessage } `json:"cte_map"`
		} `json:"node"`
	} `json:"statements"`
}

type sqlExpr struct {
	Class        string            `json:"class"`
	Alias        string            `json:"alias"`
	ColumnNames  []string          `json:"column_names"`
	RelationName string            `json:"relation_name"`
	Columns      bool              `json:"columns"`
	Expr         json.RawMessage   `json:"expr"`
	Modifiers    []json.RawMessage `json:"exclude_list"`
	Replace      []json.RawMessage `json:"replace_list"`
	QExclude     []json.RawMessage `json:"qualified_exclude_list"`
	Rename       []json.RawMessage `json:"rename_list"`
}

type sqlFrom struct {
	Type        string   `json:"type"`
	Alias       string   `json:"alias"`
	Schema      string   `json:"schema_name"`
	Table       string   `json:"table_name"`
	ColAliases  []string `json:"column_name_alias"`
	Left, Right *sqlFrom
	RefType     string          `json:"ref_type"`
	Using       []string        `json:"using_columns"`
	At          json.RawMessage `json:"at_clause"`
}

// originRel is one lake table of a FROM clause.
type originRel struct {
	name string // the alias, or the table's name (lower case)
	q    engine.QualifiedName
	cols []engine.Column
}

// origin is where a select item's value comes from: a table's column, or nothing.
type origin struct {
	rel *originRel
	att int // 1-based
}

// joinOrigins sets the table OID and attnum of the fields that are plain columns of the lake tables sql
// joins (bound: their columns as the query read them).
func (c *conn) joinOrigins(sql string, bound map[engine.QualifiedName][]engine.Column, fields []pgproto3.FieldDescription) {
	tree, ok := c.parseSQL(sql)
	if !ok || tree.Error || len(tree.Statements) != 1 {
		return
	}
	n := tree.Statements[0].Node
	if n.Type != "SELECT_NODE" || n.From == nil || len(n.CTEs.Map) > 0 {
		return
	}
	var rels []*originRel
	complete, merged := true, false
	var walk func(f *sqlFrom)
	walk = func(f *sqlFrom) {
		switch {
		case f == nil:
		case f.Type == "JOIN":
			if f.RefType == "NATURAL" || len(f.Using) > 0 {
				merged = true
			}
			walk(f.Left)
			walk(f.Right)
		case f.Type == "BASE_TABLE" && len(f.ColAliases) == 0 && isNull(f.At):
			cols, ok := lookupBound(bound, f.Schema, f.Table)
			if !ok {
				complete = false
				return
			}
			name := f.Alias
			if name == "" {
				name = f.Table
			}
			rels = append(rels, &originRel{name: strings.ToLower(name), q: engine.QualifiedName{Schema: f.Schema, Name: f.Table}, cols: cols})
		default:
			complete = false
		}
	}
	walk(n.From)
	var out []origin
	for _, e := range n.SelectList {
		o, ok := expand(e, rels, complete, merged)
		if !ok {
			return // positions unknown: leave every field at 0
		}
		out = append(out, o...)
	}
	if len(out) != len(fields) {
		return
	}
	for i, o := range out {
		if o.rel == nil {
			continue
		}
		col := o.rel.cols[o.att-1]
		if icebergPGType(col.Type).OID != fields[i].DataTypeOID {
			continue
		}
		fields[i].TableOID = uint32(catalogOID("table", c.env, o.rel.q.Schema, o.rel.q.Name))
		fields[i].TableAttributeNumber = uint16(o.att)
	}
}

func isNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

// lookupBound finds a table's columns by its name as written (DuckDB matches names case-insensitively).
func lookupBound(bound map[engine.QualifiedName][]engine.Column, schema, table string) ([]engine.Column, bool) {
	for q, cols := range bound {
		if strings.EqualFold(q.Schema, schema) && strings.EqualFold(q.Name, table) {
			return cols, true
		}
	}
	return nil, false
}

// expand returns the origins of the fields one select item gives; ok is false when it cannot tell how many.
func expand(e sqlExpr, rels []*originRel, complete, merged bool) ([]origin, bool) {
	switch e.Class {
	case "STAR":
		if e.Columns || !isNull(e.Expr) || len(e.Modifiers)+len(e.Replace)+len(e.QExclude)+len(e.Rename) > 0 {
			return nil, false
		}
		var out []origin
		for _, r := range rels {
			if e.RelationName != "" && r.name != strings.ToLower(e.RelationName) {
				continue
			}
			for i := range r.cols {
				out = append(out, origin{r, i + 1})
			}
		}
		if e.RelationName == "" && (!complete || merged) || len(out) == 0 {
			return nil, false
		}
		return out, true
	case "COLUMN_REF":
		return []origin{columnOrigin(e.ColumnNames, rels, complete, merged)}, true
	}
	return []origin{{}}, true
}

// columnOrigin resolves col, t.col or schema.t.col against the FROM clause's tables.
func columnOrigin(names []string, rels []*originRel, complete, merged bool) origin {
	if len(names) == 0 || len(names) > 3 {
		return origin{}
	}
	col := strings.ToLower(names[len(names)-1])
	var found []origin
	for _, r := range rels {
		switch len(names) {
		case 2:
			if r.name != strings.ToLower(names[0]) {
				continue
			}
		case 3:
			if !strings.EqualFold(r.q.Schema, names[0]) || !strings.EqualFold(r.q.Name, names[1]) {
				continue
			}
		}
		for i, c := range r.cols {
			if strings.ToLower(c.Name) == col {
				found = append(found, origin{r, i + 1})
			}
		}
	}
	if len(found) != 1 || len(names) == 1 && (!complete || merged) {
		return origin{} // ambiguous, a merged USING column, or maybe a column of a relation we do not know
	}
	return found[0]
}

// parseSQL returns DuckDB's parse tree of sql.
func (c *conn) parseSQL(sql string) (*sqlTree, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.s.opts.Engine.QueryInSetup(ctx, parserSetup, "SELECT json_serialize_sql("+sqlQuote(sql)+")", nil)
	if err != nil {
		return nil, false
	}
	defer func() { _ = res.Close() }()
	var text string
	for res.Next() {
		rec := res.RecordBatch()
		if col, ok := rec.Column(0).(*array.String); ok && rec.NumRows() > 0 {
			text = strings.Clone(col.Value(0)) // the batch's memory is DuckDB's until the next Next
		}
	}
	var tree sqlTree
	if res.Err() != nil || json.Unmarshal([]byte(text), &tree) != nil {
		return nil, false
	}
	return &tree, true
}
