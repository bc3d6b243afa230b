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
// The copy is exactly what the view returned: each view is replaced, in one transaction, by a table of the same
// name created AS the view's own SELECT (same columns, types and field-id mapping). It runs in the background on a
// second connection of the database once a query has put the database back; the database stays in the pool and
// serves queries from its views meanwhile, so no statement waits for the copy (DuckDB rebinds statements prepared
// over the views once it commits). A failed copy rolls back to the views; closing the database cancels the copy
// first. The sandbox is untouched: user SQL was locked out of files before, and the copy reads only the table's
// own files, which the sandbox allows.
//
// Memory is bounded twice: a database copies its tables only when their uncompressed Parquet size, and then
// the memory the copy takes, are under Options.HotTableBytes, and the copies of all pooled databases stay under
// Options.HotTotalBytes. A database's copy is released when the database is closed (eviction, idle sweep,
// Close). A database refused only because the pool-wide budget was full waits for it to free (another
// database evicted or swept): its load checks the budget with a backoff (hotRetryFirst doubling to
// hotRetryMax) for as long as the database lives, and copies once its tables fit, at most hotRetries times.

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

// makeHot replaces in's views by in-memory tables if they fit and returns the bytes they hold; on any error the
// views stay.
func (e *Engine) makeHot(ctx context.Context, in *instance, tables []Table) (int64, error) {
	var files []string
	var b strings.Builder
	b.WriteString("BEGIN TRANSACTION;\n")
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
		fmt.Fprintf(&b, "DROP VIEW %s;\nCREATE TABLE %s AS %s;\n", name, name, body)
	}
	est, err := in.queryInt(ctx, "SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata("+sqlStringList(files)+")")
	if err != nil {
		return 0, err
	}
	if est > e.opts.HotTableBytes {
		return 0, fmt.Errorf("tables take %d bytes uncompressed, over the %d of Options.HotTableBytes", est, e.opts.HotTableBytes)
	}
	if !e.reserveHot(est) {
		return 0, &budgetError{need: est, total: e.opts.HotTotalBytes}
	}
	before, err := in.memoryUsed(ctx)
	if err == nil {
		err = in.exec(ctx, b.String())
	}
	var used int64
	if err == nil {
		var after int64
		after, err = in.memoryUsed(ctx)
		used = max(after-before, 0)
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
		err = in.exec(ctx, "COMMIT")
	}
	if err != nil {
		_ = in.exec(context.Background(), "ROLLBACK")
		e.releaseHot(held)
		return 0, err
	}
	// Charge what the tables hold, and at least their uncompressed size: other connections' queries move the
	// memory count while the copy runs.
	charge := max(used, est)
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

// memoryUsed returns the memory DuckDB's buffer manager holds for this database.
func (in *instance) memoryUsed(ctx context.Context) (int64, error) {
	return in.queryInt(ctx, "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()")
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
