//go:build duckdb_arrow

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A JSON value that cannot become its declared column's type (the options' columns, or the table's types when
// appending) would fail DuckDB's whole read. The pre-pass checks the top-level values of declared columns and
// makes such a line a malformed row instead, skipped under MaxBadRows like a line that is not JSON: a string
// that is no number in a number column, an object or array where a scalar is expected, a non-boolean in a
// BOOLEAN column, a string that is no date in a DATE column.

// jsonWant is what a declared column accepts.
type jsonWant int

const (
	jsonAny     jsonWant = iota // VARCHAR, JSON, nested types: anything
	jsonInteger                 // integers
	jsonNumber                  // floats and decimals
	jsonBool
	jsonDate
	jsonScalar // timestamps, times, uuid, ...: any scalar (DuckDB parses the text)
)

func wantOf(duckType string) jsonWant {
	t := strings.ToUpper(strings.TrimSpace(duckType))
	switch {
	case strings.HasSuffix(t, "[]") || strings.HasPrefix(t, "STRUCT") || strings.HasPrefix(t, "MAP") ||
		strings.HasPrefix(t, "LIST") || strings.HasPrefix(t, "UNION") || t == "VARCHAR" || t == "JSON" ||
		strings.HasPrefix(t, "VARCHAR(") || t == "TEXT" || t == "STRING":
		return jsonAny
	case t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "INT" || t == "BIGINT" || t == "HUGEINT" ||
		t == "UTINYINT" || t == "USMALLINT" || t == "UINTEGER" || t == "UBIGINT" || t == "UHUGEINT":
		return jsonInteger
	case t == "FLOAT" || t == "REAL" || t == "DOUBLE" || strings.HasPrefix(t, "DECIMAL") || strings.HasPrefix(t, "NUMERIC"):
		return jsonNumber
	case t == "BOOLEAN" || t == "BOOL":
		return jsonBool
	case t == "DATE":
		return jsonDate
	}
	return jsonScalar
}

// jsonFit checks the declared columns of JSON lines.
type jsonFit map[string]struct {
	name string // as declared
	want jsonWant
	typ  string
}

// newJSONFit returns the checks for the declared columns (nil when none needs one): opts.Columns, else the
// table's types.
func newJSONFit(opts ReadOptions) jsonFit {
	f := jsonFit{}
	add := func(name, typ string) {
		if w := wantOf(typ); w != jsonAny {
			f[name] = struct {
				name string
				want jsonWant
				typ  string
			}{name, w, strings.ToUpper(typ)}
		}
	}
	if len(opts.Columns) > 0 {
		for _, c := range opts.Columns {
			add(c.Name, c.Type)
		}
	} else {
		for n, t := range opts.TableTypes {
			add(n, t)
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// check returns the column and the reason a valid JSON object line does not fit, or "", "".
func (f jsonFit) check(line []byte) (column, msg string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", ""
	}
	for key, raw := range obj {
		c, ok := f[key]
		if !ok {
			continue
		}
		if m := fits(bytes.TrimSpace(raw), c.want); m != "" {
			return c.name, fmt.Sprintf("%s where the column's type %s needs %s", m, c.typ, wantName(c.want))
		}
	}
	return "", ""
}

// fits returns what raw is when it cannot be read as want, or "".
func fits(raw []byte, want jsonWant) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	switch want {
	case jsonInteger, jsonNumber:
		text := string(raw)
		if raw[0] == '"' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "a string"
			}
			text = strings.TrimSpace(s)
		} else if raw[0] == 't' || raw[0] == 'f' {
			return "a boolean"
		}
		if want == jsonInteger {
			if _, err := strconv.ParseInt(text, 10, 64); err == nil {
				return ""
			}
			if v, err := strconv.ParseFloat(text, 64); err == nil && v == float64(int64(v)) {
				return ""
			}
		} else if _, err := strconv.ParseFloat(text, 64); err == nil {
			return ""
		}
		if raw[0] == '"' {
			return fmt.Sprintf("the string %s", shorten(string(raw)))
		}
		return fmt.Sprintf("the number %s", shorten(text))
	case jsonBool:
		if string(raw) == "true" || string(raw) == "false" {
			return ""
		}
		return fmt.Sprintf("the value %s", shorten(string(raw)))
	case jsonDate:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return fmt.Sprintf("the value %s", shorten(string(raw)))
		}
		if _, err := time.Parse("2006-01-02", strings.TrimSpace(s)); err != nil {
			return fmt.Sprintf("the string %s", shorten(string(raw)))
		}
	}
	return ""
}

func wantName(w jsonWant) string {
	switch w {
	case jsonInteger:
		return "an integer"
	case jsonNumber:
		return "a number"
	case jsonBool:
		return "true or false"
	case jsonDate:
		return "a date (YYYY-MM-DD)"
	}
	return "a single value"
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
