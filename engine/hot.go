//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Hot tables: a pooled database that is used again (its key came back within the idle window) is worth more
// than its views. Point queries over Parquet decompress a whole row group (128k rows) each time and aggregates
// decode every page again, so once a database is reused, the engine copies the tables of its setup into DuckDB
// in-memory tables, when they are small enough, and later queries in it read memory.
//
// The copy is exactly what the view returned: each table is created AS the view's own SELECT (same columns, types
// and field-id mapping) in a compressed in-memory database attached to the pooled one, and then, in one
// transaction, each view is replaced by a view of the same name over its copy (makeHot). It runs in the
// background on a second connection of the database once a query has put the database back; the database stays
// in the pool and serves queries from its views meanwhile, so no statement waits for the copy (DuckDB rebinds
// statements prepared over the views once it commits). A failed copy leaves the views as they were and detaches
// what it copied; closing the database cancels the copy first. The sandbox is untouched: user SQL was locked out
// of files before, and the copy reads only the table's own files, which the sandbox allows.
//
// Memory is bounded twice: a database copies its tables only when their uncompressed Parquet size, and then
// the memory the compressed copy takes, are under Options.HotTableBytes, and the copies of all pooled databases
// stay under Options.HotTotalBytes (a copy being made counts its tables' uncompressed size). A database's copy
// is released when the database is closed (eviction, idle sweep, Close). A database refused only because the
// pool-wide budget was full waits for it to free (another database evicted or swept): its load checks the budget
// with a backoff (hotRetryFirst doubling to hotRetryMax) for as long as the database lives, and copies once its
// tables fit, at most hotRetries times.

const (
	defaultHotTableBytes = 256 << 20
	defaultHotTotalBytes = 1 << 30
)

// The retry of a load refused by the pool-wide budget: the first wait, the longest, and how many copies it
// tries (a copy that fits when it starts may not when it ends: other loads take budget meanwhile).
const (
	hotRetryFirst = 50 * time.Millisecond
	hotRetryMax   = 5 * time.Second
	hotRetries    = 5
)

// budgetError is a load refused because the pool's in-memory tables are at Options.HotTotalBytes; need is
// what the tables would take.
type budgetError struct{ need, total int64 }

func (e *budgetError) Error() string {
	return fmt.Sprintf("the pool's in-memory tables are at Options.HotTotalBytes (%d): these need %d more", e.total, e.need)
}

// HotBytes returns the memory the in-memory table copies of pooled databases hold (for tests and metrics).
func (e *Engine) HotBytes() int64 { return e.hotBytes.Load() }

// HotLoads returns how many databases have copied their tables into memory so far.
func (e *Engine) HotLoads() int64 { return e.hotLoads.Load() }

// wantsHot reports whether recycle should copy in's tables into memory before pooling it: it was reused, holds
// tables with files, and has not tried before.
func (e *Engine) wantsHot(in *instance) bool {
	if e.opts.HotTableBytes < 0 || in.hotTried || in.uses < 1 {
		return false
	}
	for _, t := range in.tables {
		if len(t.Files) > 0 {
			return true
		}
	}
	return false
}

// startHot starts copying in's tables into memory on a second connection of its database, in the background,
// while in itself goes back to the pool and serves queries (over the views until the copy commits; DuckDB
// rebinds statements prepared over them). in.close cancels the copy and waits for it.
func (e *Engine) startHot(in *instance) {
	in.hotTried = true
	if !in.hasAux {
		return
	}
	ctx, cancel := context.WithCancel(e.loadCtx)
	in.loadCancel, in.loadDone = cancel, make(chan struct{})
	e.loads.Add(1)
	go e.loadHot(ctx, in)
}

// loadHot is the goroutine of startHot; it uses in's second connection.
func (e *Engine) loadHot(ctx context.Context, in *instance) {
	defer e.loads.Done()
	defer close(in.loadDone)
	defer in.loadCancel()
	ld := in.aux
	ld.start(ctx)
	n, err := e.makeHot(ctx, ld, in.tables)
	for try := 1; try < hotRetries && err != nil; try++ {
		var full *budgetError
		if !errors.As(err, &full) || !e.waitHotBudget(ctx, full.need) {
			break
		}
		n, err = e.makeHot(ctx, ld, in.tables)
	}
	ld.stop()
	if err != nil {
		slog.Debug("engine: tables stay on Parquet", "err", err)
		return
	}
	e.hotLoads.Add(1)
	in.hotBytes = n
	in.onClose = func() { e.releaseHot(n) }
}

// waitHotBudget waits until need bytes fit in the pool-wide budget, checking it with a bounded backoff; false
// when ctx ends first (the database closed, or the engine).
func (e *Engine) waitHotBudget(ctx context.Context, need int64) bool {
	wait := hotRetryFirst
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		if e.hotBytes.Load()+need <= e.opts.HotTotalBytes {
			return true
		}
		wait = min(2*wait, hotRetryMax)
	}
}

// hotDatabase is the in-memory database, attached to a pooled database with DuckDB's compression, that holds
// the copies of its tables (the views then read from it).
const hotDatabase = "strata_hot"

