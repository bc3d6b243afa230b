package lakesql

import "strings"

// Scan walks sql outside string literals, quoted identifiers, dollar-quoted strings and comments, calling
// visit with the byte offset of every byte of plain SQL. It is a lexer, not a parser: enough to split a
// multi-statement query on ';', find the first keyword and count $n parameters.
func Scan(sql string, visit func(i int)) { walk(sql, visit, nil) }

// StripComments returns sql with each comment replaced by a space; literals and quoted identifiers are kept
// as they are.
func StripComments(sql string) string {
	var b strings.Builder
	from := 0
	walk(sql, func(int) {}, func(start, end int) {
		b.WriteString(sql[from:start])
		b.WriteByte(' ')
		from = end
	})
	b.WriteString(sql[from:])
	return b.String()
}

// walk calls visit for every byte of plain SQL and comment, if set, with the bounds of every comment.
func walk(sql string, visit func(i int), comment func(start, end int)) {
	for i := 0; i < len(sql); {
		c := sql[i]
		start := i
		switch {
		case c == '\'' || c == '"':
			i = SkipQuoted(sql, i, c)
		case c == '-' && strings.HasPrefix(sql[i:], "--"): // to the end of the line: \n or \r, as DuckDB's lexer
			if j := strings.IndexAny(sql[i:], "\n\r"); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
			if comment != nil {
				comment(start, i)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = SkipBlockComment(sql, i)
			if comment != nil {
				comment(start, i)
			}
		case c == '$' && DollarTag(sql[i:]) != "":
			i = SkipDollarQuoted(sql, i)
		default:
			visit(i)
			i++
		}
	}
}

// SkipQuoted returns the offset just past the literal or quoted identifier that opens at sql[i] == q.
func SkipQuoted(sql string, i int, q byte) int {
	// E'...' (backslash escapes) only when the E stands alone: DATE'...' or an identifier ending in e is a
	// plain string, as DuckDB lexes it.
	backslash := q == '\'' && i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i == 1 || !IsWordByte(sql[i-2]))
	for j := i + 1; j < len(sql); j++ {
		switch {
		case backslash && sql[j] == '\\':
			j++
		case sql[j] == q && j+1 < len(sql) && sql[j+1] == q:
			j++
		case sql[j] == q:
			return j + 1
		}
	}
	return len(sql)
}

// SkipBlockComment returns the offset just past the (nested) block comment that opens at sql[i].
func SkipBlockComment(sql string, i int) int {
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch {
		case sql[j] == '/' && sql[j+1] == '*':
			depth++
			j++
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(sql)
}

// SkipDollarQuoted returns the offset just past the dollar-quoted string ($tag$...$tag$) that opens at sql[i],
// the end of sql when it is not closed, or i when none opens there ($1 is a parameter).
func SkipDollarQuoted(sql string, i int) int {
	tag := DollarTag(sql[i:])
	if tag == "" {
		return i
	}
	if j := strings.Index(sql[i+len(tag):], tag); j >= 0 {
		return i + len(tag) + j + len(tag)
	}
	return len(sql)
}

// DollarTag returns "$tag$" if s starts a dollar-quoted string, "" otherwise ($1 is a parameter).
func DollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[:j+1]
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9') {
			return ""
		}
	}
	return ""
}

// Split splits a simple-protocol query on top-level ';' and drops statements that hold nothing
// but white space and comments.
func Split(sql string) []string {
	var out []string
	start := 0
	cut := func(end int) {
		if s := strings.TrimSpace(sql[start:end]); FirstWord(s) != "" || hasContent(s) {
			out = append(out, s)
		}
		start = end + 1
	}
	Scan(sql, func(i int) {
		if sql[i] == ';' {
			cut(i)
		}
	})
	if start < len(sql) {
		cut(len(sql))
	}
	return out
}

// hasContent reports whether sql holds anything besides white space and comments.
func hasContent(sql string) bool {
	found := false
	Scan(sql, func(i int) {
		if !strings.ContainsRune(" \t\r\n\f", rune(sql[i])) {
			found = true
		}
	})
	return found
}

// Words returns the first n keywords of sql, upper-cased, skipping comments and opening parentheses.
func Words(sql string, n int) []string {
	var out []string
	var cur strings.Builder
	done := false
	flush := func() {
		if cur.Len() > 0 && len(out) < n {
			out = append(out, strings.ToUpper(cur.String()))
		}
		cur.Reset()
	}
	Scan(sql, func(i int) {
		if done {
			return
		}
		c := sql[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || cur.Len() > 0 && c >= '0' && c <= '9' {
			cur.WriteByte(c)
			return
		}
		flush()
		if len(out) >= n || c != '(' && !strings.ContainsRune(" \t\r\n\f", rune(c)) {
			done = len(out) > 0 || c != '('
		}
	})
	flush()
	return out
}

func FirstWord(sql string) string {
	if w := Words(sql, 1); len(w) > 0 {
		return w[0]
	}
	return ""
}

// IsWordByte says whether c may be part of an unquoted identifier or keyword.
func IsWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ClosingParen returns the index of the ')' that closes s[0] == '(', outside literals; -1 if none.
func ClosingParen(s string) int {
	depth, end := 0, -1
	Scan(s, func(i int) {
		if end >= 0 {
			return
		}
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				end = i
			}
		}
	})
	return end
}

// IdentName is an identifier as PostgreSQL folds it: quoted names keep their case.
func IdentName(t string) string {
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		return strings.ReplaceAll(t[1:len(t)-1], `""`, `"`)
	}
	return strings.ToLower(t)
}

// readable are the first keywords of statements that only read.
var readable = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true, "TABLE": true, "FROM": true,
	"DESCRIBE": true, "SUMMARIZE": true, "EXPLAIN": true, "PIVOT": true, "UNPIVOT": true}

// IsRead says whether keyword (upper case, as FirstWord returns it) starts a statement that only reads.
func IsRead(keyword string) bool { return readable[keyword] }
