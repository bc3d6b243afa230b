package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/demo"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/internal/cpus"
	"github.com/strata-data/strata/server"
	"github.com/strata-data/strata/sqlwire"
)

func (a *app) serveCmd() *cobra.Command {
	var addr, dataDir, cpuProfile, tracePath string
	var withDemo, allowRemote bool
	c := &cobra.Command{
		Use:   "serve",
		Short: "Start the Strata server (HTTP API, metrics, MLflow-compatible tracking, PostgreSQL wire)",
		Example: `  strata serve --demo          # embedded defaults in ./strata-data, with demo data
  STRATA_META_DSN=postgres://strata@db/strata strata serve --addr :8080 --allow-remote`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if dataDir != "" {
				a.environ = append(a.environ, "STRATA_DATA_DIR="+dataDir)
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.Server.Addr = addr
			}
			if allowRemote {
				cfg.Server.AllowRemote = true
			}
			log := a.logger()
			defer tuneGC(log)()
			defer tuneProcs(cfg.Server.Procs, log)()
			stopProfile, err := startProfiles(cpuProfile, "", tracePath)
			if err != nil {
				return err
			}
			defer stopProfile() // written when the server stops (SIGINT, SIGTERM)
			// Listen first: a refused or busy address fails before the stores are opened and the demo loaded.
			ln, err := a.listen(cfg.Server, log)
			if err != nil {
				return err
			}
			defer func() { _ = ln.Close() }() // Serve closes it too; this covers the failures before
			sqlLn, err := a.listenSQL(cfg, log)
			if err != nil {
				return err
			}
			if sqlLn != nil {
				defer func() { _ = sqlLn.Close() }()
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			if withDemo {
				if err := a.loadDemo(cmd); err != nil {
					return err
				}
			}
			a.repairRefs(ctx, log)
			eng, err := a.openEngine(false)
			if err != nil {
				return err
			}
			if withDemo { // the demo's online feature view: materialized here, loaded by the server's syncer
				if err := demo.LoadFeatures(ctx, a.envs, features.NewRegistry(a.db), eng, a.actor()); err != nil {
					return err
				}
			}
			users := a.authService()
			deps := server.Deps{DB: a.db, Envs: a.envs, Engine: eng, Log: log, Auth: users, Features: features.NewRegistry(a.db)}
			feast, store, syncer, err := a.featureServing(ctx, cfg, eng, log)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			deps.Mounts, deps.Freshness = append(deps.Mounts, feast), onlineFreshness(store, syncer)
			mlflow, err := a.mlflowRoutes(ctx)
			if err != nil {
				return err
			}
			deps.Mounts = append(deps.Mounts, mlflow)
			srv, err := server.New(deps, serverOptions(cfg.Server))
			if err != nil {
				return fmt.Errorf("%w: server.allowed_hosts / server.allowed_origins: %v", errUsage, err)
			}
			base := "http://" + displayAddr(ln.Addr().String())
			log.Info("strata is serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "meta", a.db.Dialect, "go_procs", runtime.GOMAXPROCS(0))
			stopSQL, err := a.serveSQL(ctx, sqlLn, eng, users, cfg.SQLWire, log)
			if err != nil {
				return err
			}
			defer stopSQL()
			a.printNext(base)
			if sqlLn != nil {
				host, port, _ := net.SplitHostPort(displayAddr(sqlLn.Addr().String()))
				fmt.Fprintf(a.stdout, "PostgreSQL clients: psql -h %s -p %s -d prod   (database = environment)\n", host, port)
			}
			return srv.Serve(ctx, ln, cfg.Server.ShutdownTimeout)
		},
	}
	c.Flags().StringVar(&addr, "addr", "", "listen address (default from server.addr, \"127.0.0.1:8080\")")
	c.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow an address other machines reach (server.allow_remote): clients there must authenticate, over plain text (no TLS yet)")
	c.Flags().StringVar(&dataDir, "data-dir", "", "data directory (overrides data_dir / STRATA_DATA_DIR)")
	c.Flags().BoolVar(&withDemo, "demo", false, "load the demo dataset into dev and prod if it is not there yet")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the server's run to this file when it stops (go tool pprof)")
	_ = c.Flags().MarkHidden("cpuprofile")
	c.Flags().StringVar(&tracePath, "trace", "", "write an execution trace of the server's run to this file (go tool trace)")
	_ = c.Flags().MarkHidden("trace")
	return c
}

// Serving allocates a few KB per request on a small live heap (~15 MB): at Go's default GOGC=100 it collected ten
// times a second at 18k requests/s, and a request that meets a collection's stop or its mark assists is a slow
// one (the p99 at 16 concurrent clients). tuneGC lets a small heap grow by up to gcHeadroom above what is live
// between collections (GOGC up to maxServeGOGC: a 15 MB heap collects a quarter as often), and a heap of
// gcHeadroom or more live grows as at GOGC=100, as before (row streams, large queries keep their memory bound).
const (
	gcHeadroom   = 64 << 20
	maxServeGOGC = 400
)

// tuneGC sets the collector's target after every collection to min(maxServeGOGC, max(100, gcHeadroom/live))
// percent, until the returned stop is called (which restores the target). It does nothing when GOGC is set in
// the environment: the operator's choice stands.
func tuneGC(log *slog.Logger) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	t := &gcTick{stop: new(atomic.Bool)}
	t.current = t.percent()
	prev := debug.SetGCPercent(t.current)
	runtime.SetFinalizer(t, (*gcTick).fire)
	log.Debug("the garbage collector's target follows the live heap", "headroom_bytes", gcHeadroom, "max_gogc", maxServeGOGC)
	stopped := t.stop
	return func() {
		stopped.Store(true)
		debug.SetGCPercent(prev)
	}
}

