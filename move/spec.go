// Package move is Strata's data-movement toolkit: declarative jobs (jobs/*.yaml) that stream Arrow record
// batches from a source (files on disk or S3, PostgreSQL, a lake table) to a target (a lake table through
// envs.Write in append, overwrite, overwrite-partition or merge mode; files; a PostgreSQL table), with typed
// parameters, an incremental watermark per job and environment, a quarantine for malformed rows, and a run
// history in the metadata DB.
//
// Promises: a job spec is parsed strictly (an unknown key is an error naming the file, line and key);
// parameters reach SQL only as bound query parameters or as literals rendered by the PostgreSQL connector's
// type encoders (COPY), never as pasted text; secrets (${VAR}) are read from the environment at run time and
// never stored in the run history nor printed in errors; a run commits at most one snapshot of its lake target,
// and the watermark moves only when that snapshot is committed: it is written in the snapshot itself, so a run
// killed between its commit and its record is completed by the next run, never read twice.
package move

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
)

// Sentinel errors; wrapped with context.
var (
	ErrInvalid  = errs.New(errs.Invalid, "invalid job")
	ErrNotFound = errs.New(errs.NotFound, "not found")
)

// Spec is a parsed job file.
type Spec struct {
	File        string               `json:"file,omitempty"`
	Name        string               `json:"name"`
	Params      map[string]ParamSpec `json:"params,omitempty"`
	ParamOrder  []string             `json:"-"` // params in file order
	Source      Endpoint             `json:"source"`
	Target      Endpoint             `json:"target"`
	Incremental *Incremental         `json:"incremental,omitempty"`
	OnError     OnError              `json:"on_error"`
	Columns     []ColumnRule         `json:"columns,omitempty"`
	Schema      string               `json:"schema"` // "strict" (default) or "evolve"
	lines       map[string]int       // line of each dotted field path, for messages about values read at run time
}

// ResolvePaths makes the local paths of a files source and a files target that are relative absolute against
// dir (the project directory, for a job of the project), so that a job reads and writes the same files
// wherever it is run from; s3:// paths and absolute paths stay as they are.
func (s *Spec) ResolvePaths(dir string) {
	for _, e := range []*Endpoint{&s.Source, &s.Target} {
		if e.Type == "files" && e.Path != "" && !strings.HasPrefix(e.Path, "s3://") && !filepath.IsAbs(e.Path) {
			e.Path = filepath.Join(dir, e.Path)
		}
	}
}

// where names a field of the job for a message: "jobs/x.yaml:5: source.dsn" (the file and line when parsed).
func (s *Spec) where(path ...string) string {
	field := strings.Join(path, ".")
	switch line := s.lines[field]; {
	case s.File != "" && line > 0:
		return fmt.Sprintf("%s:%d: %s", s.File, line, field)
	case s.File != "":
		return s.File + ": " + field
	}
	return field
}

// ParamSpec declares one typed parameter.
type ParamSpec struct {
	Type    ParamType `json:"type"`
	Default *string   `json:"default,omitempty"` // nil: the parameter is required
}

// Endpoint is a source or a target. Which fields apply depends on Type.
type Endpoint struct {
	Type string `json:"type" yaml:"type"` // files | postgres | lake
	// files
	Path   string `json:"path,omitempty" yaml:"path"`     // a file, a glob or a folder; may hold {{ param }}
	Format string `json:"format,omitempty" yaml:"format"` // csv | json | parquet ("" = from the extension)
	// postgres
	DSN   string `json:"-" yaml:"dsn"`                 // may hold ${VAR}; never stored or printed
	Query string `json:"query,omitempty" yaml:"query"` // {{ param }} and {{ watermark }} become bound parameters
	// lake
	Table    string `json:"table,omitempty" yaml:"table"`       // zone.name
	Env      string `json:"env,omitempty" yaml:"env"`           // source only: another environment ("" = the run's)
	Snapshot int64  `json:"snapshot,omitempty" yaml:"snapshot"` // source only: a snapshot id (0 = what the env's readers see)
	Mode     string `json:"mode,omitempty" yaml:"mode"`         // target only: append | overwrite | overwrite-partition | merge
	// Key is a merge target's key: new rows replace the table's rows with equal keys (target column names).
	Key []string `json:"key,omitempty" yaml:"key"`
	// Partition is an overwrite-partition target's columns: the table's rows whose values of these columns
	// appear in the new rows are replaced by them.
	Partition []string `json:"partition,omitempty" yaml:"partition"`
	// files target: MaxFileSize (e.g. 256MB) starts a new file once one is that big; PartitionBy writes hive
	// folders col=value/ (the columns are left out of the files).
	MaxFileSize string   `json:"max_file_size,omitempty" yaml:"max_file_size"`
	PartitionBy []string `json:"partition_by,omitempty" yaml:"partition_by"`
}

