//go:build duckdb_arrow

package engine

import (
	"context"
	"time"
)

// The pool keeps sealed databases whose read-only query finished cleanly, keyed by the exact setup they were
// sealed with (the views' SQL and the sandbox's allowed files and directories), so that the next query over
// the same table snapshots skips opening a database, creating the views and sealing it. A new snapshot has
// other files, hence another key: a pooled database never shows stale data.
//
// A database goes back to the pool only when all of these hold: the caller opted in (QueryOptions.Reuse),
// every statement it ran was a SELECT or a PREPARE/EXECUTE (no CREATE, SET, ...), its result was read to the
// end without error, and nothing ever interrupted it (a cancelled or early-closed query is retired).

// QueryOptions change how QueryWith runs a query.
type QueryOptions struct {
	// Reuse lets the engine run the query in a pooled database sealed with the same tables, and put the
	// database back in the pool afterwards. Set it only for plain reads whose SQL the caller built: the
	// engine refuses to pool a database that ran anything but SELECT, PREPARE or EXECUTE, but cannot see
	// what a PREPAREd statement does. EXECUTE statements of a reused database replace earlier PREPAREs of
	// the same name.
	Reuse bool
}

type pooled struct {
	in    *instance
	since time.Time
}

// poolGet takes an idle database sealed with key, or returns nil.
func (e *Engine) poolGet(key string) *instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.pool[key]
	if len(list) == 0 {
		return nil
	}
	p := list[len(list)-1]
	if len(list) == 1 {
		delete(e.pool, key)
	} else {
		e.pool[key] = list[:len(list)-1]
	}
	e.pooled--
	return p.in
}

// recycle puts a database whose query ended cleanly back in the pool if it may be reused, else retires it.
func (e *Engine) recycle(in *instance) {
	in.stop()
	if in.poolKey == "" || !in.readOnly || in.interrupted.Load() || e.opts.Pool < 0 {
		e.retire(in)
		return
	}
	if e.wantsHot(in) {
		e.startHot(in)
	}
	e.putPooled(in)
}

// putPooled adds an idle database to the pool, evicting the oldest one if the pool is full.
func (e *Engine) putPooled(in *instance) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		_ = in.close()
		return
	}
	var evict *instance
	if e.pooled >= e.opts.Pool {
		evict = e.oldestLocked()
	}
	e.pool[in.poolKey] = append(e.pool[in.poolKey], pooled{in: in, since: time.Now()})
	e.pooled++
	if e.sweeper == nil {
		e.sweeper = time.AfterFunc(e.opts.PoolIdle, e.sweep)
	}
	e.mu.Unlock()
	if evict != nil {
		e.retire(evict)
	}
}

// oldestLocked removes and returns the database idle the longest. e.mu is held.
func (e *Engine) oldestLocked() *instance {
	var oldKey string
	var old time.Time
	for k, list := range e.pool {
		if len(list) > 0 && (oldKey == "" || list[0].since.Before(old)) {
			oldKey, old = k, list[0].since
		}
	}
	if oldKey == "" {
		return nil
	}
	p := e.pool[oldKey][0]
	if len(e.pool[oldKey]) == 1 {
		delete(e.pool, oldKey)
	} else {
		e.pool[oldKey] = e.pool[oldKey][1:]
	}
	e.pooled--
	return p.in
}

// hotIdleFactor is how many times PoolIdle a database holding in-memory copies of its tables (hot.go), or a
// setup's database (keptLonger), may stay idle: its copy cost seconds of CPU for a large table, which a client coming back every few minutes (a
// dashboard's refresh) should not pay again each time; the copies stay bounded by HotTotalBytes.
const hotIdleFactor = 20

// sweep closes databases idle for longer than PoolIdle (hot ones, and ones still copying their tables: hotIdleFactor
// × PoolIdle, so a copy slower than PoolIdle on a busy machine is not cancelled and paid again) and schedules itself
// while any remain.
func (e *Engine) sweep() {
	now := time.Now()
	cutoff, hotCutoff := now.Add(-e.opts.PoolIdle), now.Add(-hotIdleFactor*e.opts.PoolIdle)
	var stale []*instance
	e.mu.Lock()
	for k, list := range e.pool {
		keep := list[:0]
		for _, p := range list {
			if p.since.Before(cutoff) && (!p.in.keptLonger() || p.since.Before(hotCutoff)) {
				stale = append(stale, p.in)
				e.pooled--
			} else {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			delete(e.pool, k)
		} else {
			e.pool[k] = keep
		}
	}
	e.sweeper = nil
	if e.pooled > 0 && !e.closed {
		e.sweeper = time.AfterFunc(e.opts.PoolIdle/2+time.Millisecond, e.sweep)
	}
	e.mu.Unlock()
	for _, in := range stale {
		e.retire(in)
	}
}

// Pooled returns how many idle databases the pool holds (for tests and metrics).
func (e *Engine) Pooled() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pooled
}

// keptLonger reports whether the sweep keeps in for hotIdleFactor × PoolIdle: it holds in-memory copies of its
// tables (or is making them), or it is a setup's database (QueryInSetup: the PostgreSQL catalog), whose build
// costs 50–200 ms that a client coming back after a pause (a notebook's next cell, a driver's type queries on
// connect) would pay again, for a few MB held.
func (in *instance) keptLonger() bool { return in.setup || in.hotOrCopying() }

// hotOrCopying reports whether in holds in-memory copies of its tables or is making them now.
func (in *instance) hotOrCopying() bool {
	if in.loadDone == nil {
		return false
	}
	select {
	case <-in.loadDone:
		return in.hotBytes > 0
	default:
		return true
	}
}

// HotLoading returns how many idle pooled databases are copying their tables into memory now (hot.go): with
// HotLoads, it tells a caller that waits for the copies (a benchmark's warm-up) when they are done. A database
// handed out to a query while it copies is not counted.
func (e *Engine) HotLoading() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, list := range e.pool {
		for _, p := range list {
			if p.in.loadDone == nil {
				continue
			}
			select {
			case <-p.in.loadDone:
			default:
				n++
			}
		}
	}
	return n
}

// drainPool closes every pooled database; Close calls it after marking the engine closed.
func (e *Engine) drainPool() error {
	e.mu.Lock()
	var all []*instance
	for _, list := range e.pool {
		for _, p := range list {
			all = append(all, p.in)
		}
	}
	e.pool, e.pooled = map[string][]pooled{}, 0
	if e.sweeper != nil {
		e.sweeper.Stop()
		e.sweeper = nil
	}
	e.mu.Unlock()
	var err error
	for _, in := range all {
		if cerr := in.close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// prepareReusable is prepare with the pool: a pooled database sealed with the same setup, or a new one
// marked as poolable.
func (e *Engine) prepareReusable(ctx context.Context, tables []Table) (*instance, error) {
	setup, files, err := e.viewsSQL(tables)
	if err != nil {
		return nil, err
	}
	key := setup + "\x00" + e.sandboxSQL(files, nil)
	if e.opts.Pool >= 0 {
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if in := e.poolGet(key); in != nil {
			in.uses++
			in.interrupted.Store(false)
			in.start(ctx)
			return in, nil
		}
	}
	in, err := e.sealed(ctx, setup, files, nil)
	if err != nil {
		return nil, err
	}
	in.poolKey = key
	in.counts = &e.counts
	in.tables = tables
	return in, nil
}