// gcTick is unreachable as soon as it is armed: its finalizer runs after the next collection, sets the target
// from the heap that collection found live, and arms a new one.
type gcTick struct {
	stop    *atomic.Bool
	current int
	_       [16]byte // not a tiny allocation: its finalizer runs
}

func (t *gcTick) percent() int {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	live := int64(1)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = max(1, int64(s[0].Value.Uint64()))
	}
	return int(min(maxServeGOGC, max(100, gcHeadroom*100/live)))
}

func (t *gcTick) fire() {
	if t.stop.Load() {
		return
	}
	if p := t.percent(); p != t.current {
		debug.SetGCPercent(p)
		t.current = p
	}
	runtime.SetFinalizer(&gcTick{stop: t.stop, current: t.current}, (*gcTick).fire)
}

// procsPerCPU is serve's Go processors per CPU when server.procs is 0. With one processor per CPU, requests
// waited behind Go's scheduler rather than for a CPU: a goroutine the network poller woke sat in the local queue
// of a processor whose thread the kernel had descheduled, and the other processor, busy with a connection whose
// next request was always there, did not steal it (docs/benchmarks.md, "what the 100×50 tail is made of"). With
// more processors than CPUs the kernel shares the CPUs among their threads and a processor that runs takes the
// queued goroutines: on 2 CPUs, 100 × 50 at 16 clients p99 6.5 → 3.5–4.6 ms and 1 × 50 p99 2.8 → 1.1 ms, the same
// requests per second (docs/benchmarks.md, "Go processors per CPU").
const procsPerCPU = 4

// tuneProcs sets GOMAXPROCS to n, or to procsPerCPU per CPU the process may use when n is 0, until the returned
// stop restores it. GOMAXPROCS in the environment is the operator's choice: left alone.
func tuneProcs(n int, log *slog.Logger) (stop func()) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return func() {}
	}
	if n == 0 {
		n = procsPerCPU * cpus.N
	}
	prev := runtime.GOMAXPROCS(n)
	return func() { runtime.GOMAXPROCS(prev) }
}

func serverOptions(c config.Server) server.Options {
	return server.Options{Addr: c.Addr, AllowedHosts: c.AllowedHosts, AllowedOrigins: c.AllowedOrigins,
		ReadHeaderTimeout: c.ReadHeaderTimeout, IdleTimeout: c.IdleTimeout, WriteTimeout: c.WriteTimeout,
		MaxStreams: c.MaxStreams}
}

// listen opens the listener. An address other machines can reach needs allow_remote: its clients must
// authenticate (strata user add), but without TLS their credentials and data cross the network in clear.
func (a *app) listen(c config.Server, log *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen on %s: %v (use --addr or STRATA_SERVER_ADDR to pick another address)", errUsage, c.Addr, err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		if !c.AllowRemote {
			_ = ln.Close()
			return nil, fmt.Errorf("%w: %s is reachable from other machines: its clients must authenticate (strata user "+
				"add, strata token create), and without TLS their passwords, tokens and data cross the network in clear. "+
				"Listen on loopback (--addr 127.0.0.1:8080, the default), or accept that with --allow-remote "+
				"(server.allow_remote: true)", errUsage, c.Addr)
		}
		log.Warn("listening on an address other machines reach (--allow-remote): requests without authentication are "+
			"refused (strata user add), and credentials travel without TLS", "addr", ln.Addr().String())
	}
	return ln, nil
}