// Incremental says what the watermark of a job is: the maximum of a column (postgres), the last file read by
// name or modification time (files: By "name" or "modified"), or the snapshot read (lake: By "snapshot").
type Incremental struct {
	Column string `json:"column,omitempty" yaml:"column"`
	By     string `json:"by,omitempty" yaml:"by"`
}

// OnError bounds the malformed rows a run may skip, and names the table they are kept in.
type OnError struct {
	MaxBadRows int `json:"max_bad_rows" yaml:"max_bad_rows"`
	// Quarantine is a lake table (zone.name) that receives the skipped rows of each run: file, line, raw text
	// and reason ("" = the rows are only reported).
	Quarantine string `json:"quarantine,omitempty" yaml:"quarantine"`
}

// ColumnRule renames, casts or drops one source column.
type ColumnRule struct {
	Name   string `json:"name" yaml:"name"`
	Rename string `json:"rename,omitempty" yaml:"rename"`
	Cast   string `json:"cast,omitempty" yaml:"cast"` // string, int, long, float, double, boolean, date, timestamp, timestamptz
	Drop   bool   `json:"drop,omitempty" yaml:"drop"`
}

// keys lists the keys each mapping of a job file may hold; "*" marks a mapping of user-chosen names.
var keys = map[string][]string{
	"":            {"name", "params", "source", "target", "incremental", "on_error", "columns", "schema"},
	"params.*":    {"type", "default"},
	"source":      {"type", "path", "format", "dsn", "query", "table", "env", "snapshot"},
	"target":      {"type", "table", "mode", "key", "partition", "path", "format", "max_file_size", "partition_by", "dsn"},
	"incremental": {"column", "by"},
	"on_error":    {"max_bad_rows", "quarantine"},
	"columns.*":   {"name", "rename", "cast", "drop"},
}

var jobName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ParseFile reads and parses a job file.
func ParseFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("job file %s: %w", path, ErrNotFound)
		}
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a job spec; file names it in errors. Unknown keys, wrong value types and missing required
// fields are ErrInvalid naming file, line and field.
func Parse(file string, data []byte) (*Spec, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := syntaxLineRE.FindStringSubmatch(msg); m != nil { // "line 2: did not find ..." → "x.yaml:2: did not ..."
			return nil, fmt.Errorf("%w: %s:%s: %s", ErrInvalid, file, m[1], m[2])
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, file, msg)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s: a job file is a YAML mapping (name:, source:, target:, ...)", ErrInvalid, file)
	}
	root := doc.Content[0]
	if err := checkKeys(file, "", root); err != nil {
		return nil, err
	}
	var raw rawSpec
	if err := root.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, decodeMessage(file, root, err))
	}
	s, err := raw.spec(file, root)
	if err != nil {
		return nil, err
	}
	return s, s.validate(root)
}

