package features

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Ref names features of one view instance: view[@N][(param=value, ...)]:feature. Version 0 is the current
// version; Params are the values the consumer gave (as typed, unchecked); Feature "*" asks for every feature.
type Ref struct {
	View    string
	Version int
	Params  map[string]string
	Feature string
}

// ParseRef parses a feature reference such as user_stats:total, user_stats@3:total or
// orders_agg(window_days=7, kind='web'):n. A parameter value is bare (up to the next , or )) or quoted with '
// or " (the quote doubled inside). Only the syntax is checked here: Instance checks parameters against the
// view's declared ones. Errors match ErrInvalid.
func ParseRef(s string) (Ref, error) {
	r, rest, err := parseViewRef(s)
	if err != nil {
		return r, err
	}
	feat, ok := strings.CutPrefix(rest, ":")
	feat = strings.TrimSpace(feat)
	if !ok || (feat != "*" && !nameRe.MatchString(feat)) {
		return r, fmt.Errorf("feature reference %q: write view:feature, view@N:feature or view(param=value):feature: %w", s, ErrInvalid)
	}
	r.Feature = feat
	return r, nil
}

// ParseServingRef parses a reference as a feature service entry or an online request gives it: view (every
// feature), view:feature, view:* or an instance view(param=value, ...)[:feature], with ParseRef's grammar
// (quoted values, spaces), so that one instance reference names the same instance, table and key space in a
// service, a dataset build, a materialisation and an online request. Feature is "" for a bare view. Errors
// match ErrInvalid.
func ParseServingRef(s string) (Ref, error) {
	r, rest, err := parseViewRef(s)
	if err != nil {
		return r, err
	}
	if strings.TrimSpace(rest) == "" {
		return r, nil
	}
	feat, ok := strings.CutPrefix(strings.TrimSpace(rest), ":")
	feat = strings.TrimSpace(feat)
	if !ok || (feat != "*" && !nameRe.MatchString(feat)) {
		return r, fmt.Errorf("feature reference %q: write view, view:feature or view(param=value):feature: %w", s, ErrInvalid)
	}
	r.Feature = feat
	return r, nil
}

// parseViewRef parses view[@N][(params)] and returns what follows it.
func parseViewRef(s string) (Ref, string, error) {
	var r Ref
	bad := func(why string) (Ref, string, error) {
		return r, "", fmt.Errorf("feature reference %q: %s: %w", s, why, ErrInvalid)
	}
	t := strings.TrimSpace(s)
	end := strings.IndexAny(t, "@(:")
	if end < 0 {
		end = len(t)
	}
	r.View, t = strings.TrimSpace(t[:end]), t[end:]
	if !nameRe.MatchString(r.View) {
		return bad("the view name must be lower-case letters, digits and _")
	}
	if rest, ok := strings.CutPrefix(t, "@"); ok {
		n := strings.IndexFunc(rest, func(c rune) bool { return c < '0' || c > '9' })
		if n < 0 {
			n = len(rest)
		}
		v, err := strconv.Atoi(rest[:n])
		if err != nil || v < 1 {
			return bad("the version after @ must be a number from 1")
		}
		r.Version, t = v, rest[n:]
	}
	if rest, ok := strings.CutPrefix(t, "("); ok {
		params, after, err := parseParamList(rest)
		if err != nil {
			return bad(err.Error())
		}
		if len(params) > 0 {
			r.Params = params
		}
		t = after
	}
	return r, t, nil
}

// parseParamList parses `name=value, ...)` and returns the text after the closing parenthesis.
func parseParamList(s string) (map[string]string, string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " ")
		if rest, ok := strings.CutPrefix(s, ")"); ok && len(out) == 0 {
			return out, rest, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, "", fmt.Errorf("write (param=value, ...)")
		}
		name := strings.TrimSpace(s[:eq])
		if !nameRe.MatchString(name) {
			return nil, "", fmt.Errorf("%q is not a parameter name", name)
		}
		if _, dup := out[name]; dup {
			return nil, "", fmt.Errorf("parameter %s given twice", name)
		}
		val, rest, err := parseValue(strings.TrimLeft(s[eq+1:], " "))
		if err != nil {
			return nil, "", fmt.Errorf("parameter %s: %v", name, err)
		}
		out[name] = val
		rest = strings.TrimLeft(rest, " ")
		switch {
		case strings.HasPrefix(rest, ","):
			s = rest[1:]
		case strings.HasPrefix(rest, ")"):
			return out, rest[1:], nil
		default:
			return nil, "", fmt.Errorf("parameter %s: expected , or ) after the value", name)
		}
	}
}

