package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"

	"github.com/strata-data/strata/meta"
)

// catalogLockKey is the PostgreSQL advisory lock that serialises creation of the catalog tables.
const catalogLockKey = 7472

// catalog is one environment's SQL catalog, wrapped so that concurrent commits retry (iceberg-spike.md §3.1).
//
// iceberg-go's SQL catalog checks commit requirements client-side and returns a plain error when another writer
// moved the branch. Table.doCommit only refreshes and replays on table.ErrCommitFailed, so CommitTable wraps
// such failures. Tables loaded or created through the wrapper commit through it too.
type catalog struct {
	*sqlcat.Catalog
	env string
	now func() time.Time // the clock snapshots are stamped with
}

func (c *catalog) bind(t *table.Table) *table.Table {
	return table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), t.FS, c)
}

// LoadTable loads a table that commits through the wrapper.
func (c *catalog) LoadTable(ctx context.Context, id table.Identifier) (*table.Table, error) {
	t, err := c.Catalog.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.bind(t), nil
}

// CreateTable creates a table that commits through the wrapper.
func (c *catalog) CreateTable(ctx context.Context, id table.Identifier, sc *iceberg.Schema, opts ...icecat.CreateTableOpt) (*table.Table, error) {
	t, err := c.Catalog.CreateTable(ctx, id, sc, opts...)
	if err != nil {
		return nil, err
	}
	return c.bind(t), nil
}

// CommitTable commits and marks failures that a refresh-and-replay can resolve as table.ErrCommitFailed.
//
// A snapshot it adds is stamped with the time of this attempt, not the time it was built: iceberg-go replays a
// commit that lost a race with the snapshot built before its first attempt, and refuses one more than a minute
// older than the table's last snapshot, which a replay after a long wait (or a peer whose clock runs ahead) is.
// A snapshot still older than the table's last update is stamped with that update's time, so the snapshot log
// stays in order.
func (c *catalog) CommitTable(ctx context.Context, id table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	updates, err := stamped(updates, c.now().UnixMilli())
	if err != nil {
		return nil, "", err
	}
	m, loc, err := c.Catalog.CommitTable(ctx, id, reqs, updates)
	if err != nil && strings.Contains(err.Error(), "invalid snapshot timestamp") {
		if fresh, lerr := c.Catalog.LoadTable(ctx, id); lerr == nil {
			if updates, err = stamped(updates, fresh.Metadata().LastUpdatedMillis()); err != nil {
				return nil, "", err
			}
			m, loc, err = c.Catalog.CommitTable(ctx, id, reqs, updates)
		}
	}
	if err == nil || errors.Is(err, table.ErrCommitFailed) ||
		!strings.Contains(strings.ToLower(err.Error()), "requirement failed") {
		return m, loc, err
	}
	if c.onlyBranchMoved(ctx, id, reqs) {
		err = fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
	}
	return m, loc, err
}

// stamped returns updates with every added snapshot's timestamp raised to at least ms (the updates given are
// not changed). Snapshots are re-read from their JSON form, as a REST catalog would receive them.
func stamped(updates []table.Update, ms int64) ([]table.Update, error) {
	out := slices.Clone(updates)
	for i, u := range out {
		if u.Action() != table.UpdateAddSnapshot {
			continue
		}
		raw, err := json.Marshal(u)
		if err != nil {
			return nil, fmt.Errorf("restamp snapshot: %w", err)
		}
		var add struct {
			Snapshot *table.Snapshot `json:"snapshot"`
		}
		if err := json.Unmarshal(raw, &add); err != nil || add.Snapshot == nil {
			return nil, fmt.Errorf("restamp snapshot: %s: %v", raw, err)
		}
		if add.Snapshot.TimestampMs < ms {
			add.Snapshot.TimestampMs = ms
			out[i] = table.NewAddSnapshotUpdate(add.Snapshot)
		}
	}
	return out, nil
}