// checkKeys walks a mapping and refuses keys not listed in keys for its path.
func checkKeys(file, path string, n *yaml.Node) error {
	allowed, ok := keys[path]
	if !ok {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		where := path
		if where == "" {
			where = "the job"
		}
		return fmt.Errorf("%w: %s:%d: %s must be a mapping of keys (%s)", ErrInvalid, file, n.Line, where, strings.Join(allowed, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			return fmt.Errorf("%w: %s:%d: unknown field %q in %s (allowed: %s)", ErrInvalid, file, k.Line, k.Value,
				orTop(path), strings.Join(allowed, ", "))
		}
		child := join(path, k.Value)
		if _, nested := keys[child+".*"]; nested {
			if err := checkChildren(file, child, v); err != nil {
				return err
			}
			continue
		}
		if err := checkKeys(file, child, v); err != nil {
			return err
		}
	}
	return nil
}

// checkChildren checks every entry of a mapping (params) or sequence (columns) of user-named items.
func checkChildren(file, path string, n *yaml.Node) error {
	switch {
	case n.Kind == yaml.MappingNode && path == "params":
		for i := 1; i < len(n.Content); i += 2 {
			if err := checkKeys(file, path+".*", n.Content[i]); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && path == "columns":
		for _, c := range n.Content {
			if err := checkKeys(file, path+".*", c); err != nil {
				return err
			}
		}
	case path == "params":
		return fmt.Errorf("%w: %s:%d: params must be a mapping: name: {type: ..., default: ...}", ErrInvalid, file, n.Line)
	default:
		return fmt.Errorf("%w: %s:%d: columns must be a list: - {name: ..., rename: ..., cast: ..., drop: true}", ErrInvalid, file, n.Line)
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "the job"
	}
	return strings.TrimSuffix(path, ".*")
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var syntaxLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

var unmarshalRE = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+) (?:`(.*)` )?into (\\S+)$")

// decodeMessage turns yaml.v3's type errors ("line 3: cannot unmarshal !!str `x` into int") into lines that
// name the file, the line and the field, and say what the field takes: `jobs/x.yaml:3: on_error.max_bad_rows:
// "x" is not a whole number`.
func decodeMessage(file string, root *yaml.Node, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		m := unmarshalRE.FindStringSubmatch(l)
		if m == nil {
			if l != "" {
				out = append(out, file+": "+strings.TrimPrefix(l, "yaml: "))
			}
			continue
		}
		line, _ := strconv.Atoi(m[1])
		got := map[string]string{"map": "a mapping", "seq": "a list"}[m[2]]
		if got == "" {
			got = strconv.Quote(m[3])
		}
		where := file + ":" + m[1] + ": "
		if f := fieldAt(root, "", line, m[3]); f != "" {
			where += f + ": "
		}
		out = append(out, where+got+" is not "+wants(m[4]))
	}
	return strings.Join(out, "; ")
}

// wants says in words what a Go type of the job's structs takes.
func wants(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a single value"
	case strings.HasPrefix(goType, "[]"):
		return "a list, e.g. [a, b]"
	}
	return "a mapping of keys"
}

// fieldAt returns the dotted path of the innermost field whose value is on line (and, for a scalar, reads
// value), or "".
func fieldAt(n *yaml.Node, path string, line int, value string) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if f := fieldAt(v, p, line, value); f != "" {
				return f
			}
			if v.Line == line && (v.Kind != yaml.ScalarNode || v.Value == value) {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if f := fieldAt(c, p, line, value); f != "" {
				return f
			}
			if c.Line == line && c.Kind == yaml.ScalarNode && c.Value == value {
				return p
			}
		}
	}
	return ""
}

type rawSpec struct {
	Name        string              `yaml:"name"`
	Params      map[string]rawParam `yaml:"params"`
	Source      Endpoint            `yaml:"source"`
	Target      Endpoint            `yaml:"target"`
	Incremental *Incremental        `yaml:"incremental"`
	OnError     OnError             `yaml:"on_error"`
	Columns     []ColumnRule        `yaml:"columns"`
	Schema      string              `yaml:"schema"`
}

type rawParam struct {
	Type    string    `yaml:"type"`
	Default yaml.Node `yaml:"default"`
}

func (r *rawSpec) spec(file string, root *yaml.Node) (*Spec, error) {
	s := &Spec{File: file, Name: r.Name, Source: r.Source, Target: r.Target, Incremental: r.Incremental,
		OnError: r.OnError, Columns: r.Columns, Schema: r.Schema, Params: map[string]ParamSpec{},
		lines: map[string]int{"source.dsn": lineOf(root, "source", "dsn"), "target.dsn": lineOf(root, "target", "dsn")}}
	if pn := child(root, "params"); pn != nil {
		for i := 0; i+1 < len(pn.Content); i += 2 {
			s.ParamOrder = append(s.ParamOrder, pn.Content[i].Value)
		}
	}
	for _, name := range s.ParamOrder {
		rp := r.Params[name]
		line := child(child(root, "params"), name).Line
		t, err := parseParamType(rp.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: param %q: %v", ErrInvalid, file, line, name, err)
		}
		p := ParamSpec{Type: t}
		if rp.Default.Kind != 0 {
			if rp.Default.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%w: %s:%d: param %q: default must be a single value", ErrInvalid, file, rp.Default.Line, name)
			}
			d := rp.Default.Value
			p.Default = &d
		}
		s.Params[name] = p
	}
	return s, nil
}