// parseValue reads one bare or quoted value.
func parseValue(s string) (string, string, error) {
	if s == "" {
		return "", "", fmt.Errorf("missing value and )")
	}
	if q := s[0]; q == '\'' || q == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != q {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		return "", "", fmt.Errorf("unterminated quote")
	}
	end := strings.IndexAny(s, ",)")
	if end < 0 {
		return "", "", fmt.Errorf("missing )")
	}
	return strings.TrimSpace(s[:end]), s[end:], nil
}

// String writes the reference back in ParseRef's syntax, parameters sorted by name and quoted when needed.
func (r Ref) String() string {
	var b strings.Builder
	b.WriteString(r.View)
	if r.Version > 0 {
		fmt.Fprintf(&b, "@%d", r.Version)
	}
	if len(r.Params) > 0 {
		b.WriteString("(")
		for i, k := range sortedKeys(r.Params) {
			if i > 0 {
				b.WriteString(", ")
			}
			v := r.Params[k]
			if v == "" || strings.ContainsAny(v, ",)'\" ") {
				v = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			}
			b.WriteString(k + "=" + v)
		}
		b.WriteString(")")
	}
	if r.Feature != "" {
		b.WriteString(":" + r.Feature)
	}
	return b.String()
}

// viewRef is the registry reference of the view: name or name@N.
func (r Ref) viewRef() string {
	if r.Version > 0 {
		return fmt.Sprintf("%s@%d", r.View, r.Version)
	}
	return r.View
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// InstanceName is the deterministic name of a view instance: its offline table in zone features and its online
// key space. params holds the canonical value (CanonicalValue) of EVERY declared parameter, defaults filled, or
// is empty when every parameter has its default value; then the name is the view's own. Otherwise it is
// <view>__p<the first 10 hex digits of the sha256 of "k=v&k=v", parameters sorted by name>.
func InstanceName(view string, params map[string]string) string {
	if len(params) == 0 {
		return view
	}
	var parts []string
	for _, k := range sortedKeys(params) {
		parts = append(parts, k+"="+params[k])
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	return view + "__p" + hex.EncodeToString(sum[:])[:10]
}

// CanonicalValue writes a checked parameter value (ParamType.Check) in its one canonical text form: integers in
// decimal, floats in the shortest form that reads back exactly, booleans as true/false, strings as they are.
func CanonicalValue(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	panic(fmt.Sprintf("features: canonical value of unchecked %T", v))
}

// Instance is one instantiation of a view with checked parameter values.
type Instance struct {
	View *View
	// Values are the checked values of every declared parameter (defaults filled), by name.
	Values map[string]any
	// Default is true when every value is the parameter's default.
	Default bool
	// Name is InstanceName of the instance.
	Name string
}

// Instance checks values (as typed by a consumer) against the view's declared parameters and returns the
// instance they name. An unknown parameter, a parameter without a value or default, or a value that is not of
// the declared type is an error matching ErrInvalid that names the parameter.
func (v *View) Instance(values map[string]string) (*Instance, error) {
	used, err := v.checkParams(values)
	if err != nil {
		return nil, err
	}
	in := &Instance{View: v, Values: used, Default: true}
	canon := map[string]string{}
	for name, val := range used {
		canon[name] = CanonicalValue(val)
		p := v.Source.Params[name]
		if def, err := p.Type.Check(p.Default); p.Default == nil || err != nil || CanonicalValue(def) != canon[name] {
			in.Default = false
		}
	}
	if in.Default {
		canon = nil
	}
	in.Name = InstanceName(v.Name, canon)
	return in, nil
}

// checkParams returns the checked value of every declared parameter: values override the defaults.
func (v *View) checkParams(values map[string]string) (map[string]any, error) {
	for _, name := range sortedKeys(values) {
		if _, ok := v.Source.Params[name]; !ok {
			return nil, fmt.Errorf("view %s has no parameter %q (it has %s): %w", v.Name, name, paramNames(v.Source.Params), ErrInvalid)
		}
	}
	used := map[string]any{}
	for _, name := range sortedKeys(v.Source.Params) {
		p := v.Source.Params[name]
		var raw any
		if s, given := values[name]; given {
			raw = s
		} else if p.Default != nil {
			raw = p.Default
		} else {
			return nil, fmt.Errorf("view %s: parameter %s has no default: give a value: %w", v.Name, name, ErrInvalid)
		}
		val, err := p.Type.Check(raw)
		if err != nil {
			return nil, fmt.Errorf("view %s: parameter %s: %v: %w", v.Name, name, err, ErrInvalid)
		}
		used[name] = val
	}
	return used, nil
}
