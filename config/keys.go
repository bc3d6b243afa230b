package config

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// key is one configuration leaf: its dotted YAML path and the struct field it sets.
type key struct {
	path  string
	index []int
	typ   reflect.Type
}

func (k key) env() string { return "STRATA_" + strings.ToUpper(strings.ReplaceAll(k.path, ".", "_")) }

// Keys lists every configuration key as a dotted path, sorted (used by docs and error messages).
func Keys() []string {
	var out []string
	for _, k := range keys() {
		out = append(out, k.path)
	}
	sort.Strings(out)
	return out
}

// EnvName returns the environment variable that overrides a dotted key.
func EnvName(path string) string { return key{path: path}.env() }

func keys() []key { return walk(reflect.TypeOf(Config{}), "", nil) }

func walk(t reflect.Type, prefix string, index []int) []key {
	var out []key
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "-" || name == "" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			out = append(out, walk(f.Type, path, idx)...)
			continue
		}
		out = append(out, key{path: path, index: idx, typ: f.Type})
	}
	return out
}

// loadFile decodes the YAML file strictly: every unknown key is reported with its dotted path and line.
func (c *Config) loadFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%w: read %s: %v", ErrInvalid, file, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
	}
	if len(root.Content) == 0 {
		return nil // empty file: defaults
	}
	if unknown := unknownKeys(root.Content[0], reflect.TypeOf(Config{}), ""); len(unknown) > 0 {
		return fmt.Errorf("%w: %s: %s (valid keys: %s)", ErrInvalid, file, strings.Join(unknown, "; "), strings.Join(Keys(), ", "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
	}
	return nil
}

func unknownKeys(n *yaml.Node, t reflect.Type, prefix string) []string {
	if n.Kind != yaml.MappingNode {
		if prefix == "" {
			return []string{fmt.Sprintf("line %d: the file must be a mapping of keys", n.Line)}
		}
		return nil
	}
	fields := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := strings.Split(f.Tag.Get("yaml"), ",")[0]; name != "" && name != "-" {
			fields[name] = f
		}
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		f, ok := fields[k.Value]
		if !ok {
			out = append(out, fmt.Sprintf("line %d: unknown key %q", k.Line, path))
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			out = append(out, unknownKeys(v, f.Type, path)...)
		}
	}
	return out
}

// envExempt are STRATA_* variables that are not configuration keys (used by tools and tests).
var envExempt = []string{"STRATA_TEST_", "STRATA_BIN", "STRATA_VENV", "STRATA_CONFIG", "STRATA_PROJECT", "STRATA_ENV", "STRATA_HOOK"}

func applyEnv(c *Config, environ []string) error {
	byEnv := map[string]key{}
	for _, k := range keys() {
		byEnv[k.env()] = k
	}
	v := reflect.ValueOf(c).Elem()
	var errs []string
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "STRATA_") || exempt(name) {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("unknown environment variable %s (configuration variables: %s)", name, envNames()))
			continue
		}
		if err := set(v.FieldByIndex(k.index), val); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", name, val, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func exempt(name string) bool {
	for _, p := range envExempt {
		if name == p || (strings.HasSuffix(p, "_") && strings.HasPrefix(name, p)) {
			return true
		}
	}
	return false
}

func envNames() string {
	var out []string
	for _, k := range keys() {
		out = append(out, k.env())
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func set(f reflect.Value, val string) error {
	switch {
	case f.Type() == reflect.TypeOf((*time.Duration)(nil)): // optional duration: unset means the key's default
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("not a duration (e.g. 30s, 5m)")
		}
		f.Set(reflect.ValueOf(&d))
	case f.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("not a duration (e.g. 30s, 5m)")
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(val)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		f.SetInt(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var list []string
		for _, v := range strings.Split(val, ",") {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		f.Set(reflect.ValueOf(list))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("not a boolean (true/false)")
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Template is the strata.yaml written by `strata init`: every key with its default, commented.
func Template(project string) string {
	return fmt.Sprintf(`# Strata project configuration. Every key can be overridden by an environment variable:
# STRATA_ + the upper-cased key path with "_" (meta.dsn -> STRATA_META_DSN). Unknown keys are errors.
project: %s
data_dir: strata-data        # embedded stores live here (relative to this file)
meta:
  dsn: ""                    # "" = SQLite at <data_dir>/meta.db; or postgres://user:pass@host:5432/db
lake:
  warehouse: ""              # "" = <data_dir>/warehouse
engine:
  threads: 0                 # DuckDB threads; 0 = all CPUs
  memory_limit: ""           # e.g. "4GB"; "" = DuckDB default
  hot_table_bytes: 0         # a reused read database copies tables into memory up to this; 0 = 1/8 of RAM, -1 = off
  hot_total_bytes: 0         # all in-memory copies together; 0 = 1/4 of RAM
server:
  addr: 127.0.0.1:8080       # loopback only; another address also needs allow_remote (no authentication yet)
  allow_remote: false
  allowed_hosts: []          # Host names besides localhost and the listen host, e.g. [strata.example.com]
  allowed_origins: []        # browser origins that may call the API, e.g. [https://notebooks.example.com]
  read_header_timeout: 10s
  idle_timeout: 2m
  write_timeout: 30s         # a write to a client that makes no progress this long ends the response
  max_streams: 8             # concurrent row streams; more get 503 with Retry-After
  shutdown_timeout: 30s
  procs: 0                   # Go processors of strata serve; 0 = 4 per CPU (GOMAXPROCS in the environment wins)
sqlwire:                     # PostgreSQL wire endpoint: psql -h 127.0.0.1 -p 5433 -d prod
  addr: 127.0.0.1:5433       # "" = off; another address also needs server.allow_remote (no passwords yet)
  max_message: 16777216      # bytes; a larger client message ends the connection
  tls_cert: ""               # PEM certificate file; with tls_key, SSL requests get TLS (else 'N')
  tls_key: ""                # PEM key file of tls_cert
artifacts:
  root: ""                   # "" = <data_dir>/artifacts; or s3://bucket/prefix
online:                      # online feature store
  backend: embedded          # embedded (a file, no server) or redis
  path: ""                   # embedded: "" = <data_dir>/online.db
  cache_bytes: 134217728     # embedded: memory for rows read (least recently used evicted first); 0 = off
  redis:
    addr: ""                 # redis: host:port or redis://[:password@]host:port/db
    prefix: "strata:"        # every key starts with it
datasets:                    # training-set builds (strata dataset build)
  cache_bytes: 2147483648    # disk for views' source snapshots kept in the join's form (filled by a snapshot's first build); 0 = off
  cache_dir: ""              # "" = <data_dir>/cache/datasets
serving:                     # POST /get-online-features and /push
  env: prod                  # environment of requests without ?env= or X-Strata-Env
  max_entities: 1000         # entity rows per request; more get 413
  max_body_bytes: 16777216   # request body; larger gets 413
  definitions_ttl: 5s        # feature definitions are cached this long: an apply is served within it
  sync_interval: 10s         # the server reloads online rows from the feature tables this often (0 = at start only)
log:
  level: info                # debug, info, warn, error
  format: text               # text or json
`, project)
}