// onlyBranchMoved reports whether every requirement that fails against the table's fresh state is a branch
// head assertion: those the replay rewrites. A schema or UUID requirement that fails cannot be fixed by
// retrying, so it stays a plain (terminal) error.
func (c *catalog) onlyBranchMoved(ctx context.Context, id table.Identifier, reqs []table.Requirement) bool {
	fresh, err := c.Catalog.LoadTable(ctx, id)
	if err != nil {
		return false
	}
	for _, r := range reqs {
		if r.Validate(fresh.Metadata()) != nil && r.GetType() != "assert-ref-snapshot-id" {
			return false
		}
	}
	return true
}

// initCatalogTables creates iceberg_tables / iceberg_namespace_properties if needed, with the iceberg_type
// column (a legacy V0 catalog gets it added). On PostgreSQL an advisory lock keeps concurrent first starts of
// several processes from racing on CREATE TABLE.
func (l *Lake) initCatalogTables(ctx context.Context) error {
	if l.db.Dialect == meta.Postgres {
		conn, err := l.db.SQL.Conn(ctx)
		if err != nil {
			return fmt.Errorf("create the Iceberg catalog tables: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", catalogLockKey); err != nil {
			return fmt.Errorf("lock for creating the Iceberg catalog tables: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", catalogLockKey)
		}()
	}
	c, err := sqlcat.NewCatalog("strata", l.db.SQL, l.dialect(), iceberg.Properties{
		"init_catalog_tables":   "true",
		sqlcat.SchemaVersionKey: sqlcat.SchemaVersionV1,
		"warehouse":             fileURL(l.warehouse),
	})
	if err != nil {
		return fmt.Errorf("create the Iceberg catalog tables: %w", err)
	}
	return c.Close()
}

func (l *Lake) dialect() sqlcat.SupportedDialect {
	if l.db.Dialect == meta.Postgres {
		return sqlcat.Postgres
	}
	return sqlcat.SQLite
}

// catalogFor returns env's catalog, creating the handle on first use. It does not check that env exists.
func (l *Lake) catalogFor(env string) (*catalog, error) {
	if err := ValidateEnv(env); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.catalogs[env]; ok {
		return c, nil
	}
	c, err := sqlcat.NewCatalog(env, l.db.SQL, l.dialect(), iceberg.Properties{
		"init_catalog_tables":   "false",
		sqlcat.SchemaVersionKey: sqlcat.SchemaVersionV1,
		"warehouse":             fileURL(l.envDir(env)),
	})
	if err != nil {
		return nil, fmt.Errorf("open the Iceberg catalog of environment %q: %w", env, err)
	}
	wrapped := &catalog{Catalog: c, env: env, now: func() time.Time { return l.now() }}
	l.catalogs[env] = wrapped
	return wrapped, nil
}

// existingCatalog returns env's catalog, or ErrNotFound if the environment has no zones.
func (l *Lake) existingCatalog(ctx context.Context, env string) (*catalog, error) {
	c, err := l.catalogFor(env)
	if err != nil {
		return nil, err
	}
	ok, err := l.envExists(ctx, env)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, l.envNotFound(ctx, env)
	}
	return c, nil
}

func (l *Lake) envExists(ctx context.Context, env string) (bool, error) {
	var n int
	err := l.db.SQL.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM iceberg_namespace_properties WHERE catalog_name = $1`, env).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up environment %q: %w", env, err)
	}
	return n > 0, nil
}

// loadTable loads env/id, mapping a missing zone or table to ErrNotFound with a message that says which.
func (l *Lake) loadTable(ctx context.Context, c *catalog, id Ident) (*table.Table, error) {
	t, err := c.LoadTable(ctx, table.Identifier{id.Zone, id.Name})
	if err == nil {
		return t, nil
	}
	return nil, l.tableError(ctx, c.env, id, err)
}

// tableError maps iceberg-go errors about env/id to this package's sentinels.
func (l *Lake) tableError(ctx context.Context, env string, id Ident, err error) error {
	switch {
	case errors.Is(err, icecat.ErrNoSuchTable), errors.Is(err, icecat.ErrNoSuchNamespace):
		if ok, _ := l.zoneExists(ctx, env, id.Zone); !ok {
			return l.zoneNotFound(ctx, env, id.Zone)
		}
		return fmt.Errorf("table %q in environment %q: %w", id.String(), env, ErrNotFound)
	case errors.Is(err, icecat.ErrTableAlreadyExists):
		return fmt.Errorf("table %q in environment %q: %w", id.String(), env, ErrExists)
	case errors.Is(err, table.ErrCommitFailed), errors.Is(err, table.ErrCommitDiverged):
		return fmt.Errorf("table %q in environment %q changed concurrently: %w: %v (retry the operation)",
			id.String(), env, ErrConflict, err)
	case isRequirementFailure(err):
		return fmt.Errorf("table %q in environment %q was changed by another writer: %w: %v (retry the operation)",
			id.String(), env, ErrConflict, err)
	}
	return fmt.Errorf("table %q in environment %q: %w", id.String(), env, err)
}

func isRequirementFailure(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "requirement failed")
}

func (l *Lake) zoneExists(ctx context.Context, env, zone string) (bool, error) {
	var n int
	err := l.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM iceberg_namespace_properties
		WHERE catalog_name = $1 AND namespace = $2`, env, zone).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up zone %q of environment %q: %w", zone, env, err)
	}
	return n > 0, nil
}

