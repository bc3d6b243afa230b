package features

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParamType is the declared type of a SQL source parameter.
type ParamType string

// The parameter types.
const (
	ParamInt    ParamType = "int"
	ParamFloat  ParamType = "float"
	ParamString ParamType = "string"
	ParamBool   ParamType = "bool"
)

func parseParamType(s string) (ParamType, bool) {
	switch t := ParamType(s); t {
	case ParamInt, ParamFloat, ParamString, ParamBool:
		return t, true
	}
	return "", false
}

// Check converts v (a YAML scalar or a string typed by a user) to the parameter's Go value: int64, float64,
// string or bool. Anything that is not exactly a value of the type is an error.
func (t ParamType) Check(v any) (any, error) {
	s, isStr := v.(string)
	switch t {
	case ParamInt:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case float64: // a default read back from stored JSON
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); isStr && err == nil {
			return n, nil
		}
	case ParamFloat:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				return x, nil
			}
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); isStr && err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	case ParamBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); isStr && err == nil {
			return b, nil
		}
	case ParamString:
		if isStr && !strings.ContainsRune(s, 0) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%v is not a valid %s", v, t)
}

// literal renders a checked value as a DuckDB literal: numbers in canonical form, strings single-quoted with
// quotes doubled, so no value can end the literal and add SQL.
func literal(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return "CAST(" + strconv.FormatFloat(x, 'g', -1, 64) + " AS DOUBLE)"
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	}
	panic(fmt.Sprintf("features: literal of unchecked %T", v))
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// placeholders returns the parameter names a SQL text uses, in order of first use.
func placeholders(sql string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(sql, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// RenderSQL returns the view's source SQL with every {{ param }} replaced by the checked literal of its value:
// values override the declared defaults; a parameter without a value or default, an unknown parameter, or a
// value that is not of the declared type is an ErrInvalid error. It also returns the values used.
func (v *View) RenderSQL(values map[string]string) (string, map[string]any, error) {
	used, err := v.checkParams(values)
	if err != nil {
		return "", nil, err
	}
	return v.render(used), used, nil
}

// render replaces every {{ param }} of the source SQL with the literal of its checked value.
func (v *View) render(used map[string]any) string {
	return placeholder.ReplaceAllStringFunc(v.Source.SQL, func(m string) string {
		return literal(used[placeholder.FindStringSubmatch(m)[1]])
	})
}

func paramNames(ps map[string]Param) string {
	if len(ps) == 0 {
		return "none"
	}
	var out []string
	for n := range ps {
		out = append(out, n)
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}

// Duration is a TTL: Go durations plus d (days) and w (weeks); 0 means unbounded.
type Duration time.Duration

var durationRe = regexp.MustCompile(`^(\d+)([dw])$`)

// ParseDuration parses a TTL such as 30d, 12h, 90m, 1w or 0.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if m := durationRe.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		unit := int64(24 * time.Hour)
		if m[2] == "w" {
			unit *= 7
		}
		if err != nil || n > math.MaxInt64/unit {
			return 0, fmt.Errorf("%q is too long", s)
		}
		return Duration(n * unit), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration: use 0 (unbounded) or a number with s, m, h, d or w (e.g. 30d)", s)
	}
	return Duration(d), nil
}

// String prints a TTL in days when it is whole days (30d), else as a Go duration (12h0m0s), or 0.
func (d Duration) String() string {
	day := Duration(24 * time.Hour)
	switch {
	case d == 0:
		return "0"
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	return time.Duration(d).String()
}

// MarshalText writes the TTL as String does, so stored definitions read like the files.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a TTL written by MarshalText.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	*d = v
	return err
}
