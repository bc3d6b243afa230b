package features

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (p parser) entity(n *yaml.Node, field string) (Entity, error) {
	e := Entity{Pos: Pos{p.file, n.Line}}
	f, err := p.mapping(n, field, "name", "join_keys", "description")
	if err != nil {
		return e, err
	}
	if e.Name, err = p.name(f, field); err != nil {
		return e, err
	}
	if e.Description, err = p.str(f, field, "description", false); err != nil {
		return e, err
	}
	keys, ok := f.vals["join_keys"]
	if !ok || keys.Kind != yaml.SequenceNode || len(keys.Content) == 0 {
		return e, p.errf(nodeOr(keys, n), join(field, "join_keys"), "give a list of at least one {name, type}")
	}
	for i, kn := range keys.Content {
		kf := fmt.Sprintf("%s.join_keys[%d]", field, i)
		k, err := p.mapping(kn, kf, "name", "type")
		if err != nil {
			return e, err
		}
		var jk JoinKey
		if jk.Name, err = p.name(k, kf); err != nil {
			return e, err
		}
		if k.vals["type"] == nil {
			return e, p.errf(kn, join(kf, "type"), "missing: it is required")
		}
		if jk.Type, err = p.valueType(k.vals["type"], join(kf, "type")); err != nil {
			return e, err
		}
		e.JoinKeys = append(e.JoinKeys, jk)
	}
	return e, nil
}

func nodeOr(n, def *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return def
}

func (p parser) view(n *yaml.Node, field string) (View, error) {
	v := View{Pos: Pos{p.file, n.Line}}
	f, err := p.mapping(n, field, "name", "entities", "source", "event_time", "created_time", "ttl", "features",
		"online", "owner", "tags", "description")
	if err != nil {
		return v, err
	}
	if v.Name, err = p.name(f, field); err != nil {
		return v, err
	}
	if v.Entities, err = p.strList(f, field, "entities"); err != nil {
		return v, err
	}
	if len(v.Entities) == 0 {
		return v, p.errf(nodeOr(f.vals["entities"], n), join(field, "entities"), "give at least one entity")
	}
	for _, s := range []struct {
		dst      *string
		key      string
		required bool
	}{{&v.EventTime, "event_time", true}, {&v.CreatedTime, "created_time", false}, {&v.Owner, "owner", false},
		{&v.Description, "description", false}} {
		if *s.dst, err = p.str(f, field, s.key, s.required); err != nil {
			return v, err
		}
	}
	if ttl, ok := f.vals["ttl"]; ok {
		if v.TTL, err = ParseDuration(ttl.Value); err != nil || ttl.Kind != yaml.ScalarNode {
			return v, p.errf(ttl, join(field, "ttl"), "bad TTL %q: use 0 (unbounded) or a duration such as 30d, 12h or 90m", ttl.Value)
		}
	}
	if v.Online, err = p.boolean(f, field, "online"); err != nil {
		return v, err
	}
	if v.Tags, err = p.tags(f, field); err != nil {
		return v, err
	}
	if v.Source, err = p.source(f, field); err != nil {
		return v, err
	}
	v.Features, err = p.features(f, field)
	v.lines = lineMap(n, "")
	return v, err
}

// lineMap records the line of every key under n by its path (a.b, a[1].b).
func lineMap(n *yaml.Node, prefix string) map[string]int {
	out := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := join(path, n.Content[i].Value)
				out[k] = n.Content[i].Line
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				k := fmt.Sprintf("%s[%d]", path, i)
				out[k] = c.Line
				walk(c, k)
			}
		}
	}
	walk(n, prefix)
	return out
}

