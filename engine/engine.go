//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-data/strata/scratch"
)

// Options configure an Engine. Zero values mean sensible defaults.
type Options struct {
	// Threads is the number of DuckDB worker threads of each query; 0 means runtime.NumCPU().
	Threads int
	// MemoryLimit caps the memory of each query's DuckDB database, in DuckDB's syntax ("4GB", "512MiB",
	// "50%"); "" leaves DuckDB's default, 80% of RAM. Concurrent queries each get the full limit.
	MemoryLimit string
	// TempDir is where queries spill when they exceed MemoryLimit and where ReadFile keeps scratch copies;
	// each call uses a private subdirectory that is removed when it ends. "" means os.TempDir()/strata-engine.
	TempDir string
	// Spares is how many databases the engine opens ahead of time, so that a call does not wait the ~7 ms
	// DuckDB takes to open one; 0 means 1, a negative number none. Each spare holds a few MB and its threads.
	Spares int
	// ExternalAccess lets SQL read and write any file the process can (read_csv('x.csv'), COPY ... TO), as a
	// command-line user expects. When false (the default, for servers), SQL can read only the Parquet files of
	// the tables it was given.
	ExternalAccess bool
	// Pool is how many idle sealed databases QueryWith(..., QueryOptions{Reuse: true}) keeps for later
	// queries over the same table snapshots; 0 means 8, a negative number none. Each holds a few MB.
	Pool int
	// PoolIdle is how long a pooled database may stay unused before it is closed; 0 means 30s. One holding
	// in-memory table copies (HotTableBytes), or set up by QueryInSetup, stays up to 20 × PoolIdle, so a client
	// coming back finds it.
	PoolIdle time.Duration
	// HotTableBytes bounds the tables a pooled database copies into memory once it is reused (see hot.go): a
	// database whose tables take more (uncompressed) keeps reading Parquet. 0 means 256 MiB, a negative number
	// turns the copies off.
	HotTableBytes int64
	// HotTotalBytes bounds the memory the in-memory copies of all pooled databases hold together; 0 means 1 GiB.
	HotTotalBytes int64
	// HotUncompressed keeps the in-memory copies uncompressed (DuckDB's plain in-memory storage) instead of
	// compressing them once filled (hot.go). For comparisons and tests.
	HotUncompressed bool
	// FieldIDViews makes every table's view read its files by Parquet field id, even where they line up with
	// the schema and plain read_parquet (which gives DuckDB the files' statistics) reads the same rows
	// (plainview.go). For comparisons and tests.
	FieldIDViews bool
}

// Engine runs SQL and reads files with embedded DuckDB. It is safe for concurrent use; each call gets its own
// in-memory database. Opening one costs DuckDB about 7 ms (2-core dev box), which spares opened ahead of time
// take off the caller's path (see BenchmarkQueryOverhead).
type Engine struct {
	opts   Options
	spares chan *instance // unused databases, opened ahead of time

	mu        sync.Mutex
	closed    bool
	refilling int            // spares being opened
	refills   sync.WaitGroup // the goroutines opening them
	retiring  sync.WaitGroup // databases being closed in the background

	pool    map[string][]pooled // idle sealed databases by setup (pool.go)
	pooled  int                 // how many databases pool holds
	sweeper *time.Timer         // closes idle pooled databases
	counts  stmtCounts          // statements pooled databases prepared and reused (stmtcache.go)

	hotBytes   atomic.Int64       // memory the pooled databases' in-memory tables hold (hot.go)
	hotLoads   atomic.Int64       // databases that copied their tables into memory
	loads      sync.WaitGroup     // background copies under way
	loadCtx    context.Context    // cancelled by Close: stops the copies
	loadCancel context.CancelFunc //
}

