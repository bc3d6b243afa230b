package features

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ValueTypes are the column types a join key or a feature may declare (Iceberg's names).
var ValueTypes = []string{"boolean", "int", "long", "float", "double", "string", "date", "timestamp", "timestamptz"}

var nameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// LoadDir parses every *.yaml and *.yml file of dir (sorted by name, not recursive) into one Defs and checks
// that the definitions agree with each other (names, entities, services). A missing dir is ErrNotFound.
func LoadDir(dir string) (*Defs, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("feature definitions folder %s: %w: create it and declare entities and feature views in YAML files there", dir, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	defs := &Defs{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		if err := defs.parseFile(filepath.Join(filepath.Base(dir), f), b); err != nil {
			return nil, err
		}
	}
	return defs, defs.check()
}

// Parse parses one file's text (name is used in errors) and checks it on its own.
func Parse(name string, b []byte) (*Defs, error) {
	defs := &Defs{}
	if err := defs.parseFile(name, b); err != nil {
		return nil, err
	}
	return defs, defs.check()
}

type parser struct{ file string }

func (p parser) errf(n *yaml.Node, field, format string, args ...any) *DefError {
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	return &DefError{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (d *Defs) parseFile(name string, b []byte) error {
	p := parser{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file declares nothing
		}
		return p.yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return p.errf(&extra, "", "one YAML document per file: split the definitions into files or remove the ---")
	}
	if len(doc.Content) == 0 {
		return nil
	}
	top, err := p.mapping(doc.Content[0], "", "entities", "feature_views", "feature_services")
	if err != nil {
		return err
	}
	return p.each(top, map[string]func(*yaml.Node, string) error{
		"entities": func(n *yaml.Node, f string) error {
			e, err := p.entity(n, f)
			d.Entities = append(d.Entities, e)
			return err
		},
		"feature_views": func(n *yaml.Node, f string) error { v, err := p.view(n, f); d.Views = append(d.Views, v); return err },
		"feature_services": func(n *yaml.Node, f string) error {
			s, err := p.service(n, f)
			d.Services = append(d.Services, s)
			return err
		},
	})
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func (p parser) yamlError(err error) error {
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		_, _ = fmt.Sscan(m[1], &line)
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return &DefError{File: p.file, Line: line, Msg: "not valid YAML: " + msg}
}

// each runs fn on every item of the sequences under the top-level keys, in file order.
func (p parser) each(top fields, fns map[string]func(*yaml.Node, string) error) error {
	for _, k := range top.order {
		seq := top.vals[k]
		if seq.Kind != yaml.SequenceNode {
			return p.errf(seq, k, "must be a list")
		}
		for i, n := range seq.Content {
			if err := fns[k](n, fmt.Sprintf("%s[%d]", k, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// fields is a YAML mapping whose keys were checked: each key once, each one allowed.
type fields struct {
	node  *yaml.Node
	order []string
	vals  map[string]*yaml.Node
}

func (p parser) mapping(n *yaml.Node, field string, allowed ...string) (fields, error) {
	f := fields{node: n, vals: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		return f, p.errf(n, field, "must be a mapping of keys to values")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return f, p.errf(k, field, "keys must be plain names")
		}
		if !contains(allowed, k.Value) {
			return f, p.errf(k, join(field, k.Value), "unknown key: use %s", strings.Join(allowed, ", "))
		}
		if _, dup := f.vals[k.Value]; dup {
			return f, p.errf(k, join(field, k.Value), "given twice")
		}
		f.order = append(f.order, k.Value)
		f.vals[k.Value] = n.Content[i+1]
	}
	return f, nil
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a required (or optional) plain string.
func (p parser) str(f fields, field, key string, required bool) (string, error) {
	n, ok := f.vals[key]
	if !ok {
		if required {
			return "", p.errf(f.node, join(field, key), "missing: it is required")
		}
		return "", nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, join(field, key), "must be a string")
	}
	return n.Value, nil
}

func (p parser) name(f fields, field string) (string, error) {
	s, err := p.str(f, field, "name", true)
	if err == nil && !nameRe.MatchString(s) {
		err = p.errf(f.vals["name"], join(field, "name"), "%q is not a valid name: use lower-case letters, digits and _ (at most 63)", s)
	}
	return s, err
}

func (p parser) valueType(n *yaml.Node, field string) (string, error) {
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode || !contains(ValueTypes, n.Value) {
		return "", p.errf(n, field, "type %q is not one of %s", n.Value, strings.Join(ValueTypes, ", "))
	}
	return n.Value, nil
}

func (p parser) strList(f fields, field, key string) ([]string, error) {
	n, ok := f.vals[key]
	if !ok {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, join(field, key), "must be a list of names")
	}
	var out []string
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Value == "" {
			return nil, p.errf(c, fmt.Sprintf("%s.%s[%d]", field, key, i), "must be a name")
		}
		out = append(out, c.Value)
	}
	return out, nil
}

func (p parser) tags(f fields, field string) (map[string]string, error) {
	n, ok := f.vals["tags"]
	if !ok {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, join(field, "tags"), "must be a mapping of tag names to values")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, p.errf(k, join(field, "tags"), "tags are name: value strings")
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errf(k, join(field, "tags."+k.Value), "given twice")
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

func (p parser) boolean(f fields, field, key string) (bool, error) {
	n, ok := f.vals[key]
	if !ok {
		return false, nil
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		return false, p.errf(n, join(field, key), "must be true or false")
	}
	return b, nil
}
