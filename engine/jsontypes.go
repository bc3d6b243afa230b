//go:build duckdb_arrow

package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// DuckDB's JSON reader gives a key whose values have different JSON types ({"v": 1} then {"v": "two"}) its
// JSON type, whose text keeps the quotes of strings: the column would silently hold `"two"`. ReadFile refuses
// that and names the lines, unless the column's type is given (VARCHAR reads every value as its raw text).
// The search runs only when the inferred schema has a JSON part, so clean files pay nothing for it.

// jsonPath is a path into a JSON record: a key, then keys of nested objects; jsonEach stands for every
// element of an array or every value of an object DuckDB reads as a map.
type jsonPath []string

const jsonEach = "\x00each"

func (p jsonPath) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s == jsonEach:
			b.WriteString("[]")
		case i > 0:
			b.WriteString("." + s)
		default:
			b.WriteString(s)
		}
	}
	return b.String()
}

// jsonKind names a decoded JSON value's type, "" for null.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return ""
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// valuesAt calls fn with every value at path p inside v.
func valuesAt(v any, p jsonPath, fn func(any)) {
	if len(p) == 0 {
		fn(v)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if p[0] == jsonEach {
			for _, x := range v {
				valuesAt(x, p[1:], fn)
			}
			return
		}
		if x, ok := v[p[0]]; ok {
			valuesAt(x, p[1:], fn)
		}
	case []any:
		if p[0] == jsonEach {
			for _, x := range v {
				valuesAt(x, p[1:], fn)
			}
		}
	}
}

// mixedTypes looks for a path whose values have two JSON types and returns an ErrBadData error naming the
// first two lines (records, in a JSON array file) that disagree; nil if none does (an empty object or array
// also gets the JSON type, and is fine).
func mixedTypes(ctx context.Context, abs, file string, scan *jsonScan, paths []jsonPath) error {
	rd, closeFn, err := openMaybeGzip(abs)
	if err != nil {
		return err
	}
	defer closeFn()
	type seen struct {
		kind string
		at   int64
	}
	first := make([]seen, len(paths))
	unit := "line"
	check := func(at int64, rec any) error {
		for i, p := range paths {
			var conflict error
			valuesAt(rec, p, func(v any) {
				k := jsonKind(v)
				switch {
				case conflict != nil || k == "":
				case first[i].kind == "":
					first[i] = seen{k, at}
				case first[i].kind != k:
					conflict = fmt.Errorf("%s %s %d: key %q has a %s value here and a %s value on %s %d: the values of a key "+
						"must have one JSON type to make a column: make them one type, or declare the column's type "+
						"(VARCHAR reads each value as its text): %w", file, unit, at, p.String(), k, first[i].kind, unit, first[i].at, ErrBadData)
				}
			})
			if conflict != nil {
				return conflict
			}
		}
		return nil
	}
	if scan.array {
		unit = "record"
		return eachArrayRecord(ctx, rd, check)
	}
	bad := make(map[int64]bool, len(scan.bad))
	for _, b := range scan.bad {
		bad[b.Line] = true
	}
	br := bufio.NewReaderSize(rd, 1<<20)
	for line := int64(1); ; line++ {
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		text, tooLong, err := readLine(br)
		if len(text) > 0 && !tooLong && !bad[line] {
			if line == 1 {
				text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
			}
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.UseNumber()
			var rec any
			if dec.Decode(&rec) == nil {
				if cerr := check(line, rec); cerr != nil {
					return cerr
				}
			}
		}
		if err != nil {
			return nil
		}
	}
}

// eachArrayRecord calls fn with each element of a file that is one JSON array.
func eachArrayRecord(ctx context.Context, rd interface{ Read([]byte) (int, error) }, fn func(int64, any) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(rd, 1<<20))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil
	}
	for n := int64(1); dec.More(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var rec any
		if dec.Decode(&rec) != nil {
			return nil
		}
		if err := fn(n, rec); err != nil {
			return err
		}
	}
	return nil
}