// child returns the value node of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// lineOf returns the line of the value at a dotted path, or of the job itself.
func lineOf(root *yaml.Node, path ...string) int {
	n := root
	for _, p := range path {
		c := child(n, p)
		if c == nil {
			return n.Line
		}
		n = c
	}
	return n.Line
}

func (s *Spec) validate(root *yaml.Node) error {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrInvalid, s.File, line, fmt.Sprintf(format, args...))
	}
	if !jobName.MatchString(s.Name) {
		return bad(lineOf(root, "name"), "name %q: a job needs a name of lower-case letters, digits and underscores", s.Name)
	}
	if err := s.validateSecrets(root, bad); err != nil {
		return err
	}
	if err := s.validateSource(root, bad); err != nil {
		return err
	}
	if err := s.validateTarget(root, bad); err != nil {
		return err
	}
	switch s.Schema {
	case "":
		s.Schema = "strict"
	case "strict", "evolve":
	default:
		return bad(lineOf(root, "schema"), "schema %q: use strict or evolve", s.Schema)
	}
	if s.OnError.MaxBadRows < 0 {
		return bad(lineOf(root, "on_error", "max_bad_rows"), "max_bad_rows must be 0 or more")
	}
	if q := s.OnError.Quarantine; q != "" {
		line := lineOf(root, "on_error", "quarantine")
		if _, err := lake.ParseIdent(q); err != nil {
			return bad(line, "quarantine %q: name a lake table zone.name, e.g. raw.orders__rejected", q)
		}
		if q == s.Target.Table {
			return bad(line, "quarantine %q is the target table: name another table", q)
		}
		if s.OnError.MaxBadRows == 0 {
			return bad(line, "a quarantine needs on_error.max_bad_rows above 0 (otherwise any malformed row fails the run)")
		}
	}
	if s.Incremental != nil {
		if err := s.validateIncremental(root, bad); err != nil {
			return err
		}
	}
	return s.validateColumns(root, bad)
}

// validateIncremental checks the watermark each source type keeps: a column's maximum (postgres), the last
// file by name or by modification time (files), the snapshot read (lake).
func (s *Spec) validateIncremental(root *yaml.Node, bad badFunc) error {
	inc, line := s.Incremental, lineOf(root, "incremental")
	switch s.Source.Type {
	case "postgres":
		if inc.Column == "" || inc.By != "" {
			return bad(line, "a postgres source's incremental names a column: incremental: {column: updated_at}")
		}
		if !strings.Contains(s.Source.Query, "watermark") || len(placeholderNames(s.Source.Query, "watermark")) == 0 {
			return bad(lineOf(root, "source", "query"), "an incremental job's query must use {{ watermark }}, e.g. WHERE %s > {{ watermark }}", inc.Column)
		}
	case "files":
		if (inc.By != "name" && inc.By != "modified") || inc.Column != "" {
			return bad(line, "a files source's incremental reads only new files: incremental: {by: name} (files named after the last one read) or {by: modified} (modified after it)")
		}
	case "lake":
		if inc.By != "snapshot" || inc.Column != "" {
			return bad(line, "a lake source's incremental reads only the rows appended since the snapshot read last: incremental: {by: snapshot}")
		}
		if s.Source.Snapshot != 0 {
			return bad(line, "an incremental lake source reads the latest snapshot: remove snapshot:")
		}
	}
	return nil
}

type badFunc func(line int, format string, args ...any) error

var (
	dollarBrace  = regexp.MustCompile(`\$\{[^}]*\}?`)
	varNameStart = regexp.MustCompile(`^[A-Za-z0-9_]*`)
)

