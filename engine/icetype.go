package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Column types cross the boundary between the lake and the engine in two directions, each translated by one
// table in this package:
//
//   - lake → engine: an Iceberg type, as iceberg-go's Type.String() spells it, becomes the DuckDB type that
//     reads it (icebergToDuckDB below; IcebergToDuckDB). Query uses it to type a snapshot's columns, importers
//     to read a file in an existing table's types (ReadOptions.TableTypes).
//   - engine → lake: a DuckDB type becomes the Iceberg type the lake stores for it (duckDBToIceberg in
//     ducktype.go; DuckDBToIceberg). What ReadFile and Query hand over is Arrow, normalised by lakeType to
//     the DuckDB types that table names, so DuckDBToIceberg(lakeType(x)) is what iceberg-go makes of x.

// duckTypeOf translates an Iceberg type, spelled as iceberg-go's Type.String() prints it, into the DuckDB
// type that read_parquet should produce for it:
//
//	boolean BOOLEAN · int INTEGER · long BIGINT · float FLOAT · double DOUBLE · decimal(P, S) DECIMAL(P,S)
//	date DATE · time TIME · timestamp TIMESTAMP · timestamptz TIMESTAMPTZ · timestamp_ns TIMESTAMP_NS
//	timestamptz_ns TIMESTAMPTZ (DuckDB has no nanosecond type with time zone: microseconds)
//	string VARCHAR · uuid UUID · binary BLOB · fixed[N] BLOB
//	struct<1: a: required int, ...> STRUCT("a" INTEGER, ...) · list<T> T[] · map<K, V> MAP(K, V)
//
// Children of nested types resolve by name, not by field id.
func duckTypeOf(iceberg string) (string, error) {
	p := &typeParser{s: iceberg}
	t, err := p.parseType()
	if err == nil && p.pos != len(p.s) {
		err = p.errorf("unexpected text")
	}
	if err != nil {
		return "", fmt.Errorf("iceberg type %q: %w: %w", iceberg, err, ErrInvalid)
	}
	return t, nil
}

// icebergToDuckDB is the lake → engine table for primitive types (decimal, fixed and nested types are parsed).
var icebergToDuckDB = map[string]string{
	"boolean": "BOOLEAN", "int": "INTEGER", "long": "BIGINT", "float": "FLOAT", "double": "DOUBLE",
	"date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ",
	"timestamp_ns": "TIMESTAMP_NS", "timestamptz_ns": "TIMESTAMPTZ", "string": "VARCHAR", "uuid": "UUID",
	"binary": "BLOB",
}

type typeParser struct {
	s   string
	pos int
}

func (p *typeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *typeParser) rest() string { return p.s[p.pos:] }

func (p *typeParser) skipSpace() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *typeParser) eat(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.rest(), tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *typeParser) expect(tok string) error {
	if !p.eat(tok) {
		return p.errorf("expected %q", tok)
	}
	return nil
}

var (
	decimalRe = regexp.MustCompile(`^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)`)
	fixedRe   = regexp.MustCompile(`^fixed\[\s*(\d+)\s*\]`)
	wordRe    = regexp.MustCompile(`^[a-z_]+`)
)

func (p *typeParser) parseType() (string, error) {
	p.skipSpace()
	if m := decimalRe.FindStringSubmatch(p.rest()); m != nil {
		p.pos += len(m[0])
		prec, _ := strconv.Atoi(m[1])
		scale, _ := strconv.Atoi(m[2])
		if prec < 1 || prec > 38 || scale > prec {
			return "", p.errorf("decimal(%d, %d) is out of range", prec, scale)
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", prec, scale), nil
	}
	if m := fixedRe.FindString(p.rest()); m != "" {
		p.pos += len(m)
		return "BLOB", nil
	}
	word := wordRe.FindString(p.rest())
	switch word {
	case "struct":
		p.pos += len(word)
		return p.parseStruct()
	case "list":
		p.pos += len(word)
		if err := p.expect("<"); err != nil {
			return "", err
		}
		elem, err := p.parseType()
		if err != nil {
			return "", err
		}
		return elem + "[]", p.expect(">")
	case "map":
		p.pos += len(word)
		if err := p.expect("<"); err != nil {
			return "", err
		}
		key, err := p.parseType()
		if err != nil {
			return "", err
		}
		if err := p.expect(","); err != nil {
			return "", err
		}
		val, err := p.parseType()
		if err != nil {
			return "", err
		}
		return "MAP(" + key + ", " + val + ")", p.expect(">")
	}
	if t, ok := icebergToDuckDB[word]; ok {
		p.pos += len(word)
		return t, nil
	}
	return "", p.errorf("unsupported type %q", word)
}

var fieldIDRe = regexp.MustCompile(`^\d+: `)

// parseStruct parses "<1: name: required type (doc), ...>" after the word struct.
func (p *typeParser) parseStruct() (string, error) {
	if err := p.expect("<"); err != nil {
		return "", err
	}
	var fields []string
	for !p.eat(">") {
		if len(fields) > 0 {
			if err := p.expect(","); err != nil {
				return "", err
			}
		}
		p.skipSpace()
		id := fieldIDRe.FindString(p.rest())
		if id == "" {
			return "", p.errorf("expected a field id")
		}
		p.pos += len(id)
		name, err := p.fieldName()
		if err != nil {
			return "", err
		}
		typ, err := p.parseType()
		if err != nil {
			return "", err
		}
		p.skipDoc()
		fields = append(fields, sqlIdent(name)+" "+typ)
	}
	if len(fields) == 0 {
		return "", p.errorf("a struct needs at least one field")
	}
	return "STRUCT(" + strings.Join(fields, ", ") + ")", nil
}

// fieldName reads "name: required " or "name: optional "; the name itself may contain ": ".
func (p *typeParser) fieldName() (string, error) {
	rest := p.rest()
	i := strings.Index(rest, ": required ")
	j := strings.Index(rest, ": optional ")
	if i < 0 || (j >= 0 && j < i) {
		i = j
	}
	if i < 0 {
		return "", p.errorf("expected \"name: required|optional type\"")
	}
	p.pos += i + len(": required ")
	return rest[:i], nil
}

var nextFieldRe = regexp.MustCompile(`^\), \d+: `)

// skipDoc skips a field's " (doc)", which ends at the first ")" followed by ">" or by the next field.
func (p *typeParser) skipDoc() {
	if !strings.HasPrefix(p.rest(), " (") {
		return
	}
	for i := p.pos + 2; i < len(p.s); i++ {
		if p.s[i] != ')' {
			continue
		}
		tail := p.s[i:]
		if strings.HasPrefix(tail, ")>") || nextFieldRe.MatchString(tail) {
			p.pos = i + 1
			return
		}
	}
}

// IcebergToDuckDB returns the DuckDB type that reads an Iceberg type (lake → engine), e.g. "long" → "BIGINT",
// "list<string>" → "VARCHAR[]". An Iceberg type DuckDB cannot read is an ErrInvalid error.
func IcebergToDuckDB(iceberg string) (string, error) { return duckTypeOf(iceberg) }
