//go:build duckdb_arrow

package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// Setup is a script a caller runs in a query's database before the query, such as sqlwire's emulated
// PostgreSQL catalog (tables of PostgreSQL's catalog rows and macros over them). A database set up with it is
// pooled like a plain read's (see QueryOptions.Reuse): keyed by Key and the tables' views, reused by the
// next query with the same key, bounded by Options.Pool and closed after Options.PoolIdle unused.
type Setup struct {
	// Key identifies the script's content exactly: two setups with the same Key must create the same
	// objects with the same rows. The caller derives it from everything the script shows (a digest), so a
	// change of what the script would show changes the key and no pooled database is ever stale.
	Key string
	// Script returns the statements; QueryInSetup calls it only when no pooled database has Key.
	Script func() (string, error)
	// Base, when set, holds the objects every database set up this way shares whatever its Key (for the
	// catalog: PostgreSQL's built-in rows and the functions over them). The engine builds it once into a
	// read-only database file and each database set up with it attaches that file before Script runs, its
	// objects found after the database's own (search_path main, then the base): a new Key then costs only
	// what Script creates. Script's objects may use the base's; the base's macros see Script's tables (a
	// macro's names are resolved where it is called), its views only its own.
	Base *Base
}

// Base is the shared part of setups (Setup.Base): a script run once per engine (per process and temp
// directory) into a database file that setups attach read-only as baseAlias.
type Base struct {
	// Name identifies Script's content exactly (callers put a digest of it in the name): the file is built
	// once per Name.
	Name   string
	Script func() string
}

// baseAlias is the name under which a setup's database attaches its base.
const baseAlias = "strata_base"

// baseFile is one built base: its path once built.
type baseFile struct {
	mu   sync.Mutex
	path string
}

// bases are the built base files by temp directory and name. They live as long as the process (a few hundred
// kB each); their names hold the digest of their content and DuckDB's version, so a later process with the
// same binary attaches the file an earlier one built.
var bases sync.Map // string -> *baseFile