// validateSecrets checks the ${VAR}s of the job: only a dsn reads the environment, and each names a variable.
func (s *Spec) validateSecrets(root *yaml.Node, bad badFunc) error {
	for _, f := range []struct {
		value string
		path  []string
	}{{s.Source.DSN, []string{"source", "dsn"}}, {s.Target.DSN, []string{"target", "dsn"}}} {
		for _, m := range dollarBrace.FindAllString(f.value, -1) {
			if !secretRE.MatchString(m) { // named by its start only: the rest of a DSN may hold a password
				start := "${" + varNameStart.FindString(m[2:])
				return bad(lineOf(root, f.path...), "%s: %q... is not a ${VAR}: write ${NAME} (letters, digits and _, closed by })", strings.Join(f.path, "."), start)
			}
		}
	}
	for _, f := range []struct {
		value string
		path  []string
	}{{s.Source.Path, []string{"source", "path"}}, {s.Source.Query, []string{"source", "query"}}, {s.Source.Table, []string{"source", "table"}},
		{s.Target.Path, []string{"target", "path"}}, {s.Target.Table, []string{"target", "table"}}} {
		if m := secretRE.FindString(f.value); m != "" {
			return bad(lineOf(root, f.path...), "%s: %s: only dsn: reads the environment (for secrets); use a param, {{ name }}, for other values",
				strings.Join(f.path, "."), m)
		}
	}
	return nil
}

func (s *Spec) validateSource(root *yaml.Node, bad badFunc) error {
	src := s.Source
	line := lineOf(root, "source")
	switch src.Type {
	case "files":
		if src.Path == "" {
			return bad(line, "a files source needs path: (a file, a glob or a folder)")
		}
		switch src.Format {
		case "", "csv", "json", "jsonl", "parquet":
		default:
			return bad(lineOf(root, "source", "format"), "format %q: use csv, json or parquet", src.Format)
		}
	case "postgres":
		if src.DSN == "" || src.Query == "" {
			return bad(line, "a postgres source needs dsn: (e.g. ${WAREHOUSE_DSN}) and query:")
		}
	case "lake":
		if src.Table == "" {
			return bad(line, "a lake source needs table: zone.name")
		}
	case "":
		return bad(line, "source needs type: files, postgres or lake")
	default:
		return bad(lineOf(root, "source", "type"), "source type %q: use files, postgres or lake", src.Type)
	}
	if src.Type != "postgres" && (src.DSN != "" || src.Query != "") {
		return bad(line, "dsn and query belong to a postgres source")
	}
	if src.Type != "files" && (src.Path != "" || src.Format != "") {
		return bad(line, "path and format belong to a files source")
	}
	if src.Type != "lake" && (src.Table != "" || src.Env != "" || src.Snapshot != 0) {
		return bad(line, "table, env and snapshot belong to a lake source")
	}
	for _, n := range placeholders(src.Query + " " + src.Path) {
		if _, ok := s.Params[n]; !ok && n != "watermark" {
			return bad(line, "{{ %s }} names no param: declare it under params:", n)
		}
	}
	if src.Type == "files" && len(placeholderNames(src.Path, "watermark")) > 0 {
		return bad(line, "{{ watermark }} is for postgres queries")
	}
	return nil
}

