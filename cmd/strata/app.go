package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// app holds what one CLI invocation opened; commands open only what they need.
type app struct {
	stdout, stderr io.Writer
	environ        []string

	projectDir, configFile, output string
	quiet                          bool // --quiet: no progress lines

	// projectOptional lets the command run outside a project (serve --demo); see requireProject.
	projectOptional bool

	// terminal reports whether a writer is a terminal (progress lines go only to one); tests replace it.
	terminal func(io.Writer) bool
	// progressAfter and progressEvery override the progress timing (tests); zero means the defaults.
	progressAfter, progressEvery time.Duration

	cfg  *config.Config
	db   *meta.DB
	lake *lake.Lake
	envs *envs.Service
	eng  *engine.Engine
	weng *engine.Engine // writes data files when the command has no engine of its own (engineFiles)

	// exitAfter says the process exits once the command returns (main, not an in-process test run): the
	// engines are then ended with CloseForExit, which leaves their DuckDB databases to the exit.
	exitAfter bool
}

func newApp(stdout, stderr io.Writer, environ []string) *app {
	return &app{stdout: stdout, stderr: stderr, environ: environ, terminal: stdTerminal}
}

// loadConfig reads strata.yaml + STRATA_* variables.
func (a *app) loadConfig() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, err := config.Load(a.projectDir, a.configFile, a.environ)
	if err != nil {
		return nil, err
	}
	if err := a.requireProject(cfg); err != nil {
		return nil, err
	}
	a.cfg = cfg
	return cfg, nil
}

// storageVars place Strata's data. Setting one of them configures Strata by its environment alone, without a
// strata.yaml: a server deployment (`STRATA_META_DSN=postgres://... strata serve`, serve --data-dir).
var storageVars = []string{"STRATA_DATA_DIR", "STRATA_META_DSN", "STRATA_LAKE_WAREHOUSE", "STRATA_ARTIFACTS_ROOT"}

// requireProject refuses to run outside a project, so that a command typed in the wrong directory does not
// silently create strata-data/ there. A project is a configuration file (strata.yaml in the project directory,
// or one named with --config / STRATA_CONFIG), an environment that places the data (storageVars), or a data
// directory that already exists (the one `serve --demo` made: the commands it suggests then work beside it).
func (a *app) requireProject(cfg *config.Config) error {
	if cfg.File != "" || a.projectOptional {
		return nil
	}
	for _, k := range storageVars {
		if envOr(a.environ, k, "") != "" {
			return nil
		}
	}
	if fi, err := os.Stat(cfg.DataDir); err == nil && fi.IsDir() {
		return nil
	}
	return errs.E(errs.Invalid, "no %s in %s: run `strata init` or pass -C", config.FileName, cfg.Dir)
}

// open connects the metadata DB, the lake and the environments service.
func (a *app) open(ctx context.Context) error {
	if a.envs != nil {
		return nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	db, err := meta.Open(ctx, cfg.Meta.DSN)
	if err != nil {
		return err
	}
	a.db = db
	hook := a.faultHook()
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: cfg.Lake.Warehouse, Hook: hook})
	if err != nil {
		return err
	}
	a.lake = lk
	a.envs = envs.New(db, lk, envs.Options{Hook: hook, Files: engineFiles{a}})
	return a.envs.Init(ctx)
}

// engine opens the embedded DuckDB engine for a command-line user: SQL may read and write local files
// (read_csv('x.csv'), COPY ... TO), as the user could anyway.
func (a *app) engine() (*engine.Engine, error) { return a.openEngine(true) }

// openEngine opens the engine once; external says whether SQL may touch files beyond the lake tables it reads
// (false for the server, whose clients must not read the host's files).
func (a *app) openEngine(external bool) (*engine.Engine, error) {
	if a.eng != nil {
		return a.eng, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	eng, err := engine.New(engine.Options{Threads: cfg.Engine.Threads, MemoryLimit: cfg.Engine.MemoryLimit,
		TempDir: cfg.DataDir + "/tmp", ExternalAccess: external,
		HotTableBytes: cfg.Engine.HotTableBytes, HotTotalBytes: cfg.Engine.HotTotalBytes})
	if err != nil {
		return nil, err
	}
	a.eng = eng
	return eng, nil
}

// engineFiles has the engine's DuckDB write the data files of every write through envs (movement, datasets,
// the demo, imports), opening the engine only when a write needs it.
type engineFiles struct{ a *app }

func (engineFiles) CanWrite(sc *arrow.Schema) bool { return engine.CanWriteParquet(sc) }

func (f engineFiles) WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, sc *arrow.Schema) ([]string, error) {
	a := f.a
	eng := a.eng
	if eng == nil { // a sandboxed one of its own, so that a server opened later still gets a sandboxed a.eng
		if a.weng == nil {
			cfg, err := a.loadConfig()
			if err != nil {
				return nil, err
			}
			if a.weng, err = engine.New(engine.Options{Threads: cfg.Engine.Threads, MemoryLimit: cfg.Engine.MemoryLimit,
				TempDir: cfg.DataDir + "/tmp"}); err != nil {
				return nil, err
			}
		}
		eng = a.weng
	}
	return eng.WriteParquet(ctx, rdr, dir, sc)
}

func (a *app) close() {
	closeEngine := (*engine.Engine).Close
	if a.exitAfter {
		closeEngine = (*engine.Engine).CloseForExit
	}
	if a.eng != nil {
		_ = closeEngine(a.eng)
	}
	if a.weng != nil {
		_ = closeEngine(a.weng)
	}
	if a.db != nil {
		_ = a.db.Close()
	}
}

// faultHook implements STRATA_HOOK=<point>: when the process reaches that named point (e.g.
// "write:files-written" or "release:before-commit") it announces it on stderr and stops there until killed.
// Crash-consistency tests use it to SIGKILL a real process at a chosen moment.
func (a *app) faultHook() func(string) {
	want := envOr(a.environ, "STRATA_HOOK", "")
	if want == "" {
		return nil
	}
	return func(point string) {
		if point != want {
			return
		}
		fmt.Fprintf(a.stderr, "STRATA_HOOK reached %s\n", point)
		for {
			time.Sleep(time.Hour)
		}
	}
}

// actor names who runs the command, for the audit log.
func (a *app) actor() string {
	if u := envOr(a.environ, "USER", ""); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

func (a *app) logger() *slog.Logger {
	level := slog.LevelInfo
	format := "text"
	if a.cfg != nil {
		_ = level.UnmarshalText([]byte(strings.ToUpper(a.cfg.Log.Level)))
		format = a.cfg.Log.Format
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}
