package move

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParamType is the type of a job parameter.
type ParamType string

// The parameter types.
const (
	TypeString    ParamType = "string"
	TypeInt       ParamType = "int"
	TypeFloat     ParamType = "float"
	TypeDate      ParamType = "date"
	TypeTimestamp ParamType = "timestamp"
	TypeBool      ParamType = "bool"
)

func parseParamType(s string) (ParamType, error) {
	switch t := ParamType(s); t {
	case TypeString, TypeInt, TypeFloat, TypeDate, TypeTimestamp, TypeBool:
		return t, nil
	case "":
		return "", fmt.Errorf("type is missing: use string, int, float, date, timestamp or bool")
	}
	return "", fmt.Errorf("type %q: use string, int, float, date, timestamp or bool", s)
}

// Param is one resolved parameter: its typed Go value (string, int64, float64, time.Time or bool) and its text.
type Param struct {
	Name  string    `json:"name"`
	Type  ParamType `json:"type"`
	Value any       `json:"-"`
	Text  string    `json:"value"`
}

// Params are a run's resolved parameters, in the job file's order.
type Params []Param

// Get returns the parameter named n.
func (ps Params) Get(n string) (Param, bool) {
	for _, p := range ps {
		if p.Name == n {
			return p, true
		}
	}
	return Param{}, false
}

// Map returns the parameters' texts by name (what the run history keeps).
func (ps Params) Map() map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Name] = p.Text
	}
	return m
}

// ParseOverrides parses --param k=v arguments.
func ParseOverrides(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: --param %q: write name=value", ErrInvalid, a)
		}
		out[k] = v
	}
	return out, nil
}

// ResolveParams types every parameter of spec: an override, else the default, else an error. now gives
// "today" (a date default) and "now" (a timestamp default), in UTC. An override naming no parameter is an error.
func ResolveParams(spec *Spec, overrides map[string]string, now time.Time) (Params, error) {
	var unknown []string
	for k := range overrides {
		if _, ok := spec.Params[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%w: --param %s: job %s has no such param (params: %s)", ErrInvalid,
			strings.Join(unknown, ", "), spec.Name, strings.Join(spec.ParamOrder, ", "))
	}
	out := make(Params, 0, len(spec.ParamOrder))
	for _, name := range spec.ParamOrder {
		ps := spec.Params[name]
		text, given := overrides[name]
		if !given {
			if ps.Default == nil {
				return nil, fmt.Errorf("%w: param %q (%s) has no default: pass --param %s=VALUE", ErrInvalid, name, ps.Type, name)
			}
			text = *ps.Default
		}
		v, canon, err := parseValue(ps.Type, text, now)
		if err != nil {
			return nil, fmt.Errorf("%w: param %q: %v", ErrInvalid, name, err)
		}
		out = append(out, Param{Name: name, Type: ps.Type, Value: v, Text: canon})
	}
	return out, nil
}

// parseValue parses text as t and returns the value and its canonical text.
func parseValue(t ParamType, text string, now time.Time) (any, string, error) {
	switch t {
	case TypeString:
		return text, text, nil
	case TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("%q is not an int (e.g. 42)", text)
		}
		return n, strconv.FormatInt(n, 10), nil
	case TypeFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, "", fmt.Errorf("%q is not a float (e.g. 0.5)", text)
		}
		return f, strconv.FormatFloat(f, 'g', -1, 64), nil
	case TypeBool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return nil, "", fmt.Errorf("%q is not a bool (true or false)", text)
		}
		return b, strconv.FormatBool(b), nil
	case TypeDate:
		if text == "today" {
			d := now.UTC().Truncate(24 * time.Hour)
			return d, d.Format(time.DateOnly), nil
		}
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(text))
		if err != nil {
			return nil, "", fmt.Errorf("%q is not a date (YYYY-MM-DD or today)", text)
		}
		return d, d.Format(time.DateOnly), nil
	case TypeTimestamp:
		if text == "now" {
			ts := now.UTC()
			return ts, ts.Format(time.RFC3339Nano), nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", time.DateOnly} {
			if ts, err := time.Parse(layout, strings.TrimSpace(text)); err == nil {
				return ts.UTC(), ts.UTC().Format(time.RFC3339Nano), nil
			}
		}
		return nil, "", fmt.Errorf("%q is not a timestamp (RFC 3339, e.g. 2026-11-24T10:00:00Z, or now)", text)
	}
	return nil, "", fmt.Errorf("unknown type %q", t)
}

var secretRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandSecrets replaces ${VAR} in s with lookup's values. It returns the expanded text and the values it
// used, so that callers can scrub them from error messages. A variable that is not set is an error naming it
// (never its value) and where the job reads it (where: "jobs/x.yaml:5: source.dsn").
func expandSecrets(s, where string, lookup func(string) (string, bool)) (string, []string, error) {
	var secrets []string
	var missing []string
	out := secretRE.ReplaceAllStringFunc(s, func(m string) string {
		name := secretRE.FindStringSubmatch(m)[1]
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
			return ""
		}
		if v != "" {
			secrets = append(secrets, v)
		}
		return v
	})
	if len(missing) > 0 {
		return "", nil, fmt.Errorf("%w: %s: environment variable %s is not set (the job reads it with ${%s}): export it before the run",
			ErrInvalid, where, missing[0], missing[0])
	}
	if len(secrets) > 0 { // a message quoting the DSN's password alone is scrubbed too
		secrets = append(secrets, dsnPasswords(out)...)
	}
	return out, secrets, nil
}

var passwordKV = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// dsnPasswords returns the password of a PostgreSQL DSN (URL or key=value form) as written and as decoded.
func dsnPasswords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
			if _, raw, ok := strings.Cut(strings.TrimPrefix(u.User.String(), u.User.Username()), ":"); ok && raw != pw {
				out = append(out, raw)
			}
		}
	}
	for _, m := range passwordKV.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[1], strings.Trim(m[1], "'"))
	}
	return out
}

// scrub replaces every secret in msg with ***.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}

// bindQuery turns {{ name }} placeholders into $1, $2, ... and returns the bound values in order: params'
// typed values, and watermark for {{ watermark }}. Values never become SQL text.
func bindQuery(query string, ps Params, watermark any) (string, []any, error) {
	index := map[string]int{}
	var args []any
	var err error
	out := placeholderRE.ReplaceAllStringFunc(query, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if i, ok := index[name]; ok {
			return "$" + strconv.Itoa(i)
		}
		var v any
		if name == "watermark" {
			v = watermark
		} else if p, ok := ps.Get(name); ok {
			v = p.Value
		} else {
			err = fmt.Errorf("%w: {{ %s }} names no param", ErrInvalid, name)
			return m
		}
		args = append(args, v)
		index[name] = len(args)
		return "$" + strconv.Itoa(len(args))
	})
	return out, args, err
}

// renderQuery returns the function that puts literals in place of query's {{ name }} placeholders:
// literals[i] for the name bindQuery bound as $i+1 (names are numbered in order of first appearance, as
// there). The literals come from the postgres source, which renders them safely for COPY.
func renderQuery(query string) func(literals []string) string {
	return func(literals []string) string {
		index := map[string]int{}
		return placeholderRE.ReplaceAllStringFunc(query, func(m string) string {
			name := placeholderRE.FindStringSubmatch(m)[1]
			i, ok := index[name]
			if !ok {
				i = len(index)
				index[name] = i
			}
			if i >= len(literals) {
				return m
			}
			return literals[i]
		})
	}
}

// substitutePath puts params' texts into a files source path ({{ day }} → 2026-11-24). A path is not SQL; a
// value that would leave the path's folder (.., /) is refused.
func substitutePath(path string, ps Params) (string, error) {
	var err error
	out := placeholderRE.ReplaceAllStringFunc(path, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		p, ok := ps.Get(name)
		if !ok {
			err = fmt.Errorf("%w: {{ %s }} in path names no param", ErrInvalid, name)
			return m
		}
		if strings.Contains(p.Text, "..") || strings.ContainsAny(p.Text, `/\`) {
			err = fmt.Errorf("%w: param %q = %q cannot be used in a path (it contains .. or a slash)", ErrInvalid, name, p.Text)
		}
		return p.Text
	})
	return out, err
}