func (s *Spec) validateTarget(root *yaml.Node, bad badFunc) error {
	t := s.Target
	line := lineOf(root, "target")
	modes := []string{"append", "overwrite", "overwrite-partition", "merge"}
	switch t.Type {
	case "lake":
		if t.Table == "" {
			return bad(line, "a lake target needs table: zone.name")
		}
	case "files":
		modes = modes[:2]
		if err := s.validateFilesTarget(root, bad); err != nil {
			return err
		}
	case "postgres":
		modes = []string{"append", "overwrite", "merge"}
		if t.DSN == "" || t.Table == "" {
			return bad(line, "a postgres target needs dsn: (e.g. ${WAREHOUSE_DSN}) and table: (name or schema.name)")
		}
	case "":
		return bad(line, "target needs type: lake, files or postgres")
	default:
		return bad(lineOf(root, "target", "type"), "target type %q: use lake, files or postgres", t.Type)
	}
	if t.Type != "files" && (t.Path != "" || t.Format != "" || t.MaxFileSize != "" || len(t.PartitionBy) > 0) {
		return bad(line, "path, format, max_file_size and partition_by belong to a files target")
	}
	if t.Type != "postgres" && t.DSN != "" {
		return bad(line, "dsn belongs to a postgres target")
	}
	switch {
	case t.Mode == "":
		s.Target.Mode = "append"
	case !contains(modes, t.Mode):
		return bad(lineOf(root, "target", "mode"), "mode %q: a %s target takes %s", t.Mode, t.Type, strings.Join(modes, ", "))
	}
	switch {
	case t.Mode == "merge" && len(t.Key) == 0:
		return bad(lineOf(root, "target", "mode"), "mode merge needs key: the columns that identify a row, e.g. key: [order_id]")
	case t.Mode == "overwrite-partition" && len(t.Partition) == 0:
		return bad(lineOf(root, "target", "mode"), "mode overwrite-partition needs partition: the columns whose values it replaces, e.g. partition: [day]")
	case len(t.Key) > 0 && t.Mode != "merge":
		return bad(lineOf(root, "target", "key"), "key: is for mode merge")
	case len(t.Partition) > 0 && t.Mode != "overwrite-partition":
		return bad(lineOf(root, "target", "partition"), "partition: is for mode overwrite-partition")
	}
	for _, c := range append(append([]string(nil), t.Key...), t.Partition...) {
		if c == "" {
			return bad(line, "an empty column name in key: or partition:")
		}
	}
	if dup := firstDuplicate(append(append([]string(nil), t.Key...), t.Partition...)); dup != "" {
		return bad(line, "column %q is listed twice in key: or partition:", dup)
	}
	return nil
}

func (s *Spec) validateFilesTarget(root *yaml.Node, bad badFunc) error {
	t := &s.Target
	if t.Path == "" {
		return bad(lineOf(root, "target"), "a files target needs path: (a folder, or s3://bucket/prefix)")
	}
	switch t.Format {
	case "":
		t.Format = "parquet"
	case "csv", "jsonl", "parquet":
	default:
		return bad(lineOf(root, "target", "format"), "format %q: a files target writes csv, jsonl or parquet", t.Format)
	}
	if t.MaxFileSize != "" {
		if _, err := ParseSize(t.MaxFileSize); err != nil {
			return bad(lineOf(root, "target", "max_file_size"), "max_file_size: %v", err)
		}
	}
	if dup := firstDuplicate(t.PartitionBy); dup != "" {
		return bad(lineOf(root, "target", "partition_by"), "column %q is listed twice in partition_by:", dup)
	}
	for _, n := range placeholders(t.Path) {
		if _, ok := s.Params[n]; !ok {
			return bad(lineOf(root, "target", "path"), "{{ %s }} names no param: declare it under params:", n)
		}
	}
	return nil
}

// ParseSize parses a size as people write it: 256MB, 1GB, 512KiB, 1048576 (bytes). Units are powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size: write e.g. 256MB, 1GB or a number of bytes", s)
	}
	return n * mult, nil
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, x := range list {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

var castTypes = []string{"string", "int", "long", "float", "double", "boolean", "date", "timestamp", "timestamptz"}

func (s *Spec) validateColumns(root *yaml.Node, bad badFunc) error {
	seen := map[string]bool{}
	cn := child(root, "columns")
	for i, c := range s.Columns {
		line := cn.Content[i].Line
		switch {
		case c.Name == "":
			return bad(line, "a columns entry needs name:")
		case seen[c.Name]:
			return bad(line, "column %q is listed twice", c.Name)
		case c.Drop && (c.Rename != "" || c.Cast != ""):
			return bad(line, "column %q: drop cannot be combined with rename or cast", c.Name)
		case !c.Drop && c.Rename == "" && c.Cast == "":
			return bad(line, "column %q: say rename:, cast: or drop: true", c.Name)
		case c.Cast != "" && !contains(castTypes, c.Cast):
			return bad(line, "column %q: cast %q: use one of %s", c.Name, c.Cast, strings.Join(castTypes, ", "))
		}
		seen[c.Name] = true
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// placeholders returns the distinct {{ name }} names in s, sorted.
func placeholders(s string) []string {
	set := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		set[m[1]] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func placeholderNames(s, name string) []string {
	var out []string
	for _, n := range placeholders(s) {
		if n == name {
			out = append(out, n)
		}
	}
	return out
}
