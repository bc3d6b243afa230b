// Command strata is the Strata ML data platform: a zoned Iceberg lake with environments and releases, SQL over
// it, and the HTTP server (`strata serve`) — one binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	restoreGC() // first: the collector was off while the packages initialised (startgc.go)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdout, os.Stderr, os.Environ())
	a.exitAfter = true // the process exits next: its engines' databases are left to the exit (CloseForExit)
	code := a.execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code; it is the whole CLI, testable in process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	return newApp(stdout, stderr, environ).execute(ctx, args)
}

// execute runs one command line on a (which it closes) and returns the exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	defer a.close()
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown shorthand") {
		err = fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintln(a.stderr, "error:", err)
	if h := hint(err); h != "" {
		fmt.Fprintln(a.stderr, "hint:", h)
	}
	return exitCode(err)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "strata",
		Short: "Strata: a zoned Iceberg data lake, environments and releases, SQL, experiment tracking — in one binary",
		Long: `Strata gives a small data team one tool for data access, dev/prod environments and a central code base.

Tables are named environment . zone . table: --env prod clean.orders.
Zones: raw, clean, features, datasets. Environments: dev (latest data) and prod (only the current release).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&a.projectDir, "project", "C", envOr(a.environ, "STRATA_PROJECT", "."), "project directory (holds strata.yaml) [STRATA_PROJECT]")
	pf.StringVar(&a.configFile, "config", envOr(a.environ, "STRATA_CONFIG", ""), "configuration file (default <project>/strata.yaml) [STRATA_CONFIG]")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table, json or yaml")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "no progress lines on the terminal")
	root.PersistentPreRunE = a.before
	root.AddCommand(a.initCmd(), a.tableCmd(), a.sqlCmd(), a.releaseCmd(), a.envCmd(), a.serveCmd(), a.demoCmd(),
		a.runsCmd(), a.modelsCmd(), a.moveCmd(), a.versionCmd(), a.planCmd(), a.applyCmd(), a.featuresCmd(), a.datasetCmd(),
		a.materializeCmd(), a.lineageCmd())
	root.AddCommand(a.userCmd(), a.tokenCmd())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %v", errUsage, err) })
	return root
}

func envOr(environ []string, key, def string) string {
	for _, kv := range environ {
		if len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '=' {
			return kv[len(key)+1:]
		}
	}
	return def
}

// before runs ahead of every command: it checks -o for the command and notes which commands may run outside a
// project.
func (a *app) before(cmd *cobra.Command, _ []string) error {
	if cmd.Name() == "serve" {
		if f := cmd.Flags().Lookup("demo"); f != nil && f.Value.String() == "true" {
			a.projectOptional = true // the README's first command: demo data in ./strata-data
		}
	}
	return a.checkOutput(cmd)
}