func (p parser) source(vf fields, field string) (Source, error) {
	var s Source
	n, ok := vf.vals["source"]
	field = join(field, "source")
	if !ok {
		return s, p.errf(vf.node, field, "missing: give source.table (zone.table) or source.sql")
	}
	f, err := p.mapping(n, field, "table", "sql", "params")
	if err != nil {
		return s, err
	}
	if s.Table, err = p.str(f, field, "table", false); err != nil {
		return s, err
	}
	if s.SQL, err = p.str(f, field, "sql", false); err != nil {
		return s, err
	}
	if (s.Table == "") == (s.SQL == "") {
		return s, p.errf(n, field, "give exactly one of table (zone.table) and sql")
	}
	if s.Table != "" && (len(strings.Split(s.Table, ".")) != 2 || !nameRe.MatchString(strings.Split(s.Table, ".")[0])) {
		return s, p.errf(f.vals["table"], join(field, "table"), "%q is not zone.table", s.Table)
	}
	if s.Params, err = p.params(f, field); err != nil {
		return s, err
	}
	if s.Table != "" && len(s.Params) > 0 {
		return s, p.errf(f.vals["params"], join(field, "params"), "parameters apply to a sql source only")
	}
	for _, name := range placeholders(s.SQL) {
		if _, ok := s.Params[name]; !ok {
			return s, p.errf(f.vals["sql"], join(field, "sql"), "{{ %s }} is not a declared parameter: declare it under params with a type", name)
		}
	}
	if rest := placeholder.ReplaceAllString(s.SQL, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return s, p.errf(f.vals["sql"], join(field, "sql"), "a {{ or }} that is not a {{ param }} placeholder")
	}
	return s, nil
}

func (p parser) params(f fields, field string) (map[string]Param, error) {
	n, ok := f.vals["params"]
	if !ok {
		return nil, nil
	}
	field = join(field, "params")
	pf, err := p.mapping(n, field, keysOf(n)...)
	if err != nil {
		return nil, err
	}
	out := map[string]Param{}
	for _, name := range pf.order {
		pfield := join(field, name)
		if !nameRe.MatchString(name) {
			return nil, p.errf(pf.vals[name], pfield, "%q is not a valid parameter name", name)
		}
		spec, err := p.mapping(pf.vals[name], pfield, "type", "default")
		if err != nil {
			return nil, err
		}
		tn, ok := spec.vals["type"]
		if !ok {
			return nil, p.errf(pf.vals[name], join(pfield, "type"), "a parameter needs a type: int, float, string or bool")
		}
		t, ok := parseParamType(tn.Value)
		if !ok || tn.Kind != yaml.ScalarNode {
			return nil, p.errf(tn, join(pfield, "type"), "type %q: use int, float, string or bool", tn.Value)
		}
		prm := Param{Type: t}
		if dn, ok := spec.vals["default"]; ok {
			var raw any
			if dn.Kind != yaml.ScalarNode || dn.Decode(&raw) != nil {
				return nil, p.errf(dn, join(pfield, "default"), "must be a single %s value", t)
			}
			if dn.Tag == "!!str" {
				raw = dn.Value
			}
			if prm.Default, err = t.Check(raw); err != nil || (t == ParamString && dn.Tag != "!!str") {
				return nil, p.errf(dn, join(pfield, "default"), "%q is not a %s", dn.Value, t)
			}
		}
		out[name] = prm
	}
	return out, nil
}

// keysOf lists a mapping's keys (params accept any key; mapping still rejects duplicates).
func keysOf(n *yaml.Node) []string {
	var out []string
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

func (p parser) features(vf fields, field string) ([]Feature, error) {
	n, ok := vf.vals["features"]
	if !ok || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(nodeOr(n, vf.node), join(field, "features"), "give a list of at least one {name, type}")
	}
	var out []Feature
	seen := map[string]bool{}
	for i, fn := range n.Content {
		ff := fmt.Sprintf("%s.features[%d]", field, i)
		f, err := p.mapping(fn, ff, "name", "type", "description", "tags", "aggregation")
		if err != nil {
			return nil, err
		}
		var ft Feature
		if ft.Name, err = p.name(f, ff); err != nil {
			return nil, err
		}
		if seen[ft.Name] {
			return nil, p.errf(f.vals["name"], join(ff, "name"), "duplicate feature %q", ft.Name)
		}
		seen[ft.Name] = true
		if f.vals["type"] == nil {
			return nil, p.errf(fn, join(ff, "type"), "missing: it is required")
		}
		if ft.Type, err = p.valueType(f.vals["type"], join(ff, "type")); err != nil {
			return nil, err
		}
		if ft.Description, err = p.str(f, ff, "description", false); err != nil {
			return nil, err
		}
		if ft.Tags, err = p.tags(f, ff); err != nil {
			return nil, err
		}
		if an, ok := f.vals["aggregation"]; ok {
			if ft.Aggregation, err = p.aggregation(an, join(ff, "aggregation")); err != nil {
				return nil, err
			}
		}
		out = append(out, ft)
	}
	return out, nil
}

