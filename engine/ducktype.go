package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// duckDBToIceberg is the engine → lake table for primitive types: the Iceberg type the lake stores for a
// column of each DuckDB type (its canonical name and the aliases DuckDB accepts). It follows lakeType: types
// the lake has no equal of become the next type that holds them (unsigned integers widen, HUGEINT and
// UBIGINT become decimal(38, 0), timestamps of any unit become microsecond timestamps, UUID and JSON text).
var duckDBToIceberg = map[string]string{
	"BOOLEAN": "boolean", "BOOL": "boolean", "LOGICAL": "boolean",
	"TINYINT": "int", "INT1": "int", "SMALLINT": "int", "INT2": "int", "SHORT": "int",
	"INTEGER": "int", "INT4": "int", "INT": "int", "SIGNED": "int",
	"BIGINT": "long", "INT8": "long", "LONG": "long",
	"UTINYINT": "int", "USMALLINT": "int", "UINTEGER": "long",
	"UBIGINT": "decimal(38, 0)", "HUGEINT": "decimal(38, 0)", "INT128": "decimal(38, 0)",
	"FLOAT": "float", "FLOAT4": "float", "REAL": "float",
	"DOUBLE": "double", "FLOAT8": "double", "DOUBLE PRECISION": "double",
	"DATE": "date", "TIME": "time",
	"TIMESTAMP": "timestamp", "DATETIME": "timestamp", "TIMESTAMP_US": "timestamp",
	"TIMESTAMP_S": "timestamp", "TIMESTAMP_MS": "timestamp", "TIMESTAMP_NS": "timestamp",
	"TIMESTAMPTZ": "timestamptz", "TIMESTAMP WITH TIME ZONE": "timestamptz",
	"VARCHAR": "string", "TEXT": "string", "STRING": "string", "CHAR": "string", "BPCHAR": "string",
	"UUID": "string", "JSON": "string",
	"BLOB": "binary", "BYTEA": "binary", "BINARY": "binary", "VARBINARY": "binary",
}

// DuckDBToIceberg returns the Iceberg type the lake stores for a column of a DuckDB type (engine → lake),
// spelled as iceberg-go prints types: "BIGINT" → "long", "DECIMAL(10,2)" → "decimal(10, 2)", "VARCHAR[]" →
// "list<string>", "STRUCT(a INTEGER)" → "struct<a: optional int>" (without field ids: the lake assigns them),
// "MAP(VARCHAR, DOUBLE)" → "map<string, double>". A DuckDB type without a lake form (INTERVAL, UNION, ...) is
// an ErrInvalid error.
func DuckDBToIceberg(duck string) (string, error) {
	p := &duckTypeParser{s: duck}
	t, err := p.parseType()
	if err == nil && strings.TrimSpace(p.rest()) != "" {
		err = fmt.Errorf("unexpected %q", p.rest())
	}
	if err != nil {
		return "", fmt.Errorf("DuckDB type %q has no lake type: %w: %w", duck, err, ErrInvalid)
	}
	return t, nil
}

type duckTypeParser struct {
	s   string
	pos int
}

func (p *duckTypeParser) rest() string { return p.s[p.pos:] }

