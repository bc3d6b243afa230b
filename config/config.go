// Package config loads Strata's typed configuration: defaults, then strata.yaml in the project directory, then
// STRATA_* environment variables. Unknown keys in the file and unknown STRATA_* variables are errors that name the
// key, so a typo never silently falls back to a default.
package config

import (
	"github.com/strata-data/strata/errs"

	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the project configuration file looked up in the project directory.
const FileName = "strata.yaml"

// ErrInvalid marks configuration errors (bad file, unknown key, bad value).
var ErrInvalid = errs.New(errs.Invalid, "invalid configuration")

// Config is the whole configuration. Field tags name the YAML key; the environment variable is STRATA_ plus the
// upper-cased dotted path with "_" (meta.dsn → STRATA_META_DSN).
type Config struct {
	// Project is a display name for the project.
	Project string `yaml:"project"`
	// DataDir holds the embedded stores (SQLite metadata, warehouse, artifacts); relative to the project dir.
	DataDir   string    `yaml:"data_dir"`
	Meta      Meta      `yaml:"meta"`
	Lake      Lake      `yaml:"lake"`
	Engine    Engine    `yaml:"engine"`
	Server    Server    `yaml:"server"`
	SQLWire   SQLWire   `yaml:"sqlwire"`
	Artifacts Artifacts `yaml:"artifacts"`
	Auth      Auth      `yaml:"auth"`
	Online    Online    `yaml:"online"`
	Serving   Serving   `yaml:"serving"`
	Datasets  Datasets  `yaml:"datasets"`
	Log       Log       `yaml:"log"`

	// Dir is the project directory (where strata.yaml is or would be). Not a key.
	Dir string `yaml:"-"`
	// File is the loaded configuration file, "" when none was found. Not a key.
	File string `yaml:"-"`
}

// Meta configures the metadata database.
type Meta struct {
	// DSN is "postgres://..." for PostgreSQL or a SQLite file path; empty = <data_dir>/meta.db.
	DSN string `yaml:"dsn"`
}

// Lake configures the Iceberg warehouse.
type Lake struct {
	// Warehouse is the root directory of table files; empty = <data_dir>/warehouse.
	Warehouse string `yaml:"warehouse"`
}

// Engine configures the embedded DuckDB engine.
type Engine struct {
	// Threads is DuckDB's worker thread count; 0 = number of CPUs.
	Threads int `yaml:"threads"`
	// MemoryLimit caps DuckDB's memory, e.g. "4GB"; empty = DuckDB's default (80% of RAM).
	MemoryLimit string `yaml:"memory_limit"`
	// HotTableBytes bounds the data a reused pooled database copies into memory (so repeated reads of an
	// unchanged snapshot stop decoding Parquet); 0 = 1/8 of the memory the process may use (RAM or cgroup
	// limit; 256 MiB where it cannot be read), negative = never copy. Load resolves 0 (memory.go).
	HotTableBytes int64 `yaml:"hot_table_bytes"`
	// HotTotalBytes bounds the in-memory copies of all pooled databases together; 0 = 1/4 of that memory
	// (1 GiB where it cannot be read), and never less than HotTableBytes.
	HotTotalBytes int64 `yaml:"hot_total_bytes"`
}

// Server configures `strata serve`.
type Server struct {
	// Addr is the HTTP listen address; loopback by default, so only this machine's users reach it.
	Addr string `yaml:"addr"`
	// AllowRemote permits listening on an address other machines reach: their requests must authenticate
	// (package auth), but travel without TLS.
	AllowRemote bool `yaml:"allow_remote"`
	// AllowedHosts are further Host header values the server answers (besides localhost, 127.0.0.1, ::1 and
	// the listen host): names, "*.example.com", or "*". Requests for other hosts are refused (DNS rebinding).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowedOrigins are browser origins ("https://app.example.com", or "*") that may call the API from their
	// pages, including POST/PUT/PATCH/DELETE; other origins' state-changing requests are refused.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteTimeout is how long one write to a client may make no progress before the response is abandoned
	// and what it held (a row stream's query) is freed.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxStreams caps concurrent row streams (GET .../rows); more get 503 with Retry-After.
	MaxStreams int `yaml:"max_streams"`
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Procs is how many Go processors (GOMAXPROCS) `strata serve` runs with; 0 = 4 per CPU the process may use.
	// GOMAXPROCS in the environment overrides it.
	Procs int `yaml:"procs"`
}

// SQLWire configures the PostgreSQL-wire endpoint that `strata serve` also starts.
type SQLWire struct {
	// Addr is the PostgreSQL listen address; loopback by default. Another address also needs
	// server.allow_remote (clients there always need a password). "" turns the endpoint off.
	Addr string `yaml:"addr"`
	// MaxMessage caps one client message in bytes; a larger one ends the connection.
	MaxMessage int `yaml:"max_message"`
	// TLSCert and TLSKey are PEM files (a certificate chain and its key; relative to the project dir); set
	// both and clients that ask for SSL get TLS, otherwise they are told 'N' and go on in plain text.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// Auth configures users and tokens (`strata user`, `strata token`) and how `strata serve` checks them.
type Auth struct {
	// ScramIterations is the PBKDF2 iteration count of new SCRAM-SHA-256 password verifiers (≥ 4096).
	ScramIterations int `yaml:"scram_iterations"`
	// CacheTTL is how long the server reuses a verified token or password and the user's roles; a change made
	// by the CLI (revoked token, removed user) takes effect in a running server within this time.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// Artifacts configures MLflow artifact storage.
type Artifacts struct {
	// Root is a directory or s3://bucket/prefix URI; empty = <data_dir>/artifacts.
	Root string `yaml:"root"`
}

// Online configures the online feature store.
type Online struct {
	// Backend is "embedded" (a file on local disk, no server) or "redis".
	Backend string `yaml:"backend"`
	// Path is the embedded store's file; empty = <data_dir>/online.db.
	Path string `yaml:"path"`
	// CacheBytes bounds the embedded store's in-memory cache of the rows lookups read (least recently used
	// ones are evicted first, approximately); 0 turns it off.
	CacheBytes int64       `yaml:"cache_bytes"`
	Redis      OnlineRedis `yaml:"redis"`
}

// DefaultOnlineCacheBytes is online.cache_bytes when unset: 128 MiB.
const DefaultOnlineCacheBytes = 128 << 20

// OnlineRedis configures the Redis online store.
type OnlineRedis struct {
	// Addr is host:port or redis://[:password@]host:port/db.
	Addr string `yaml:"addr"`
	// Prefix starts every key Strata writes, so one Redis can hold several projects.
	Prefix string `yaml:"prefix"`
}

// Datasets configures training-set builds.
type Datasets struct {
	// CacheBytes bounds the training-set cache on disk: per snapshot of a view's source table, its rows in
	// the form a point-in-time join reads fastest (filled by a snapshot's first build, least recently used
	// entries removed first); 0 turns it off.
	CacheBytes int64 `yaml:"cache_bytes"`
	// CacheDir holds the cache's files; empty = <data_dir>/cache/datasets.
	CacheDir string `yaml:"cache_dir"`
}

// DefaultDatasetCacheBytes is datasets.cache_bytes when unset: 2 GiB.
const DefaultDatasetCacheBytes = 2 << 30

// Serving configures online feature serving (POST /get-online-features, POST /push).
type Serving struct {
	// Env is the environment of requests that name none (?env= or X-Strata-Env).
	Env string `yaml:"env"`
	// MaxEntities caps the entity rows of one request (413 above).
	MaxEntities int `yaml:"max_entities"`
	// MaxBodyBytes caps a request body (413 above).
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// DefinitionsTTL is how long serving caches an environment's feature definitions: an apply is served
	// within this time.
	DefinitionsTTL time.Duration `yaml:"definitions_ttl"`
	// SyncInterval is how often the server reloads the online store from the offline feature tables (nil =
	// 10s; 0 = only at start). Use Sync.
	SyncInterval *time.Duration `yaml:"sync_interval"`
}

// Sync returns serving.sync_interval: 10s when unset.
func (s Serving) Sync() time.Duration {
	if s.SyncInterval == nil {
		return 10 * time.Second
	}
	return *s.SyncInterval
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default returns the embedded defaults for a project in dir.
func Default(dir string) *Config {
	return &Config{
		DataDir: "strata-data",
		Server: Server{Addr: "127.0.0.1:8080", ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			WriteTimeout: 30 * time.Second, MaxStreams: 8, ShutdownTimeout: 30 * time.Second},
		SQLWire:  SQLWire{Addr: "127.0.0.1:5433", MaxMessage: 16 << 20},
		Auth:     Auth{ScramIterations: 4096, CacheTTL: 2 * time.Second},
		Online:   Online{Backend: "embedded", CacheBytes: DefaultOnlineCacheBytes, Redis: OnlineRedis{Prefix: "strata:"}},
		Datasets: Datasets{CacheBytes: DefaultDatasetCacheBytes},
		Serving:  Serving{Env: "prod", MaxEntities: 1000, MaxBodyBytes: 16 << 20, DefinitionsTTL: 5 * time.Second},
		Log:      Log{Level: "info", Format: "text"},
		Dir:      dir,
	}
}

// Load reads dir/strata.yaml if it exists (file, if non-empty, names the file explicitly and must exist), then
// applies the STRATA_* variables from environ (os.Environ() form), then validates and resolves paths.
func Load(dir, file string, environ []string) (*Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := Default(abs)
	if file == "" {
		if _, err := os.Stat(filepath.Join(abs, FileName)); err == nil {
			file = filepath.Join(abs, FileName)
		}
	} else if !filepath.IsAbs(file) {
		file = filepath.Join(abs, file)
	}
	if file != "" {
		if err := c.loadFile(file); err != nil {
			return nil, err
		}
		c.File = file
		c.Dir = filepath.Dir(file)
	}
	if err := applyEnv(c, environ); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.resolve()
	return c, nil
}

func (c *Config) validate() error {
	var problems []string
	if c.DataDir == "" {
		problems = append(problems, "data_dir: must not be empty")
	}
	if c.Server.Addr == "" {
		problems = append(problems, "server.addr: must not be empty (e.g. \"127.0.0.1:8080\")")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
		eg  string
	}{
		{"server.read_header_timeout", c.Server.ReadHeaderTimeout, "10s"},
		{"server.idle_timeout", c.Server.IdleTimeout, "2m"},
		{"server.write_timeout", c.Server.WriteTimeout, "30s"},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout, "30s"},
		{"serving.definitions_ttl", c.Serving.DefinitionsTTL, "5s"},
	} {
		if d.v <= 0 {
			problems = append(problems, fmt.Sprintf("%s: must be positive (e.g. %s)", d.key, d.eg))
		}
	}
	if c.Server.MaxStreams < 1 {
		problems = append(problems, "server.max_streams: must be ≥ 1 (e.g. 8)")
	}
	if c.Server.Procs < 0 {
		problems = append(problems, "server.procs: must be ≥ 0 (0 = 4 per CPU; or a count such as 8)")
	}
	if c.SQLWire.MaxMessage < 1024 {
		problems = append(problems, "sqlwire.max_message: must be ≥ 1024 bytes (e.g. 16777216)")
	}
	if c.Datasets.CacheBytes < 0 {
		problems = append(problems, fmt.Sprintf("datasets.cache_bytes: %d is negative: give the training-set cache's size in bytes (default %d = 2 GiB), or 0 to turn it off", c.Datasets.CacheBytes, DefaultDatasetCacheBytes))
	}
	if (c.SQLWire.TLSCert == "") != (c.SQLWire.TLSKey == "") {
		problems = append(problems, "sqlwire.tls_cert and sqlwire.tls_key: set both (PEM certificate and key files) or neither")
	}
	problems = append(problems, emptyEntries("server.allowed_hosts", c.Server.AllowedHosts)...)
	problems = append(problems, emptyEntries("server.allowed_origins", c.Server.AllowedOrigins)...)
	if c.Auth.ScramIterations < 4096 {
		problems = append(problems, "auth.scram_iterations: must be ≥ 4096 (RFC 7677)")
	}
	if c.Auth.CacheTTL < 0 {
		problems = append(problems, "auth.cache_ttl: must be ≥ 0 (e.g. 2s; 0 turns the cache off)")
	}
	problems = append(problems, c.Online.problems()...)
	problems = append(problems, c.Serving.problems()...)
	if c.Engine.Threads < 0 {
		problems = append(problems, "engine.threads: must be ≥ 0 (0 = all CPUs)")
	}
	if c.Engine.HotTotalBytes < 0 {
		problems = append(problems, "engine.hot_total_bytes: must be ≥ 0 (0 = 1/4 of memory; set engine.hot_table_bytes to -1 to turn in-memory copies off)")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		problems = append(problems, fmt.Sprintf("log.format: %q is not one of text, json", c.Log.Format))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

func emptyEntries(key string, list []string) []string {
	for _, v := range list {
		if strings.TrimSpace(v) == "" {
			return []string{key + ": has an empty entry"}
		}
	}
	return nil
}

// resolve turns relative paths into absolute ones under the project dir and fills derived defaults.
func (c *Config) resolve() {
	if !filepath.IsAbs(c.DataDir) {
		c.DataDir = filepath.Join(c.Dir, c.DataDir)
	}
	if c.Meta.DSN == "" {
		c.Meta.DSN = filepath.Join(c.DataDir, "meta.db")
	}
	if c.Lake.Warehouse == "" {
		c.Lake.Warehouse = filepath.Join(c.DataDir, "warehouse")
	} else if !filepath.IsAbs(c.Lake.Warehouse) {
		c.Lake.Warehouse = filepath.Join(c.Dir, c.Lake.Warehouse)
	}
	for _, p := range []*string{&c.SQLWire.TLSCert, &c.SQLWire.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Dir, *p)
		}
	}
	if c.Datasets.CacheDir == "" {
		c.Datasets.CacheDir = filepath.Join(c.DataDir, "cache", "datasets")
	} else if !filepath.IsAbs(c.Datasets.CacheDir) {
		c.Datasets.CacheDir = filepath.Join(c.Dir, c.Datasets.CacheDir)
	}
	if c.Online.Path == "" {
		c.Online.Path = filepath.Join(c.DataDir, "online.db")
	} else if !filepath.IsAbs(c.Online.Path) {
		c.Online.Path = filepath.Join(c.Dir, c.Online.Path)
	}
	c.Engine.resolveHot(os.ReadFile)
	if c.Artifacts.Root == "" {
		c.Artifacts.Root = filepath.Join(c.DataDir, "artifacts")
	} else if !strings.Contains(c.Artifacts.Root, "://") && !filepath.IsAbs(c.Artifacts.Root) {
		c.Artifacts.Root = filepath.Join(c.Dir, c.Artifacts.Root)
	}
}

func (o Online) problems() []string {
	if o.CacheBytes < 0 {
		return []string{fmt.Sprintf("online.cache_bytes: %d is negative: give the cache's size in bytes (default %d = 128 MiB), or 0 to turn it off", o.CacheBytes, DefaultOnlineCacheBytes)}
	}
	switch o.Backend {
	case "embedded":
	case "redis":
		if o.Redis.Addr == "" {
			return []string{"online.redis.addr: must be set when online.backend is redis (e.g. 127.0.0.1:6379)"}
		}
	default:
		return []string{fmt.Sprintf("online.backend: %q is not one of embedded, redis", o.Backend)}
	}
	return nil
}

func (s Serving) problems() []string {
	var out []string
	if s.Env == "" {
		out = append(out, "serving.env: must not be empty (e.g. prod)")
	}
	if s.MaxEntities < 1 {
		out = append(out, "serving.max_entities: must be ≥ 1 (e.g. 1000)")
	}
	if s.MaxBodyBytes < 1024 {
		out = append(out, "serving.max_body_bytes: must be ≥ 1024 bytes (e.g. 16777216)")
	}
	if s.Sync() < 0 {
		out = append(out, "serving.sync_interval: must be ≥ 0 (e.g. 10s; 0 = load the online store only at start)")
	}
	return out
}
