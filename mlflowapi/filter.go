package mlflowapi

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Clause is one comparison of an MLflow search filter: `<type>.<key> <op> <value>`. Filters are AND-ed lists
// of clauses (MLflow has no OR).
type Clause struct {
	Type  string   // metric, parameter, tag, attribute or dataset (aliases normalised)
	Key   string   // unquoted key; attribute aliases are kept as written ("created", "run name")
	Op    string   // upper-case: = != > >= < <= LIKE ILIKE IN "NOT IN" "IS NULL" "IS NOT NULL"
	Str   string   // string value ('...' or "...")
	Num   float64  // numeric value
	IsNum bool     // the value was a number
	Text  string   // the value as written (numbers), for integer attributes
	List  []string // IN / NOT IN values
	Pos   int      // byte offset of the clause in the filter
}

// EntityType returns the entity type a filter or order_by prefix names (metric, parameter, tag, attribute,
// dataset), accepting MLflow's aliases (metrics, params, tags, attributes, run, ...).
func EntityType(prefix string) (string, bool) {
	t, ok := entityAliases[prefix]
	return t, ok
}

var entityAliases = map[string]string{
	"metric": "metric", "metrics": "metric",
	"parameter": "parameter", "parameters": "parameter", "param": "parameter", "params": "parameter",
	"tag": "tag", "tags": "tag",
	"attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
	"dataset": "dataset", "datasets": "dataset",
}

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString // '...'
	tkQuoted // "..." (value or key)
	tkNumber
	tkOp
	tkLParen
	tkRParen
	tkComma
)

type token struct {
	kind tokKind
	text string // identifier/op text, or the unquoted string
	pos  int
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) errorf(pos int, format string, args ...any) error {
	return invalidf("Invalid filter '%s': %s (at position %d)", l.src, fmt.Sprintf(format, args...), pos)
}

func isIdentChar(r byte) bool {
	return r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && unicode.IsSpace(rune(l.src[l.pos])) {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tkEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '(':
		l.pos++
		return token{kind: tkLParen, text: "(", pos: start}, nil
	case c == ')':
		l.pos++
		return token{kind: tkRParen, text: ")", pos: start}, nil
	case c == ',':
		l.pos++
		return token{kind: tkComma, text: ",", pos: start}, nil
	case c == '\'' || c == '"' || c == '`':
		s, err := l.quoted(c)
		if err != nil {
			return token{}, err
		}
		kind := tkString
		if c != '\'' {
			kind = tkQuoted
		}
		if c == '`' || c == '"' {
			// `metrics`.x style prefixes are rare; a quoted token followed by '.' continues an identifier.
			if l.pos < len(l.src) && l.src[l.pos] == '.' && c == '`' {
				return l.identFrom(start, s)
			}
		}
		return token{kind: kind, text: s, pos: start}, nil
	case c == '=' || c == '!' || c == '<' || c == '>':
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '=' || c == '<' && l.src[l.pos] == '>') {
			l.pos++
		}
		op := l.src[start:l.pos]
		if op == "!" {
			return token{}, l.errorf(start, "expected '!=' but found '!'")
		}
		if op == "<>" {
			op = "!="
		}
		return token{kind: tkOp, text: op, pos: start}, nil
	case c == '-' || c == '+' || c >= '0' && c <= '9':
		return l.number()
	case isIdentChar(c):
		return l.identFrom(start, "")
	}
	return token{}, l.errorf(start, "unexpected character %q", c)
}

// identFrom lexes a dotted identifier whose key part may be quoted: metrics.acc, tags."a b", params.`x-y`.
func (l *lexer) identFrom(start int, prefix string) (token, error) {
	var b strings.Builder
	b.WriteString(prefix)
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isIdentChar(c) {
			b.WriteByte(c)
			l.pos++
			continue
		}
		if (c == '"' || c == '`') && strings.HasSuffix(b.String(), ".") {
			s, err := l.quoted(c)
			if err != nil {
				return token{}, err
			}
			b.WriteString("\x00" + s) // NUL marks a quoted key: it may contain dots and spaces
			continue
		}
		break
	}
	return token{kind: tkIdent, text: b.String(), pos: start}, nil
}

func (l *lexer) quoted(q byte) (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == q {
			if l.pos+1 < len(l.src) && l.src[l.pos+1] == q { // doubled quote escapes itself
				b.WriteByte(q)
				l.pos += 2
				continue
			}
			l.pos++
			return b.String(), nil
		}
		if c == '\\' && l.pos+1 < len(l.src) && (l.src[l.pos+1] == q || l.src[l.pos+1] == '\\') {
			b.WriteByte(l.src[l.pos+1])
			l.pos += 2
			continue
		}
		b.WriteByte(c)
		l.pos++
	}
	return "", l.errorf(start, "unterminated quoted string starting with %c", q)
}

func (l *lexer) number() (token, error) {
	start := l.pos
	if c := l.src[l.pos]; c == '-' || c == '+' {
		l.pos++
	}
	for l.pos < len(l.src) && (isIdentChar(l.src[l.pos]) ||
		(l.src[l.pos] == '-' || l.src[l.pos] == '+') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E')) {
		l.pos++
	}
	text := l.src[start:l.pos]
	if _, err := strconv.ParseFloat(text, 64); err != nil {
		return token{}, l.errorf(start, "invalid number '%s'", text)
	}
	return token{kind: tkNumber, text: text, pos: start}, nil
}

