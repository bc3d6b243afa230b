package sqlwire

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// catTable is one emulated catalog relation: its DuckDB column definitions and rows (text fields, nullField
// for NULL). It is created in the query's database only when the query names it.
type catTable struct {
	name string
	cols string // "col TYPE, ..."
	rows [][]string
}

const nullField = `\N`

// valuesCells is the size (rows × columns) up to which createSQL inserts VALUES.
const valuesCells = 1500

// createSQL creates the table. A large one comes from one string constant split in SQL: DuckDB binds a
// VALUES list row by row (~60 ms for pg_type's 174 rows), one constant it binds once (~1 ms) but then casts
// every column in an expression of its own; for a small one (a session's pg_class, pg_roles) those
// expressions cost more than the rows, and an INSERT of VALUES is ~40% cheaper.
func (t *catTable) createSQL(b *strings.Builder) {
	if len(t.rows) == 0 {
		fmt.Fprintf(b, "CREATE TABLE %s (%s);\n", t.name, t.cols)
		return
	}
	defs := strings.Split(t.cols, ",")
	if len(t.rows)*len(defs) <= valuesCells {
		fmt.Fprintf(b, "CREATE TABLE %s (%s);\nINSERT INTO %s VALUES ", t.name, t.cols, t.name)
		for i, r := range t.rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, f := range r {
				if j > 0 {
					b.WriteString(", ")
				}
				if f == nullField {
					b.WriteString("NULL")
				} else {
					b.WriteString(sqlQuote(f))
				}
			}
			b.WriteByte(')')
		}
		b.WriteString(";\n")
		return
	}
	fmt.Fprintf(b, "CREATE TABLE %s AS SELECT ", t.name)
	for i, d := range defs {
		name, typ, _ := strings.Cut(strings.TrimSpace(d), " ")
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, `CAST(NULLIF(s[%d], '\N') AS %s) AS %s`, i+1, typ, name)
	}
	b.WriteString(" FROM (SELECT string_split(l, chr(9)) AS s FROM unnest(string_split('")
	for i, r := range t.rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		for j, f := range r {
			if j > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(fieldEscaper.Replace(f))
		}
	}
	b.WriteString("', chr(10))) AS u(l));\n")
}

//go:embed catalogdata/pg_static.tsv
var pgStaticTSV string

var (
	staticOnce   sync.Once
	staticTables map[string]*catTable
)

// staticCatalog returns PostgreSQL 15's built-in catalog rows (catalogdata/gen.sh), parsed once.
func staticCatalog() map[string]*catTable {
	staticOnce.Do(func() {
		staticTables = map[string]*catTable{}
		var cur *catTable
		for _, line := range strings.Split(strings.TrimRight(pgStaticTSV, "\n"), "\n") {
			if rest, ok := strings.CutPrefix(line, "#"); ok {
				name, cols, _ := strings.Cut(rest, "\t")
				cur = &catTable{name: name, cols: cols}
				staticTables[name] = cur
				continue
			}
			cur.rows = append(cur.rows, strings.Split(line, "\t"))
		}
	})
	return staticTables
}

// fieldEscaper keeps a field inside the SQL string constant and its row (tabs and newlines become spaces).
var fieldEscaper = strings.NewReplacer("'", "''", "\t", " ", "\n", " ", "\r", " ")
