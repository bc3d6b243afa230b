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

// valuesCells is the number of varying values (rows × columns whose value differs between rows) up to which
// createSQL inserts VALUES rather than one split string constant.
const valuesCells = 100

// createSQL creates the table and inserts its rows. A column with the same value in every row is a constant
// of the INSERT's SELECT; only the columns whose value varies come from a row source: DuckDB binds a VALUES
// list value by value (~5 µs each: a session's pg_attribute of 38 rows × 26 columns took 5 ms, its 9 varying
// columns 2.4 ms), and one string constant split in SQL it binds once (~1 ms) and then splits and casts
// per column, which is cheaper from about 100 varying values on (pg_attribute's 342: 1.8 ms; pg_type's 174
// rows as VALUES took ~60 ms). The split form separates fields and rows by the ASCII unit and record
// separators; a table with a field holding one keeps VALUES.
func (t *catTable) createSQL(b *strings.Builder) {
	fmt.Fprintf(b, "CREATE TABLE %s (%s);\n", t.name, t.cols)
	t.insertSQL(b)
}

// insertSQL inserts the table's rows (createSQL tells how).
func (t *catTable) insertSQL(b *strings.Builder) {
	if len(t.rows) == 0 {
		return
	}
	ncols := len(strings.Split(t.cols, ","))
	varying, nulls := make([]bool, ncols), make([]bool, ncols)
	n, plain := 0, true
	for j := 0; j < ncols; j++ {
		for _, r := range t.rows {
			if r[j] != t.rows[0][j] {
				varying[j] = true
			}
			nulls[j] = nulls[j] || r[j] == nullField
		}
		if varying[j] {
			n++
			for _, r := range t.rows {
				plain = plain && !strings.ContainsAny(r[j], fieldSep+rowSep)
			}
		}
	}
	if n == 0 { // one row, or the same row repeated: the source keeps the row count
		varying[0], n = true, 1
	}
	split := plain && len(t.rows)*n > valuesCells
	fmt.Fprintf(b, "INSERT INTO %s SELECT ", t.name)
	k := 0
	for j := 0; j < ncols; j++ {
		if j > 0 {
			b.WriteString(", ")
		}
		switch {
		case !varying[j]:
			writeField(b, t.rows[0][j])
		case split && nulls[j]:
			k++
			fmt.Fprintf(b, `NULLIF(s[%d], '\N')`, k)
		case split:
			k++
			fmt.Fprintf(b, "s[%d]", k)
		default:
			k++
			fmt.Fprintf(b, "v%d", k)
		}
	}
	if split {
		t.splitSource(b, varying)
	} else {
		t.valuesSource(b, varying, n)
	}
}

// valuesSource writes FROM (VALUES ...) AS v(v1, ...) of the varying columns.
func (t *catTable) valuesSource(b *strings.Builder, varying []bool, n int) {
	b.WriteString(" FROM (VALUES ")
	for i, r := range t.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		k := 0
		for j, f := range r {
			if !varying[j] {
				continue
			}
			if k > 0 {
				b.WriteString(", ")
			}
			k++
			writeField(b, f)
		}
		b.WriteByte(')')
	}
	b.WriteString(") AS v(")
	for k := 1; k <= n; k++ {
		if k > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "v%d", k)
	}
	b.WriteString(");\n")
}

// The separators of the split form: ASCII's unit separator between fields, its record separator between rows.
const fieldSep, rowSep = "\x1f", "\x1e"

// splitSource writes FROM (one string constant of the varying columns' rows, split into lists s).
func (t *catTable) splitSource(b *strings.Builder, varying []bool) {
	b.WriteString(" FROM (SELECT string_split(l, chr(31)) AS s FROM unnest(string_split('")
	for i, r := range t.rows {
		if i > 0 {
			b.WriteString(rowSep)
		}
		k := 0
		for j, f := range r {
			if !varying[j] {
				continue
			}
			if k > 0 {
				b.WriteString(fieldSep)
			}
			k++
			b.WriteString(strings.ReplaceAll(f, "'", "''"))
		}
	}
	b.WriteString("', chr(30))) AS u(l));\n")
}

func writeField(b *strings.Builder, f string) {
	if f == nullField {
		b.WriteString("NULL")
	} else {
		b.WriteString(sqlQuote(f))
	}
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
