//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
)

// RekeySetup turns an idle pooled database set up with from (and tables) into one set up with to, instead of
// a new database for to's key: it takes the database out of the pool, runs update — statements that change
// its rows from what from's script created into what to's script would create — in one transaction, and puts
// it back in the pool under to's key, where the next QueryInSetup with to finds it. It reports whether a
// database moved; false with a nil error when none with from's key was idle (QueryInSetup then builds one as
// usual).
//
// Only idle databases are taken, so a query running in one keyed from never sees a part of the update; and
// from's other pooled databases keep from's key (a session that still sees what from shows keeps using them).
// The caller keeps the contract of Setup.Key: after update the database must hold exactly what to's script
// creates. update must read and change rows only (SELECT, INSERT, UPDATE, DELETE), not objects; any error —
// one the update raises itself (error()) when the database is not what it was computed for, or a statement a
// sealed database refuses — rolls it back, retires the database and is returned.
func (e *Engine) RekeySetup(ctx context.Context, from, to Setup, tables []Table, update string) (bool, error) {
	if from.Base != to.Base {
		return false, fmt.Errorf("engine: a rekeyed setup keeps its base: %w", ErrInvalid)
	}
	if e.opts.Pool < 0 {
		return false, nil
	}
	oldKey, _, _, err := e.setupKey(from, tables)
	if err != nil {
		return false, err
	}
	newKey, _, _, err := e.setupKey(to, tables)
	if err != nil {
		return false, err
	}
	if oldKey == newKey {
		return false, fmt.Errorf("engine: rekey to the same setup key: %w", ErrInvalid)
	}
	in := e.poolGet(oldKey)
	if in == nil {
		return false, nil
	}
	in.interrupted.Store(false)
	in.start(ctx)
	if err := in.exec(ctx, "BEGIN TRANSACTION;\n"+update+"\nCOMMIT"); err != nil {
		e.retire(in) // maybe mid-transaction: never pooled again
		return false, fmt.Errorf("engine: rekey a pooled setup: %w", err)
	}
	// Statements kept prepared were planned over the old rows (DuckDB plans with the tables' statistics and
	// does not plan again for changed rows): prepare them anew.
	in.dropKept()
	in.poolKey = newKey
	e.recycle(in)
	return true, nil
}