// ParseFilter parses an MLflow search filter into AND-ed clauses. It checks syntax only; each search validates
// the identifiers, operators and value types it supports (see the validate* functions). Errors are
// INVALID_PARAMETER_VALUE and name the position of the problem.
func ParseFilter(filter string) ([]Clause, error) {
	l := &lexer{src: filter}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tkEOF {
			break
		}
	}
	p := &parser{l: l, toks: toks}
	if p.peek().kind == tkEOF {
		return nil, nil
	}
	var out []Clause
	for {
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		t := p.take()
		if t.kind == tkEOF {
			return out, nil
		}
		if t.kind != tkIdent || !strings.EqualFold(t.text, "AND") {
			if t.kind == tkIdent && strings.EqualFold(t.text, "OR") {
				return nil, l.errorf(t.pos, "OR is not supported; clauses can only be joined with AND")
			}
			return nil, l.errorf(t.pos, "expected AND or the end of the filter but found '%s'", tokenText(t))
		}
	}
}

type parser struct {
	l    *lexer
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) take() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func tokenText(t token) string {
	switch t.kind {
	case tkEOF:
		return "end of filter"
	case tkString:
		return "'" + t.text + "'"
	case tkQuoted:
		return `"` + t.text + `"`
	}
	return strings.ReplaceAll(t.text, "\x00", "")
}

func (p *parser) clause() (Clause, error) {
	t := p.take()
	c := Clause{Pos: t.pos}
	switch t.kind {
	case tkIdent:
		if err := p.identifier(&c, t); err != nil {
			return c, err
		}
	case tkQuoted: // "run name" = 'x'
		c.Type, c.Key = "attribute", t.text
	default:
		return c, p.l.errorf(t.pos, "expected an identifier such as metrics.<key> but found '%s'", tokenText(t))
	}
	op := p.take()
	switch {
	case op.kind == tkOp:
		c.Op = op.text
	case op.kind == tkIdent && isWord(op, "LIKE", "ILIKE", "IN"):
		c.Op = strings.ToUpper(op.text)
	case op.kind == tkIdent && isWord(op, "NOT"):
		if n := p.take(); !isWord(n, "IN") {
			return c, p.l.errorf(n.pos, "expected IN after NOT but found '%s'", tokenText(n))
		}
		c.Op = "NOT IN"
	case op.kind == tkIdent && isWord(op, "IS"):
		n := p.take()
		c.Op = "IS NULL"
		if isWord(n, "NOT") {
			c.Op, n = "IS NOT NULL", p.take()
		}
		if !isWord(n, "NULL") {
			return c, p.l.errorf(n.pos, "expected NULL but found '%s'", tokenText(n))
		}
		return c, nil
	default:
		return c, p.l.errorf(op.pos, "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN) but found '%s'", tokenText(op))
	}
	if c.Op == "IN" || c.Op == "NOT IN" {
		return c, p.list(&c)
	}
	v := p.take()
	switch v.kind {
	case tkString, tkQuoted:
		c.Str = v.text
	case tkNumber:
		f, _ := strconv.ParseFloat(v.text, 64)
		c.Num, c.IsNum, c.Text = f, true, v.text
	default:
		return c, p.l.errorf(v.pos, "expected a value ('string' or number) but found '%s'", tokenText(v))
	}
	return c, nil
}

func isWord(t token, words ...string) bool {
	if t.kind != tkIdent {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

func (p *parser) identifier(c *Clause, t token) error {
	text := t.text
	if strings.EqualFold(text, "AND") || strings.EqualFold(text, "OR") || strings.EqualFold(text, "NOT") {
		return p.l.errorf(t.pos, "expected an identifier but found '%s'", text)
	}
	typ, key, dotted := strings.Cut(text, ".")
	if !dotted {
		c.Type, c.Key = "attribute", strings.ReplaceAll(text, "\x00", "")
		return nil
	}
	norm, ok := entityAliases[strings.TrimSuffix(strings.TrimPrefix(typ, "`"), "`")]
	if !ok {
		return p.l.errorf(t.pos, "invalid entity type '%s'; valid values are metric, parameter, tag, attribute, dataset", typ)
	}
	key = strings.TrimPrefix(key, "\x00")
	if key == "" {
		return p.l.errorf(t.pos, "missing key after '%s.'", typ)
	}
	if strings.Contains(key, "\x00") {
		return p.l.errorf(t.pos, "invalid identifier '%s'", tokenText(t))
	}
	c.Type, c.Key = norm, key
	return nil
}

func (p *parser) list(c *Clause) error {
	if t := p.take(); t.kind != tkLParen {
		return p.l.errorf(t.pos, "expected '(' after %s but found '%s'", c.Op, tokenText(t))
	}
	for {
		v := p.take()
		if v.kind != tkString && v.kind != tkQuoted {
			return p.l.errorf(v.pos, "expected a quoted string in the %s list but found '%s'", c.Op, tokenText(v))
		}
		c.List = append(c.List, v.text)
		sep := p.take()
		if sep.kind == tkRParen {
			return nil
		}
		if sep.kind != tkComma {
			return p.l.errorf(sep.pos, "expected ',' or ')' in the %s list but found '%s'", c.Op, tokenText(sep))
		}
	}
}
