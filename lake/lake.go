// Package lake is Strata's data lake: zoned Apache Iceberg tables, one Iceberg SQL catalog per environment, in
// the metadata database. It is the only package that imports iceberg-go.
//
// Layout. Each environment is an Iceberg SQL catalog (JDBC layout, tables iceberg_tables and
// iceberg_namespace_properties, with the iceberg_type column, i.e. jdbc.schema-version=V1) whose catalog_name is
// the environment name. Zones are the catalog's namespaces; raw, clean, features and datasets exist in every
// environment. Files live under <warehouse>/<env>/<zone>/<table>/{data,metadata}, so PyIceberg and Spark's
// JdbcCatalog, configured with the same catalog name and warehouse, open the same tables.
//
// Tables are Iceberg format v2, copy-on-write, zstd Parquet, with commit retries and metadata cleanup enabled.
// They carry gc.enabled=false: another environment may share their files (Clone), so only this package, which
// checks every table of every environment before deleting a file, may remove data files (ExpireSnapshots, Drop).
// Tables created elsewhere get the property when Strata writes them, when a clone shares them (both sides) and
// when a release pins them (PublishRefs).
//
// Refs: a Write commits to one branch (main unless WriteOptions.Branch names another), so writes can be staged
// on a branch while other engines keep reading main. PublishCandidate and PublishRefs let package envs make a
// prod table's main branch and release-N tags say what its releases say (write-audit-publish in Iceberg's own
// terms); the policy and its crash repair are described there.
//
// Promises: a Write commits exactly one snapshot or nothing; commits to one table are serialised within a
// process and retried across processes; no operation deletes a file that a snapshot of any table of any
// environment still references; a clone into an existing table keeps that table's snapshots reachable.
package lake

import (
	"context"
	"fmt"
	"github.com/strata-data/strata/errs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/strata-data/strata/meta"
)

// Sentinel errors. Every error this package returns for a caller mistake or a state conflict wraps one of them
// with context (environment, table, what to do).
var (
	ErrNotFound = errs.New(errs.NotFound, "not found")
	ErrExists   = errs.New(errs.Exists, "already exists")
	ErrInvalid  = errs.New(errs.Invalid, "invalid")
	ErrConflict = errs.New(errs.Conflict, "conflict")
)

// Zones every environment has, in lake order.
var defaultZones = []string{"raw", "clean", "features", "datasets"}

// DefaultZones returns the zones EnsureEnv creates in every environment.
func DefaultZones() []string { return append([]string(nil), defaultZones...) }

// Options configure a Lake.
type Options struct {
	// Warehouse is the absolute local directory holding every environment's files (<Warehouse>/<env>/...).
	Warehouse string
	// Hook, when set, is called at named points of long operations so tests can inject faults (cancel a
	// context, stop the process). Points: "write:files-written" (data files written, catalog not yet
	// committed), "write:committed", "expire:committed" and "drop:unregistered" (catalog changed, files not
	// yet deleted), "clone:metadata-written" (metadata file written, catalog not yet changed). It runs on the
	// calling goroutine and must not call back into the Lake.
	Hook func(point string)
}

// Lake gives access to the Iceberg tables of every environment. It is safe for concurrent use; several Lakes
// (in one process or several) may share one metadata database and warehouse.
type Lake struct {
	db        *meta.DB
	warehouse string
	hook      func(string)
	now       func() time.Time // stamps new snapshots; a test may replace it before the first catalog use

	mu       sync.Mutex
	catalogs map[string]*catalog      // by environment
	locks    map[string]chan struct{} // per-table commit locks, by env/zone.name

	// gcMu serialises file garbage collection with clones in this process, so a clone cannot start
	// sharing files that a concurrent collection is about to delete.
	gcMu sync.Mutex
}

// Open returns a Lake over the Iceberg catalogs in db, with files under opts.Warehouse (created if missing).
// It creates the catalog tables if they do not exist yet (and adds the iceberg_type column to a legacy catalog).
// The caller keeps ownership of db; a Lake holds no other resources and needs no Close.
func Open(ctx context.Context, db *meta.DB, opts Options) (*Lake, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: lake.Open needs a metadata database", ErrInvalid)
	}
	if opts.Warehouse == "" || !filepath.IsAbs(opts.Warehouse) {
		return nil, fmt.Errorf("%w: warehouse %q must be an absolute directory path", ErrInvalid, opts.Warehouse)
	}
	wh := filepath.Clean(opts.Warehouse)
	if err := os.MkdirAll(wh, 0o755); err != nil {
		return nil, fmt.Errorf("create warehouse directory: %w", err)
	}
	l := &Lake{
		db:        db,
		warehouse: wh,
		hook:      opts.Hook,
		now:       time.Now,
		catalogs:  map[string]*catalog{},
		locks:     map[string]chan struct{}{},
	}
	if err := l.initCatalogTables(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Warehouse returns the absolute warehouse root directory.
func (l *Lake) Warehouse() string { return l.warehouse }

// Hook calls Options.Hook with point, if a hook is set.
func (l *Lake) Hook(point string) {
	if l.hook != nil {
		l.hook(point)
	}
}

// lockTable serialises commits to one table within this process. It waits until the lock is free or ctx is
// done, and returns the unlock function.
func (l *Lake) lockTable(ctx context.Context, env string, id Ident) (func(), error) {
	key := env + "/" + id.String()
	l.mu.Lock()
	ch, ok := l.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[key] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the write lock on %s in %s: %w", id, env, context.Cause(ctx))
	}
}

// Envs lists the environments (catalog names) known in the metadata database, sorted.
func (l *Lake) Envs(ctx context.Context) ([]string, error) {
	rows, err := l.db.SQL.QueryContext(ctx,
		`SELECT catalog_name FROM iceberg_namespace_properties UNION SELECT catalog_name FROM iceberg_tables`)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer rows.Close()
	var envs []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list environments: %w", err)
		}
		envs = append(envs, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	sort.Strings(envs)
	return envs, nil
}

// envNotFound builds the error for an unknown environment, listing the known ones.
func (l *Lake) envNotFound(ctx context.Context, env string) error {
	envs, _ := l.Envs(ctx)
	known := "none yet"
	if len(envs) > 0 {
		known = strings.Join(envs, ", ")
	}
	return fmt.Errorf("environment %q: %w (known environments: %s)",
		env, ErrNotFound, known)
}
