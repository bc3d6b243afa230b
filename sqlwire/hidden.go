package sqlwire

import (
	"fmt"
	"strings"

	"github.com/strata-data/strata/lakesql"
)

// hiddenWrite refuses a write behind a readable first keyword: an EXPLAIN of anything but a read (DuckDB's
// EXPLAIN ANALYZE runs the statement it explains: CREATE, INSERT, COPY TO, INSTALL, ...) and a WITH whose
// statement is INSERT, UPDATE, DELETE, MERGE or COPY. Either would be a way around the checks of run.
func hiddenWrite(sql string) error {
	switch lakesql.FirstWord(sql) {
	case "WITH":
		for _, w := range topWords(sql) {
			if cteWrites[w] {
				return fmt.Errorf("WITH ... %s statements are refused: this endpoint reads the lake and, in dev "+
					"environments, writes it only with CREATE TABLE zone.name AS SELECT, INSERT INTO zone.name and "+
					"DROP TABLE zone.name: %w", w, ErrReadOnly)
			}
		}
		return nil
	case "EXPLAIN":
	default:
		return nil
	}
	inner := explained(sql)
	if w := lakesql.FirstWord(inner); !lakesql.IsRead(w) || w == "EXPLAIN" {
		return fmt.Errorf("EXPLAIN takes a query (SELECT, WITH, VALUES, ...), found %q: this endpoint runs no other "+
			"statement, not even to explain it: %w", w, ErrReadOnly)
	}
	return nil
}

// cteWrites are the statements a WITH clause can lead to that write.
var cteWrites = map[string]bool{"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "COPY": true}

// topWords returns the keywords of sql outside parentheses (and literals and comments), upper-cased; a word
// followed by "(" (a function call) is left out.
func topWords(sql string) []string {
	var out []string
	depth, start := 0, -1
	end := func(i int) {
		if start >= 0 && depth == 0 {
			rest := strings.TrimLeft(sql[i:], " \t\r\n\f")
			if !strings.HasPrefix(rest, "(") {
				out = append(out, strings.ToUpper(sql[start:i]))
			}
		}
		start = -1
	}
	last := -1
	lakesql.Scan(sql, func(i int) {
		c := sql[i]
		word := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || start >= 0 && c >= '0' && c <= '9'
		if start >= 0 && (!word || i != last+1) {
			end(last + 1)
		}
		last = i
		switch {
		case word:
			if start < 0 {
				start = i
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
	})
	if start >= 0 {
		end(len(sql))
	}
	return out
}

// explained returns the statement of EXPLAIN [ANALYZE] [(options)] statement ("" when it cannot tell).
func explained(sql string) string {
	rest := afterWord(sql) // EXPLAIN
	if w := lakesql.FirstWord(rest); w == "ANALYZE" || w == "ANALYSE" {
		rest = afterWord(rest)
	}
	start := -1
	lakesql.Scan(rest, func(i int) {
		if start < 0 && !strings.ContainsRune(" \t\r\n\f", rune(rest[i])) {
			start = i
		}
	})
	if start >= 0 && rest[start] == '(' { // options
		end := lakesql.ClosingParen(rest[start:])
		if end < 0 {
			return ""
		}
		rest = rest[start+end+1:]
	}
	return rest
}

// afterWord returns what follows the first keyword of sql (outside comments and literals).
func afterWord(sql string) string {
	start, end := -1, -1
	lakesql.Scan(sql, func(i int) {
		c := sql[i]
		word := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || start >= 0 && c >= '0' && c <= '9'
		switch {
		case end >= 0:
		case start < 0 && word:
			start = i
		case start >= 0 && !word:
			end = i
		}
	})
	if start < 0 {
		return ""
	}
	if end < 0 {
		return ""
	}
	return sql[end:]
}