func (p *duckTypeParser) skipSpace() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *duckTypeParser) eat(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.rest(), tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

var (
	duckWordRe    = regexp.MustCompile(`^(?i)(TIMESTAMP WITH TIME ZONE|DOUBLE PRECISION|[A-Z_][A-Z0-9_]*)`)
	duckDecimalRe = regexp.MustCompile(`^\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)`)
	duckLengthRe  = regexp.MustCompile(`^\(\s*\d+\s*\)`)
	duckSuffixRe  = regexp.MustCompile(`^\[\s*\d*\s*\]`)
	duckFieldRe   = regexp.MustCompile(`^("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_]*)\s+`)
)

// parseType parses one DuckDB type with its list suffixes ([] or [N]).
func (p *duckTypeParser) parseType() (string, error) {
	t, err := p.parseBase()
	if err != nil {
		return "", err
	}
	for {
		p.skipSpace()
		m := duckSuffixRe.FindString(p.rest())
		if m == "" {
			return t, nil
		}
		p.pos += len(m)
		t = "list<" + t + ">"
	}
}

func (p *duckTypeParser) parseBase() (string, error) {
	p.skipSpace()
	word := duckWordRe.FindString(p.rest())
	if word == "" {
		return "", fmt.Errorf("expected a type at %q", p.rest())
	}
	p.pos += len(word)
	switch name := strings.ToUpper(word); name {
	case "STRUCT":
		return p.parseStruct()
	case "MAP":
		if !p.eat("(") {
			return "", fmt.Errorf("MAP needs (KEY, VALUE)")
		}
		k, err := p.parseType()
		if err != nil {
			return "", err
		}
		if !p.eat(",") {
			return "", fmt.Errorf("MAP needs (KEY, VALUE)")
		}
		v, err := p.parseType()
		if err != nil {
			return "", err
		}
		if !p.eat(")") {
			return "", fmt.Errorf("MAP needs a closing parenthesis")
		}
		return "map<" + k + ", " + v + ">", nil
	case "DECIMAL", "NUMERIC":
		prec, scale := 18, 3 // DuckDB's default
		if m := duckDecimalRe.FindStringSubmatch(p.rest()); m != nil {
			p.pos += len(m[0])
			prec, _ = strconv.Atoi(m[1])
			scale = 0
			if m[2] != "" {
				scale, _ = strconv.Atoi(m[2])
			}
		}
		if prec < 1 || prec > 38 || scale > prec {
			return "", fmt.Errorf("DECIMAL(%d,%d) is out of range", prec, scale)
		}
		return fmt.Sprintf("decimal(%d, %d)", prec, scale), nil
	case "ENUM":
		return "string", p.skipEnum()
	default:
		t, ok := duckDBToIceberg[name]
		if !ok {
			return "", fmt.Errorf("unsupported type %s", word)
		}
		if m := duckLengthRe.FindString(p.rest()); m != "" && t == "string" { // VARCHAR(10)
			p.pos += len(m)
		}
		return t, nil
	}
}

// parseStruct parses "(name TYPE, ...)" after the word STRUCT.
func (p *duckTypeParser) parseStruct() (string, error) {
	if !p.eat("(") {
		return "", fmt.Errorf("STRUCT needs (name TYPE, ...)")
	}
	var fields []string
	for !p.eat(")") {
		if len(fields) > 0 && !p.eat(",") {
			return "", fmt.Errorf("expected , or ) at %q", p.rest())
		}
		p.skipSpace()
		m := duckFieldRe.FindStringSubmatch(p.rest())
		if m == nil {
			return "", fmt.Errorf("expected a field name at %q", p.rest())
		}
		p.pos += len(m[0])
		name := m[1]
		if strings.HasPrefix(name, `"`) {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		}
		t, err := p.parseType()
		if err != nil {
			return "", err
		}
		fields = append(fields, name+": optional "+t)
	}
	if len(fields) == 0 {
		return "", fmt.Errorf("a STRUCT needs at least one field")
	}
	return "struct<" + strings.Join(fields, ", ") + ">", nil
}

// skipEnum skips ENUM's "('a', 'b', ...)".
func (p *duckTypeParser) skipEnum() error {
	if !p.eat("(") {
		return fmt.Errorf("ENUM needs its values")
	}
	for quoted := false; p.pos < len(p.s); p.pos++ {
		switch c := p.s[p.pos]; {
		case c == '\'':
			quoted = !quoted // a doubled quote toggles twice
		case c == ')' && !quoted:
			p.pos++
			return nil
		}
	}
	return fmt.Errorf("ENUM needs a closing parenthesis")
}
