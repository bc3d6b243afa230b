package engine

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// QualifiedName is a two-part SQL name, schema.name (in Strata: zone.table).
type QualifiedName struct {
	Schema, Name string
}

func (q QualifiedName) String() string { return q.Schema + "." + q.Name }

// ReferencedNames returns the two-part names "a.b" that occur in sql as identifiers: outside string
// literals ('…', E'…', $$…$$, $tag$…$tag$), comments (-- and nested /* */) and not as numbers. Unquoted parts are
// lower-cased, "quoted" parts kept as written (with "" unescaped), and spaces or comments around the dot are
// allowed. A longer chain a.b.c yields every adjacent pair (a.b and b.c), because it may be
// catalog.schema.table or schema.table.column. The result is deduplicated, in order of first appearance.
//
// It is a lexer, not a parser: callers use it to decide which lake tables to bind, so a false positive such as
// alias.column is harmless (no such table) while every real table reference is found. It never panics, and
// unterminated literals or comments simply end the input.
func ReferencedNames(sql string) []QualifiedName {
	l := &lexer{s: sql}
	var out []QualifiedName
	seen := map[QualifiedName]bool{}
	var prev string // the identifier before a pending dot
	var havePrev, afterDot bool
	for {
		tok, ok := l.next()
		if !ok {
			return out
		}
		switch {
		case tok.kind == tokIdent && afterDot && havePrev:
			q := QualifiedName{Schema: prev, Name: tok.text}
			if q.Schema != "" && q.Name != "" && !seen[q] { // "" is no identifier
				seen[q] = true
				out = append(out, q)
			}
			prev, havePrev, afterDot = tok.text, true, false
		case tok.kind == tokIdent:
			prev, havePrev, afterDot = tok.text, true, false
		case tok.kind == tokDot && havePrev && !afterDot:
			afterDot = true
		default:
			havePrev, afterDot = false, false
		}
	}
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokDot
	tokOther
)

type token struct {
	kind tokKind
	text string
}

type lexer struct {
	s   string
	pos int
}

// next returns the next significant token, skipping spaces and comments.
func (l *lexer) next() (token, bool) {
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case strings.HasPrefix(l.s[l.pos:], "--"):
			l.skipLineComment()
		case strings.HasPrefix(l.s[l.pos:], "/*"):
			l.skipBlockComment()
		case c == '\'':
			l.skipQuoted('\'', false)
			return token{kind: tokOther}, true
		case c == '"':
			return token{kind: tokIdent, text: l.quotedIdent()}, true
		case c == '$':
			l.dollar()
			return token{kind: tokOther}, true
		case c == '.':
			if l.pos+1 < len(l.s) && isDigit(l.s[l.pos+1]) {
				l.number()
				return token{kind: tokOther}, true
			}
			l.pos++
			return token{kind: tokDot}, true
		case isDigit(c):
			l.number()
			return token{kind: tokOther}, true
		default:
			r, size := utf8.DecodeRuneInString(l.s[l.pos:])
			if isIdentStart(r) {
				return l.ident(), true
			}
			l.pos += size
			return token{kind: tokOther}, true
		}
	}
	return token{}, false
}

// skipLineComment skips a -- comment; DuckDB ends one at a newline or a carriage return.
func (l *lexer) skipLineComment() {
	if i := strings.IndexAny(l.s[l.pos:], "\n\r"); i >= 0 {
		l.pos += i + 1
	} else {
		l.pos = len(l.s)
	}
}

// skipBlockComment skips a /* */ comment; like PostgreSQL and DuckDB, comments nest.
func (l *lexer) skipBlockComment() {
	depth := 0
	for l.pos < len(l.s) {
		switch {
		case strings.HasPrefix(l.s[l.pos:], "/*"):
			depth++
			l.pos += 2
		case strings.HasPrefix(l.s[l.pos:], "*/"):
			depth--
			l.pos += 2
			if depth == 0 {
				return
			}
		default:
			l.pos++
		}
	}
}

// skipQuoted skips a literal that starts at l.pos with quote; a doubled quote is an escaped quote, and with
// backslash also \x escapes one character.
func (l *lexer) skipQuoted(quote byte, backslash bool) {
	l.pos++
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case backslash && c == '\\':
			l.pos += 2
		case c == quote && l.pos+1 < len(l.s) && l.s[l.pos+1] == quote:
			l.pos += 2
		case c == quote:
			l.pos++
			return
		default:
			l.pos++
		}
	}
	l.pos = len(l.s)
}

func (l *lexer) quotedIdent() string {
	start := l.pos + 1
	l.skipQuoted('"', false)
	end := l.pos - 1
	if end < start || l.s[end] != '"' || l.pos == start {
		end = len(l.s) // unterminated: the rest of the input
	}
	return strings.ReplaceAll(l.s[start:end], `""`, `"`)
}

// dollar skips $tag$…$tag$ strings and $1 / $name parameters.
func (l *lexer) dollar() {
	start := l.pos
	l.pos++
	for l.pos < len(l.s) && (isIdentByte(l.s[l.pos])) {
		l.pos++
	}
	if l.pos < len(l.s) && l.s[l.pos] == '$' {
		tag := l.s[start : l.pos+1]
		if tag == "$" || !isDigit(tag[1]) {
			l.pos++
			if i := strings.Index(l.s[l.pos:], tag); i >= 0 {
				l.pos += i + len(tag)
			} else {
				l.pos = len(l.s)
			}
		}
	}
}

func (l *lexer) number() {
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case isDigit(c) || c == '.' || c == '_':
			l.pos++
		case (c == 'e' || c == 'E') && l.pos+1 < len(l.s):
			l.pos++
			if n := l.s[l.pos]; n == '+' || n == '-' {
				l.pos++
			}
		default:
			if isIdentByte(c) { // 1abc, 0x1F: a malformed or hex number; consume it whole
				l.pos++
				continue
			}
			return
		}
	}
}

func (l *lexer) ident() token {
	start := l.pos
	for l.pos < len(l.s) {
		r, size := utf8.DecodeRuneInString(l.s[l.pos:])
		if !isIdentStart(r) && !unicode.IsDigit(r) && r != '$' {
			break
		}
		l.pos += size
	}
	word := l.s[start:l.pos]
	// E'…' and e'…' are strings with backslash escapes; other prefixes (X'', B'', N'') use plain quoting.
	if l.pos < len(l.s) && l.s[l.pos] == '\'' && len(word) == 1 {
		l.skipQuoted('\'', word == "e" || word == "E")
		return token{kind: tokOther}
	}
	return token{kind: tokIdent, text: strings.ToLower(word)}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || c >= 0x80
}

func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r)
}