// listenSQL opens the PostgreSQL-wire listener (nil when sqlwire.addr is ""), with the same loopback rule as
// HTTP: remote clients always need a password, and nothing encrypts their traffic yet. A busy address is logged, not fatal: HTTP still serves.
func (a *app) listenSQL(cfg *config.Config, log *slog.Logger) (net.Listener, error) {
	addr := cfg.SQLWire.Addr
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("the PostgreSQL endpoint is not started: set sqlwire.addr (STRATA_SQLWIRE_ADDR) to a free address, "+
			"or \"\" to turn it off", "addr", addr, "err", err)
		return nil, nil
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		if !cfg.Server.AllowRemote {
			_ = ln.Close()
			return nil, fmt.Errorf("%w: sqlwire.addr %s is reachable from other machines: its clients need a password "+
				"(strata user add), but without TLS their queries and results cross the network in clear. Listen on loopback "+
				"(127.0.0.1:5433, the default), or accept that with --allow-remote (server.allow_remote: true)", errUsage, addr)
		}
		log.Warn("the PostgreSQL endpoint listens on an address other machines reach, without TLS (--allow-remote); "+
			"its clients need a password", "addr", ln.Addr().String())
	}
	return ln, nil
}

// serveSQL starts the PostgreSQL-wire endpoint on ln (nothing when ln is nil); stop ends it and waits.
func (a *app) serveSQL(ctx context.Context, ln net.Listener, eng *engine.Engine, users *auth.Service, c config.SQLWire, log *slog.Logger) (stop func(), err error) {
	if ln == nil {
		return func() {}, nil
	}
	reg := features.NewRegistry(a.db)
	opts := sqlwire.Options{Envs: a.envs, Engine: eng, Auth: users, Log: log, MaxMessage: c.MaxMessage,
		Datasets: reg, Features: reg, JobRuns: a.jobRuns()}
	if c.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("sqlwire.tls_cert / sqlwire.tls_key: %w (give PEM files of a certificate and its key)", err)
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	srv, err := sqlwire.New(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("the PostgreSQL endpoint stopped", "err", err)
		}
	}()
	log.Info("strata answers PostgreSQL clients", "addr", ln.Addr().String())
	return func() { cancel(); <-done }, nil
}

func displayAddr(a string) string {
	if strings.HasPrefix(a, "[::]:") {
		return "localhost:" + strings.TrimPrefix(a, "[::]:")
	}
	if strings.HasPrefix(a, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(a, "0.0.0.0:")
	}
	return a
}

func (a *app) printNext(base string) {
	fmt.Fprintf(a.stdout, `
Strata is running: %[1]s   (data in %[2]s; Ctrl-C stops it)

Try, in another terminal ("make build" puts the CLI in bin/strata):
  curl %[1]s/api/v1/envs/prod/tables
  curl '%[1]s/api/v1/envs/prod/tables/clean.orders/rows?limit=5'
  strata table list --env dev
  strata sql --env prod "SELECT status, count(*) AS orders, round(sum(amount), 2) AS revenue FROM clean.orders GROUP BY status ORDER BY revenue DESC"
  strata table snapshots --env dev raw.orders
  strata release list --env prod
  python -c "import mlflow; mlflow.set_tracking_uri('%[1]s'); print(mlflow.search_experiments())"
  curl -s '%[1]s/get-online-features?env=dev' -d '{"features": ["user_orders:orders", "user_orders:total"], "entities": {"user_id": [1, 2]}}'
The API is described at %[1]s/api/v1/openapi.yaml; metrics are at %[1]s/metrics.
`, base, a.cfg.DataDir)
}

func (a *app) loadDemo(cmd *cobra.Command) error {
	ctx := cmd.Context()
	done, err := demo.Loaded(ctx, a.envs)
	if err != nil || done {
		return err
	}
	fmt.Fprintln(a.stderr, "loading the demo dataset (users, orders, events) into dev and prod ...")
	return demo.Load(ctx, a.envs, a.actor())
}

func (a *app) demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Load the demo dataset (raw.users, raw.orders, raw.events, clean.orders) into dev and publish it to prod",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			done, err := demo.Loaded(cmd.Context(), a.envs)
			if err != nil {
				return err
			}
			if done {
				fmt.Fprintln(a.stdout, "the demo dataset is already loaded")
				return nil
			}
			if err := demo.Load(cmd.Context(), a.envs, a.actor()); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "loaded the demo dataset into dev and published it as prod release 1")
			fmt.Fprintln(a.stdout, `try: strata sql --env prod "SELECT status, count(*) FROM clean.orders GROUP BY status"`)
			return nil
		},
	}
}

// repairRefs makes every prod environment's Iceberg refs say what its current release says, in case a publish
// or rollback was killed between its pins and its ref moves (envs.SyncRefs): other engines then read the
// release again. A failure is logged, not fatal: Strata's own readers follow the pins whatever the refs say.
func (a *app) repairRefs(ctx context.Context, log *slog.Logger) {
	list, err := a.envs.List(ctx)
	if err != nil {
		log.Warn("cannot list environments to check their Iceberg refs", "err", err)
		return
	}
	for _, e := range list {
		if e.Kind != envs.KindProd {
			continue
		}
		if err := a.envs.SyncRefs(ctx, e.Name); err != nil {
			log.Warn("cannot bring the Iceberg refs in line with the current release", "env", e.Name, "err", err)
		}
	}
}