// New checks the options by opening one DuckDB database and returns an Engine. Close it with Close.
func New(opts Options) (*Engine, error) {
	if opts.Threads < 0 {
		return nil, fmt.Errorf("engine: threads must be >= 0, got %d: %w", opts.Threads, ErrInvalid)
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.TempDir == "" {
		opts.TempDir = filepath.Join(os.TempDir(), "strata-engine")
	}
	if err := os.MkdirAll(opts.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: temp dir: %w (set a writable directory)", err)
	}
	if opts.Spares == 0 {
		opts.Spares = 1
	}
	if opts.Pool == 0 {
		opts.Pool = 8
	}
	if opts.PoolIdle <= 0 {
		opts.PoolIdle = 30 * time.Second
	}
	if opts.HotTableBytes == 0 {
		opts.HotTableBytes = defaultHotTableBytes
	}
	if opts.HotTotalBytes <= 0 {
		opts.HotTotalBytes = defaultHotTotalBytes
	}
	e := &Engine{opts: opts, spares: make(chan *instance, max(opts.Spares, 0)), pool: map[string][]pooled{}}
	e.loadCtx, e.loadCancel = context.WithCancel(context.Background())
	in, err := openInstance(opts)
	if err != nil {
		e.loadCancel()
		return nil, err
	}
	e.putSpare(in)
	return e, nil
}

// Close stops the Engine from starting new work and closes its spare databases. Results and readers
// already returned stay valid until they are closed. Close is idempotent.
func (e *Engine) Close() error {
	e.stopWork()
	var errs []error
	errs = append(errs, e.drainPool())
	e.retiring.Wait()
	for {
		select {
		case in := <-e.spares:
			errs = append(errs, in.close())
		default:
			return errors.Join(errs...)
		}
	}
}

// CloseForExit ends the Engine in a process that exits right after it (a command-line command): like Close
// it stops new work (calls then fail with ErrClosed) and stops the in-memory copies, but it leaves the DuckDB
// databases open for the process's exit to free, and removes their temporary directories itself (this
// process's whole scratch folder below Options.TempDir). Closing a database that ran a large query hands its
// memory back to the system piece by piece: ~50 ms after a 1M-row training-set build (244 madvise calls),
// which a process that exits next gains nothing from. Nothing the engine wrote for a caller is lost: a
// FileWriter's files are complete and moved out of the temporary directory before its call returns.
// A database still closing in the background (its result closed just before) may lose its spill files under
// its destructor, which tolerates that. Results still open must not be read afterwards. In a process that goes
// on (tests, a server), use Close; Close after CloseForExit frees the databases.
func (e *Engine) CloseForExit() error {
	e.stopWork() // a spare being opened makes its temporary directory first: it is waited for
	return scratch.RemoveOwn(e.opts.TempDir)
}

// stopWork is where Close and CloseForExit begin: new calls fail with ErrClosed, the in-memory copies being
// loaded are cancelled and waited for, and so are the spares being opened.
func (e *Engine) stopWork() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.loadCancel()
	e.loads.Wait()
	e.refills.Wait()
}

// open returns a fresh DuckDB database for one call, tied to ctx: a spare if one is ready.
func (e *Engine) open(ctx context.Context) (*instance, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var in *instance
	select {
	case in = <-e.spares:
	default:
	}
	e.refill()
	if in == nil {
		var err error
		if in, err = openInstance(e.opts); err != nil {
			return nil, err
		}
	}
	in.start(ctx)
	return in, nil
}

// refill opens spares in the background until there are Options.Spares of them.
func (e *Engine) refill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for !e.closed && len(e.spares)+e.refilling < cap(e.spares) {
		e.refilling++
		e.refills.Add(1)
		go func() {
			defer e.refills.Done()
			in, err := openInstance(e.opts)
			e.mu.Lock()
			e.refilling--
			e.mu.Unlock()
			if err == nil {
				e.putSpare(in)
			}
		}()
	}
}

// retire stops in from interrupting anything and closes it in the background: DuckDB takes about 5 ms to
// close a database, which the caller need not wait for. After Close it closes in at once.
func (e *Engine) retire(in *instance) {
	in.stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = in.close()
		return
	}
	e.retiring.Add(1)
	go func() {
		defer e.retiring.Done()
		_ = in.close()
	}()
}

// putSpare keeps in for a later call, or closes it if there is no room or the engine is closed.
func (e *Engine) putSpare(in *instance) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		select {
		case e.spares <- in:
			return
		default:
		}
	}
	_ = in.close()
}

// sandbox restricts the instance's file access to the given paths (when the engine disallows external
// access) and freezes its configuration, so SQL cannot widen either.
func (e *Engine) sandbox(ctx context.Context, in *instance, paths, dirs []string) error {
	return in.exec(ctx, e.sandboxSQL(paths, dirs))
}

// sandboxSQL returns the statements sandbox runs.
func (e *Engine) sandboxSQL(paths, dirs []string) string {
	var b strings.Builder
	if !e.opts.ExternalAccess {
		fmt.Fprintf(&b, "SET allowed_paths = %s; ", sqlStringList(paths))
		fmt.Fprintf(&b, "SET allowed_directories = %s; ", sqlStringList(dirs))
		b.WriteString("SET enable_external_access = false; ")
	}
	b.WriteString("SET lock_configuration = true")
	return b.String()
}