// basePath returns the base's database file, building it on first use: into a private name, renamed into
// place only once complete, so a crash or a concurrent builder in another process never leaves a partial
// file under the final name.
func (e *Engine) basePath(ctx context.Context, b *Base) (string, error) {
	v, _ := bases.LoadOrStore(e.opts.TempDir+"\x00"+b.Name, &baseFile{})
	f := v.(*baseFile)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path != "" {
		if _, err := os.Stat(f.path); err == nil {
			return f.path, nil
		}
		f.path = "" // removed meanwhile (a temp directory cleaner): build it again
	}
	script := b.Script()
	sum := sha256.Sum256([]byte(duckdb.LibraryVersion() + "\x00" + b.Name + "\x00" + script))
	path := filepath.Join(e.opts.TempDir, "base-"+hex.EncodeToString(sum[:12])+".duckdb")
	if _, err := os.Stat(path); err == nil {
		f.path = path
		return path, nil
	}
	tmp, err := os.CreateTemp(e.opts.TempDir, "base-*.building")
	if err != nil {
		return "", fmt.Errorf("engine: build base %s: %w (set a writable engine temp dir)", b.Name, err)
	}
	_ = tmp.Close()
	_ = os.Remove(tmp.Name()) // DuckDB creates the file itself
	defer os.Remove(tmp.Name())
	defer os.Remove(tmp.Name() + ".wal")
	in, err := e.open(ctx)
	if err != nil {
		return "", err
	}
	defer e.retire(in) // it attached a file: never a spare or pooled database
	err = in.exec(ctx, "ATTACH "+sqlString(tmp.Name())+" AS strata_base_build; USE strata_base_build;\n"+script+
		"\nUSE memory; DETACH strata_base_build")
	if err != nil {
		return "", fmt.Errorf("engine: build base %s: %w", b.Name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("engine: build base %s: %w", b.Name, err)
	}
	f.path = path
	return path, nil
}

// attachBase returns the statements that attach setup's base, or "" when it has none.
func (e *Engine) attachBase(ctx context.Context, setup Setup) (string, error) {
	if setup.Base == nil {
		return "", nil
	}
	path, err := e.basePath(ctx, setup.Base)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("ATTACH %s AS %s (READ_ONLY);\nSET search_path = 'main,%s.main';\n", sqlString(path), baseAlias, baseAlias), nil
}

// QueryInSetup runs sql, one read-only statement (SELECT, or PREPARE/EXECUTE of one), in a database where
// setup's script and the tables' views exist, and streams its result as Query does.
//
// The database comes from the pool when one was sealed with the same setup key and tables, and goes back
// to it under the pool's rules (Engine.recycle): only when every statement the query ran was a SELECT,
// PREPARE or EXECUTE, its result was read to the end and nothing interrupted it. So a statement that
// creates, replaces or drops anything (CREATE TEMP MACRO, CREATE OR REPLACE TABLE, ...) or changes a
// setting (which the sealed database refuses anyway: lock_configuration) retires its database. And since
// the setup's objects are tables a PREPAREd INSERT could change unseen, the query runs in a transaction that
// is rolled back before the database goes back to the pool: whatever it changed is never seen by another
// query. With a negative Options.Pool every query gets a fresh database.
func (e *Engine) QueryInSetup(ctx context.Context, setup Setup, sql string, tables []Table) (*Result, error) {
	if setup.Key == "" || setup.Script == nil {
		return nil, fmt.Errorf("engine: a setup needs a key and a script: %w", ErrInvalid)
	}
	in, err := e.prepareSetup(ctx, setup, tables)
	if err != nil {
		return nil, err
	}
	if err := in.exec(ctx, "BEGIN TRANSACTION"); err != nil {
		e.retire(in)
		return nil, err
	}
	s, err := in.runInSetup(ctx, sql)
	if err != nil {
		e.retire(in)
		return nil, err
	}
	r := &Result{}
	r.init(in, s, e.retire)
	if in.poolKey != "" {
		r.recycle = e.rollbackRecycle
	}
	return r, nil
}

// runInSetup starts streaming sql in a database of QueryInSetup. A pooled database keeps a parameterless
// SELECT prepared and runs it again when the same text comes back (stmtcache.go): drivers send the same type
// and attribute queries on every connection (ADBC sends its pg_type query three times), and planning them is most
// of their cost (pg_type's: ~5 of 6 ms). Several statements (PREPARE/EXECUTE) are prepared each time: what a
// PREPARE leaves is not tracked across the rolled-back transactions.
func (in *instance) runInSetup(ctx context.Context, sql string) (*stream, error) {
	if in.poolKey != "" && len(splitStatements(sql)) == 1 {
		return in.run(ctx, sql)
	}
	ps, err := in.prepareLast(ctx, sql)
	if err != nil {
		return nil, err
	}
	return in.startStream(ctx, ps)
}

// rollbackRecycle undoes what the query changed, then hands the database to recycle (or retires it if the
// rollback failed: the query ended its transaction itself, or was interrupted).
func (e *Engine) rollbackRecycle(in *instance) {
	if err := in.exec(context.Background(), "ROLLBACK"); err != nil {
		e.retire(in)
		return
	}
	e.recycle(in)
}

// prepareSetup takes a pooled database sealed with the setup and the tables, or opens one, runs the
// setup script and the views there and seals it.
func (e *Engine) prepareSetup(ctx context.Context, setup Setup, tables []Table) (*instance, error) {
	key, views, files, err := e.setupKey(setup, tables)
	if err != nil {
		return nil, err
	}
	if e.opts.Pool >= 0 {
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if in := e.poolGet(key); in != nil {
			in.interrupted.Store(false)
			in.start(ctx)
			return in, nil
		}
	}
	attach, err := e.attachBase(ctx, setup)
	if err != nil {
		return nil, err
	}
	script, err := setup.Script()
	if err != nil {
		return nil, err
	}
	in, err := e.sealed(ctx, attach+script+views, files, nil)
	if err != nil {
		return nil, err
	}
	if e.opts.Pool >= 0 {
		in.poolKey = key
		in.setup = true
	}
	return in, nil
}

// setupKey is the pool key of a database set up with setup and tables, and the tables' views and files.
func (e *Engine) setupKey(setup Setup, tables []Table) (key, views string, files []string, err error) {
	views, files, err = e.viewsSQL(tables)
	if err != nil {
		return "", "", nil, err
	}
	// The setup's key stands for its script; the views and files go in as a digest (prepareReusable's key
	// holds them whole).
	sum := sha256.Sum256([]byte(views + "\x00" + e.sandboxSQL(files, nil)))
	base := ""
	if setup.Base != nil {
		base = setup.Base.Name
	}
	return "setup\x00" + setup.Key + "\x00" + base + "\x00" + hex.EncodeToString(sum[:]), views, files, nil
}

// SetupPooled reports whether a database set up with setup and tables waits in the pool, so that
// QueryInSetup would most likely not build one (another query may still take it first).
func (e *Engine) SetupPooled(setup Setup, tables []Table) bool {
	key, _, _, err := e.setupKey(setup, tables)
	if err != nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pool[key]) > 0
}

// WarmSetup builds a database set up with setup and tables and puts it in the pool, for a later
// QueryInSetup; it does nothing when the pool is off. Callers run it in the background so that a query
// need not wait for a large setup: WarmSetup blocks while the script runs.
func (e *Engine) WarmSetup(ctx context.Context, setup Setup, tables []Table) error {
	if e.opts.Pool < 0 {
		return nil
	}
	in, err := e.prepareSetup(ctx, setup, tables)
	if err != nil {
		return err
	}
	in.readOnly = true // it ran the setup and nothing of a caller's
	e.recycle(in)
	return nil
}