// makeHot copies in's tables into memory, if they fit, and returns the bytes the copies hold; on any error the
// views stay and nothing is held.
//
// The copies live in a compressed in-memory database attached for them, checkpointed once each table is filled:
// the checkpoint compresses its columns (dictionary and FSST for strings, bit packing, constants), which DuckDB's
// own in-memory catalog never does. 10M rows of bench/sql's table hold 296 MiB instead of 1,484, and its
// aggregate reads the compressed strings more cheaply. A checkpoint cannot run inside a transaction, so the copies
// are made and checkpointed first, and then, in one transaction, each view is replaced by a view of the same
// name over its copy: a concurrent query sees either the Parquet views or the copies, never a half-made copy.
func (e *Engine) makeHot(ctx context.Context, in *instance, tables []Table) (int64, error) {
	var files []string
	var fill, swap strings.Builder
	schemas := map[string]bool{}
	for _, t := range tables {
		if len(t.Files) == 0 {
			continue
		}
		body, paths, err := e.viewSelect(t)
		if err != nil {
			return 0, err
		}
		files = append(files, paths...)
		name := sqlIdent(t.Schema) + "." + sqlIdent(t.Name)
		copyName := hotDatabase + "." + name
		if !schemas[t.Schema] {
			schemas[t.Schema] = true
			fmt.Fprintf(&fill, "CREATE SCHEMA %s.%s;\n", hotDatabase, sqlIdent(t.Schema))
		}
		fmt.Fprintf(&fill, "CREATE TABLE %s AS %s;\n", copyName, body)
		if !e.opts.HotUncompressed {
			// one checkpoint per table: the uncompressed rows of only one table are in memory at a time
			fmt.Fprintf(&fill, "CHECKPOINT %s;\n", hotDatabase)
		}
		fmt.Fprintf(&swap, "DROP VIEW %s;\nCREATE VIEW %s AS SELECT * FROM %s;\n", name, name, copyName)
	}
	est, err := in.queryInt(ctx, "SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata("+sqlStringList(files)+")")
	if err != nil {
		return 0, err
	}
	if est > e.opts.HotTableBytes {
		return 0, fmt.Errorf("tables take %d bytes uncompressed, over the %d of Options.HotTableBytes", est, e.opts.HotTableBytes)
	}
	// The uncompressed size is reserved while the copy is made (a table's rows are uncompressed until its
	// checkpoint), and what the copies hold once compressed is charged after.
	if !e.reserveHot(est) {
		return 0, &budgetError{need: est, total: e.opts.HotTotalBytes}
	}
	attach := "ATTACH ':memory:' AS " + hotDatabase + " (COMPRESS);\n"
	if e.opts.HotUncompressed {
		attach = "ATTACH ':memory:' AS " + hotDatabase + ";\n"
	}
	err = in.exec(ctx, attach+fill.String())
	var used int64
	if err == nil {
		used, err = in.tableMemory(ctx)
	}
	held := est // what this load has reserved
	if err == nil && used > e.opts.HotTableBytes {
		err = fmt.Errorf("the tables take %d bytes in memory, over the %d of Options.HotTableBytes", used, e.opts.HotTableBytes)
	}
	if err == nil && used > est {
		if e.reserveHot(used - est) {
			held = used
		} else {
			err = &budgetError{need: used, total: e.opts.HotTotalBytes}
		}
	}
	if err == nil {
		if err = in.exec(ctx, "BEGIN TRANSACTION;\n"+swap.String()+"COMMIT"); err != nil {
			_ = in.exec(context.Background(), "ROLLBACK")
		}
	}
	if err != nil {
		// the views were not touched; detaching frees what was copied
		_ = in.exec(context.Background(), "DETACH DATABASE IF EXISTS "+hotDatabase)
		e.releaseHot(held)
		return 0, err
	}
	charge := max(used, 1)
	e.releaseHot(held - charge)
	return charge, nil
}

// reserveHot takes n bytes of the pool's in-memory table budget, or returns false if they do not fit.
func (e *Engine) reserveHot(n int64) bool {
	for {
		cur := e.hotBytes.Load()
		if cur+n > e.opts.HotTotalBytes {
			return false
		}
		if e.hotBytes.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// releaseHot gives n bytes back; instance.close calls it (sometimes with e.mu held, hence no lock).
func (e *Engine) releaseHot(n int64) { e.hotBytes.Add(-n) }

// tableMemory returns the memory DuckDB holds for in-memory tables in this database: the copies of hot.go (a
// pooled database has views, not tables, of its own; queries on other connections hold other kinds of memory).
func (in *instance) tableMemory(ctx context.Context) (int64, error) {
	return in.queryInt(ctx, "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'")
}

// queryInt runs a query returning one integer.
func (in *instance) queryInt(ctx context.Context, sql string) (int64, error) {
	rows, err := in.queryStrings(ctx, sql)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return 0, fmt.Errorf("engine: %q returned %d rows, want one number", sql, len(rows))
	}
	return strconv.ParseInt(rows[0][0], 10, 64)
}