func (l *Lake) zoneNotFound(ctx context.Context, env, zone string) error {
	if ok, _ := l.envExists(ctx, env); !ok {
		return l.envNotFound(ctx, env)
	}
	zones, _ := l.Zones(ctx, env)
	return fmt.Errorf("zone %q in environment %q: %w (zones: %s)", zone, env, ErrNotFound, strings.Join(zones, ", "))
}

// registerTable points env/id at metadataLoc in one transaction, replacing any existing entry (whose files are
// left alone). This is RegisterTable, which iceberg-go's SQL catalog lacks, written against the JDBC layout.
func (l *Lake) registerTable(ctx context.Context, env string, id Ident, metadataLoc string) error {
	return l.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM iceberg_tables
			WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`, env, id.Zone, id.Name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO iceberg_tables
			(catalog_name, table_namespace, table_name, iceberg_type, metadata_location, previous_metadata_location)
			VALUES ($1, $2, $3, $4, $5, NULL)`, env, id.Zone, id.Name, sqlcat.TableType, metadataLoc)
		return err
	})
}

// swapTable points env/id at newLoc if it still points at oldLoc (compare-and-swap, like a catalog commit);
// errCloneRace when another writer moved it first.
func (l *Lake) swapTable(ctx context.Context, env string, id Ident, oldLoc, newLoc string) error {
	res, err := l.db.SQL.ExecContext(ctx, `UPDATE iceberg_tables SET metadata_location = $1, previous_metadata_location = $2
		WHERE catalog_name = $3 AND table_namespace = $4 AND table_name = $5 AND metadata_location = $2`,
		newLoc, oldLoc, env, id.Zone, id.Name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errCloneRace
	}
	return nil
}

// unregisterIfUnchanged removes env/id's catalog entry only if it still points at metadataLoc.
func (l *Lake) unregisterIfUnchanged(ctx context.Context, env string, id Ident, metadataLoc string) (bool, error) {
	res, err := l.db.SQL.ExecContext(ctx, `DELETE FROM iceberg_tables WHERE catalog_name = $1
		AND table_namespace = $2 AND table_name = $3 AND metadata_location = $4`, env, id.Zone, id.Name, metadataLoc)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// envDir is the directory of env's files; zoneDir and tableDir nest below it.
func (l *Lake) envDir(env string) string        { return filepath.Join(l.warehouse, env) }
func (l *Lake) zoneDir(env, zone string) string { return filepath.Join(l.warehouse, env, zone) }
func (l *Lake) tableDir(env string, id Ident) string {
	return filepath.Join(l.warehouse, env, id.Zone, id.Name)
}

// fileURL turns an absolute local path into a file:// URL.
func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// localPath turns a file:// URL (or a plain absolute path) into a local path; ok is false for other schemes.
func localPath(loc string) (string, bool) {
	if strings.HasPrefix(loc, "/") {
		return filepath.Clean(loc), true
	}
	u, err := url.Parse(loc)
	if err != nil || !strings.EqualFold(u.Scheme, "file") || (u.Host != "" && u.Host != "localhost") {
		return "", false
	}
	if u.Path == "" {
		return "", false
	}
	return filepath.Clean(filepath.FromSlash(u.Path)), true
}
