package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/demo"
	"github.com/strata-data/strata/server"
)

func (a *app) serveCmd() *cobra.Command {
	var addr, dataDir string
	var withDemo bool
	c := &cobra.Command{
		Use:   "serve",
		Short: "Start the Strata server (HTTP API, metrics, MLflow-compatible tracking)",
		Example: `  strata serve --demo          # embedded defaults in ./strata-data, with demo data
  STRATA_META_DSN=postgres://strata@db/strata strata serve --addr :8080`,
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
			if err := a.open(ctx); err != nil {
				return err
			}
			log := a.logger()
			if withDemo {
				if err := a.loadDemo(cmd); err != nil {
					return err
				}
			}
			eng, err := a.openEngine(false)
			if err != nil {
				return err
			}
			deps := server.Deps{DB: a.db, Envs: a.envs, Engine: eng, Log: log}
			mlflow, err := a.mlflowRoutes(ctx)
			if err != nil {
				return err
			}
			deps.Mounts = append(deps.Mounts, mlflow)
			srv := server.New(deps)
			ln, err := net.Listen("tcp", cfg.Server.Addr)
			if err != nil {
				return fmt.Errorf("%w: listen on %s: %v (use --addr or STRATA_SERVER_ADDR to pick another address)", errUsage, cfg.Server.Addr, err)
			}
			base := "http://" + displayAddr(ln.Addr().String())
			log.Info("strata is serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "meta", a.db.Dialect)
			a.printNext(base)
			return srv.Serve(ctx, ln, cfg.Server.ShutdownTimeout)
		},
	}
	c.Flags().StringVar(&addr, "addr", "", "listen address (default from server.addr, \":8080\")")
	c.Flags().StringVar(&dataDir, "data-dir", "", "data directory (overrides data_dir / STRATA_DATA_DIR)")
	c.Flags().BoolVar(&withDemo, "demo", false, "load the demo dataset into dev and prod if it is not there yet")
	return c
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