func (p parser) service(n *yaml.Node, field string) (Service, error) {
	s := Service{Pos: Pos{p.file, n.Line}}
	f, err := p.mapping(n, field, "name", "features", "include", "description", "owner")
	if err != nil {
		return s, err
	}
	if s.Name, err = p.name(f, field); err != nil {
		return s, err
	}
	if s.Features, err = p.strList(f, field, "features"); err != nil {
		return s, err
	}
	if s.Include, err = p.strList(f, field, "include"); err != nil {
		return s, err
	}
	if len(s.Features)+len(s.Include) == 0 {
		return s, p.errf(n, join(field, "features"), "give at least one view:feature (or include a service)")
	}
	if s.Description, err = p.str(f, field, "description", false); err != nil {
		return s, err
	}
	s.Owner, err = p.str(f, field, "owner", false)
	s.lines = lineMap(n, "")
	return s, err
}

// check verifies what spans definitions: unique names, known entities, services naming known features, and no
// cycle among services' includes.
func (d *Defs) check() error {
	names := map[string]Pos{}
	dup := func(kind, name string, pos Pos) error {
		if prev, ok := names[kind+" "+name]; ok {
			return &DefError{File: pos.File, Line: pos.Line, Field: "name", Msg: fmt.Sprintf("duplicate %s %q (also declared at %s:%d)", kind, name, prev.File, prev.Line)}
		}
		names[kind+" "+name] = pos
		return nil
	}
	ents := map[string]bool{}
	for _, e := range d.Entities {
		if err := dup("entity", e.Name, e.Pos); err != nil {
			return err
		}
		ents[e.Name] = true
	}
	views := map[string]*View{}
	for i, v := range d.Views {
		if err := dup("feature view", v.Name, v.Pos); err != nil {
			return err
		}
		views[v.Name] = &d.Views[i]
		for _, e := range v.Entities {
			if !ents[e] {
				return &DefError{File: v.Pos.File, Line: v.Pos.Line, Field: "entities", Msg: fmt.Sprintf("unknown entity %q in view %s: declare it under entities", e, v.Name)}
			}
		}
	}
	for _, s := range d.Services {
		if err := dup("feature service", s.Name, s.Pos); err != nil {
			return err
		}
		for i, ref := range s.Features {
			if err := checkRef(views, ref); err != nil {
				return s.errAt(fmt.Sprintf("features[%d]", i), fmt.Sprintf("service %s: %v", s.Name, err))
			}
		}
	}
	return d.checkCycles()
}

// checkRef checks a service's feature reference: view, view:feature or view(param=value, ...):feature, with
// parameters of the view's declared types.
func checkRef(views map[string]*View, ref string) error {
	r, rest, err := parseViewRef(ref)
	if err != nil {
		return err
	}
	v, ok := views[r.View]
	if !ok {
		return fmt.Errorf("unknown feature view %q", r.View)
	}
	if _, err := v.Instance(r.Params); err != nil {
		return err
	}
	if rest == "" {
		return nil
	}
	feat, ok := strings.CutPrefix(rest, ":")
	if !ok {
		return fmt.Errorf("feature reference %q: write view, view:feature or view(param=value):feature", ref)
	}
	for _, f := range v.Features {
		if f.Name == feat {
			return nil
		}
	}
	return fmt.Errorf("view %s has no feature %q", r.View, feat)
}

func (d *Defs) checkCycles() error {
	svc := map[string]*Service{}
	for i := range d.Services {
		svc[d.Services[i].Name] = &d.Services[i]
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		s := svc[name]
		switch state[name] {
		case 1:
			return &DefError{File: s.Pos.File, Line: s.Pos.Line, Field: "include", Msg: "cycle: " + strings.Join(append(path, name), " -> ")}
		case 2:
			return nil
		}
		state[name] = 1
		for i, inc := range s.Include {
			if svc[inc] == nil {
				return s.errAt(fmt.Sprintf("include[%d]", i), fmt.Sprintf("unknown feature service %q", inc))
			}
			if err := visit(inc, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		return nil
	}
	for _, s := range d.Services {
		if err := visit(s.Name, nil); err != nil {
			return err
		}
	}
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }
