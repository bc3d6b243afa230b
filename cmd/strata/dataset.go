package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/rowfmt"
	"github.com/strata-data/strata/tracking"
)

func (a *app) datasetCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dataset",
		Short: "Build point-in-time training sets from feature views, and inspect their lineage",
	}
	c.AddCommand(a.datasetBuildCmd(), a.datasetListCmd(), a.datasetShowCmd(), a.datasetExportCmd(), a.datasetCacheCmd())
	return c
}

// processStart is about when the process started (package variables are set before main runs).
var processStart = time.Now()

func (a *app) datasetBuildCmd() *cobra.Command {
	var req features.DatasetRequest
	var params, refs []string
	var seed int64
	var runID string
	var verbose bool
	c := &cobra.Command{
		Use:   "build NAME --spine FILE|zone.table --features view:feature,...",
		Short: "Join a spine with feature views as of each spine row's time and write datasets.NAME",
		Long: `Join a spine (entity keys and a timestamp per row; a Parquet or CSV file, or a lake table) with feature
views as of each spine row's time, and write the result to the lake table datasets.NAME (overwritten; each build
is a new version with its lineage: definition versions, parameter values, input snapshot ids, spine digest).

Per spine row and view: the feature row with the same keys whose event time is the latest at or before the
spine time, and not older than the view's TTL; ties on event time go to the latest created time. Rows without
a match get NULLs and are kept, duplicates included; the column spine_row is each row's position in the spine
(ORDER BY spine_row gives spine order). In a prod environment the
views read the current release's pinned snapshots.

--features takes view:feature references and feature service names. A parameterised view is instantiated with
view(param=value,...):feature; with --full-names its columns are view__feature, and when the dataset holds
several instances of one view, a non-default instance's are <instance name>__feature (view__p<hash>__feature,
the name of the instance's table in zone features). --sample keeps round(fraction x rows) spine rows (of each
--stratify value), chosen by --seed; the seed is recorded in the lineage, and the same seed keeps the same rows.`,
		Example: `  strata dataset build churn_train --spine spine.parquet --features user_stats:total,user_stats:country
  strata dataset build churn_train --spine datasets.labels --features orders_agg:n --param orders_agg.window_days=7 --full-names
  strata dataset build churn_train --spine spine.parquet --features 'orders_agg(window_days=7):n,orders_agg(window_days=30):n' --full-names
  strata dataset build churn_train --spine spine.parquet --features churn_v2 --sample 0.1 --seed 7 --stratify label`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			started := time.Now()
			req.Name = args[0]
			for _, r := range refs {
				req.Features = append(req.Features, features.SplitRefs(r)...)
			}
			p, err := parseParams(params)
			if err != nil {
				return err
			}
			req.Params, req.Actor = p, a.actor()
			if cmd.Flags().Changed("seed") {
				req.Seed = &seed
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			opened := time.Now()
			eng, err := a.engine()
			if err != nil {
				return err
			}
			engineAt := time.Now()
			var store *tracking.Store
			if runID != "" { // the run must exist before anything is built
				if store, err = a.trackingStore(cmd.Context()); err != nil {
					return err
				}
				if _, err := store.GetRun(cmd.Context(), runID); err != nil {
					return fmt.Errorf("--run %s: %w", runID, err)
				}
			}
			req.SplitWrite = verbose || a.output != "table"
			b := &features.Builder{Registry: features.NewRegistry(a.db), Envs: a.envs, Engine: eng, Cache: a.datasetCache()}
			buildAt := time.Now()
			ds, err := b.Build(cmd.Context(), req)
			if err != nil {
				return err
			}
			if store != nil {
				if err := logDatasetInput(cmd.Context(), store, runID, ds); err != nil {
					return fmt.Errorf("built %s version %d, but recording it as an input of run %s failed: %w", ds.Table, ds.Version, runID, err)
				}
			}
			end := time.Now()
			ds.Phases = append([]features.Phase{
				{Name: "start", Seconds: started.Sub(processStart).Seconds()},
				{Name: "open", Seconds: opened.Sub(started).Seconds()},
				{Name: "engine", Seconds: engineAt.Sub(opened).Seconds()},
				{Name: "run", Seconds: buildAt.Sub(engineAt).Seconds()},
			}, ds.Phases...)
			if store != nil {
				ds.Phases = append(ds.Phases, features.Phase{Name: "log_input", Seconds: end.Sub(buildAt).Seconds() - phaseSum(ds.Phases[4:])})
			}
			ds.Phases = append(ds.Phases, features.Phase{Name: "total", Seconds: end.Sub(processStart).Seconds()})
			return a.print(ds, func(w io.Writer) {
				fmt.Fprintf(w, "built %s version %d in %s: %d rows (snapshot %d)\n", ds.Table, ds.Version, ds.Env, ds.Rows, ds.SnapshotID)
				if verbose {
					writePhases(w, ds.Phases)
					switch ds.Join {
					case "cache":
						fmt.Fprintln(w, "joined from the training-set cache")
					case "cache_filled":
						fmt.Fprintln(w, "joined from the training-set cache (this build filled its entry: later builds of the same snapshots read it)")
					default:
						if ds.JoinReason != "" {
							fmt.Fprintf(w, "joined in DuckDB: %s\n", ds.JoinReason)
						}
					}
				}
				if ds.JoinNote != "" {
					fmt.Fprintf(w, "note: joined in DuckDB, not from the training-set cache: %s\n", ds.JoinNote)
				}
			})
		},
	}
	c.Flags().StringVar(&req.Env, "env", "dev", "environment")
	c.Flags().StringVar(&req.Spine, "spine", "", "the spine: a Parquet or CSV file, or a lake table zone.table (required)")
	c.Flags().StringVar(&req.SpineTime, "spine-time", "event_timestamp", "the spine's timestamp column")
	c.Flags().StringArrayVar(&refs, "features", nil, "a feature service name, or view:feature (view@N:feature pins a version, view(param=value,...):feature\n"+
		"instantiates a parameterised view, view:* takes every feature); comma-separated or repeated (required)")
	c.Flags().StringArrayVar(&params, "param", nil, "VIEW.PARAM=VALUE for a view with a SQL source (repeatable)")
	c.Flags().BoolVar(&req.Force, "force", false, "write the dataset in a prod environment (staged until a release pins it)")
	c.Flags().BoolVar(&req.FullNames, "full-names", false, "name feature columns view__feature")
	c.Flags().StringVar(&runID, "run", "", "record the dataset as an MLflow dataset input (context training) of this run")
	c.Flags().Float64Var(&req.Sample, "sample", 0, "keep this fraction of the spine's rows (0 < f <= 1), chosen by --seed")
	c.Flags().Int64Var(&seed, "seed", 0, "the sampling seed: the same seed keeps the same rows (default: a random seed, recorded in the lineage)")
	c.Flags().StringVar(&req.Stratify, "stratify", "", "sample each value of this spine column's rows in the same proportion")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print where the build's time went, phase by phase (-o json always has it, as phases)")
	_ = c.MarkFlagRequired("spine")
	_ = c.MarkFlagRequired("features")
	return c
}

func phaseSum(ps []features.Phase) float64 {
	var s float64
	for _, p := range ps {
		s += p.Seconds
	}
	return s
}

// phaseHelp says what each phase of a build is.
var phaseHelp = map[string]string{
	"start":     "process start until the command runs",
	"open":      "configuration, metadata database, lake",
	"engine":    "DuckDB engine",
	"run":       "checks before the build (--run)",
	"check":     "the environment's write rule",
	"plan":      "definitions, input tables, spine columns and digest",
	"prepare":   "the join's DuckDB database and prepared statement",
	"join_copy": "the point-in-time join and its Parquet copy",
	"commit":    "the Iceberg commit and the write's audit entry",
	"write":     "the join, its Parquet copy and the Iceberg commit",
	"record":    "the dataset's lineage",
	"log_input": "the MLflow dataset input of --run",
	"total":     "since the process started",
}

// writePhases prints a build's phases with their durations.
func writePhases(w io.Writer, ps []features.Phase) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tSECONDS\t")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%.3f\t%s\n", p.Name, p.Seconds, phaseHelp[p.Name])
	}
	_ = tw.Flush()
}

// logDatasetInput records ds as an MLflow dataset input of the run, with the tag mlflow.data.context=training.
func logDatasetInput(ctx context.Context, store *tracking.Store, runID string, ds *features.Dataset) error {
	m := ds.MLflowDataset()
	return store.LogInputs(ctx, runID, []tracking.DatasetInput{{
		Tags:    []tracking.KeyValue{{Key: "mlflow.data.context", Value: "training"}},
		Dataset: tracking.Dataset{Name: m.Name, Digest: m.Digest, SourceType: m.SourceType, Source: m.Source, Schema: m.Schema},
	}}, nil)
}

func parseParams(in []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, p := range in {
		k, v, ok := strings.Cut(p, "=")
		view, name, ok2 := strings.Cut(k, ".")
		if !ok || !ok2 || view == "" || name == "" {
			return nil, errs.E(errs.Invalid, "--param %q: write VIEW.PARAM=VALUE", p)
		}
		if out[view] == nil {
			out[view] = map[string]string{}
		}
		out[view][name] = v
	}
	return out, nil
}

func (a *app) datasetListCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the datasets built in an environment (latest version of each)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := a.featureRegistry(cmd.Context(), env)
			if err != nil {
				return err
			}
			list, err := features.ReadableDatasets(cmd.Context(), reg, a.envs, env)
			if err != nil {
				return err
			}
			return a.print(list, func(w io.Writer) { writeDatasets(w, list) })
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	return c
}

func writeDatasets(w io.Writer, list []features.Dataset) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tTABLE\tROWS\tSNAPSHOT\tBUILT\tBY")
	for _, d := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\n", d.Name, d.Version, d.Table, d.Rows, d.SnapshotID,
			time.UnixMilli(d.CreatedMs).UTC().Format("2006-01-02 15:04:05Z"), d.Actor)
	}
	_ = tw.Flush()
}

func (a *app) datasetShowCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show every build of a dataset with its lineage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			all, err := features.ReadableDataset(cmd.Context(), features.NewRegistry(a.db), a.envs, env, args[0])
			if err != nil {
				return err
			}
			return a.print(all, func(w io.Writer) {
				writeDatasets(w, all)
				for _, d := range all {
					writeLineage(w, d)
				}
			})
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	return c
}

func writeLineage(w io.Writer, d features.Dataset) {
	l := d.Lineage
	fmt.Fprintf(w, "\nversion %d: spine %s (time column %s, %s)\n", d.Version, l.Spine, l.SpineTime, l.SpineDigest)
	if sm := l.Sampling; sm != nil {
		fmt.Fprintf(w, "  sample %g seed %d", sm.Fraction, sm.Seed)
		if sm.Stratify != "" {
			fmt.Fprintf(w, " stratified by %s", sm.Stratify)
		}
		fmt.Fprintln(w)
	}
	for _, s := range l.Services {
		fmt.Fprintf(w, "  service %s@%d\n", s.Name, s.Version)
	}
	for _, v := range l.Views {
		fmt.Fprintf(w, "  %s@%d: %s", v.View, v.Version, strings.Join(v.Features, ", "))

		if len(v.Params) > 0 {
			var ps []string
			for k, val := range v.Params {
				ps = append(ps, fmt.Sprintf("%s=%v", k, val))
			}
			sort.Strings(ps)
			fmt.Fprintf(w, " (%s)", strings.Join(ps, " "))
		}
		for _, in := range v.Inputs {
			fmt.Fprintf(w, " <- %s@%d", in.Table, in.SnapshotID)
		}
		if v.Instance != "" {
			fmt.Fprintf(w, " [instance %s]", v.Instance)
		}
		fmt.Fprintln(w)
	}
}

func (a *app) datasetExportCmd() *cobra.Command {
	var env, format, out string
	var version int64
	c := &cobra.Command{
		Use:   "export NAME --out FILE [--format parquet|csv]",
		Short: "Write a dataset's rows, in spine order, to a Parquet or CSV file",
		Long: `Write the rows of a dataset (the latest build, or --version N) to a file, in spine order, without the
spine_row column. The format is --format, else the file's extension (.parquet, .csv, .json, .jsonl, .arrow).
In a prod environment only released builds are read: the default is the latest build a release pins (the one
dataset list shows), even while a newer build is staged.`,
		Example: "  strata dataset export churn_train --out churn_train.parquet\n  strata dataset export churn_train --version 2 --format csv --out train.csv",
		Args:    exactArgs(1, "the dataset's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("%w: give the file to write with --out FILE", errUsage)
			}
			f, err := a.sqlFormat(format, out)
			if err != nil {
				return err
			}
			if f == rowfmt.Table {
				return fmt.Errorf("%w: --format table is for reading on a terminal: use parquet or csv", errUsage)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			b := &features.Builder{Registry: features.NewRegistry(a.db), Envs: a.envs, Engine: eng}
			res, _, err := b.Export(cmd.Context(), env, args[0], version)
			if err != nil {
				return err
			}
			defer res.Close()
			return a.writeRowsFile(out, res, f)
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	c.Flags().StringVar(&format, "format", "", "parquet or csv (also json, jsonl, arrow; default: from --out's extension)")
	c.Flags().StringVar(&out, "out", "", "the file to write (required)")
	c.Flags().Int64Var(&version, "version", 0, "the dataset version to export (default: the latest; in prod the latest released)")
	return c
}

func (a *app) datasetCacheCmd() *cobra.Command {
	var clearAll bool
	c := &cobra.Command{
		Use:   "cache",
		Short: "List the training-set cache's entries (datasets.cache_dir), or --clear them",
		Long: "Lists the entries of the training-set cache: per snapshot of a view's source table, its rows in the form a\n" +
			"point-in-time join reads fastest (filled by a snapshot's second build, read by the later ones). --clear removes\n" +
			"them all (builds fill them again); builds that are reading one keep reading it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			pc := &features.PITCache{Dir: cfg.Datasets.CacheDir, MaxBytes: cfg.Datasets.CacheBytes}
			if clearAll {
				freed, err := pc.Clear()
				if err != nil {
					return fmt.Errorf("clear the training-set cache in %s: %w", pc.Dir, err)
				}
				out := struct {
					Dir        string `json:"dir"`
					FreedBytes int64  `json:"freed_bytes"`
				}{pc.Dir, freed}
				return a.print(out, func(w io.Writer) { fmt.Fprintf(w, "cleared %s: %s freed\n", pc.Dir, fmtBytes(freed)) })
			}
			list, err := pc.List()
			if err != nil {
				return fmt.Errorf("read the training-set cache in %s: %w", pc.Dir, err)
			}
			return a.print(list, func(w io.Writer) {
				var total int64
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TABLE\tKEY\tEVENT TIME\tROWS\tCOLUMNS\tSIZE\tLAST USED\tFILE")
				for _, e := range list {
					total += e.Bytes
					table := e.Table
					if e.View != "" { // a SQL or aggregated view's rows
						table = "view " + e.View + " (" + e.Table + ")"
					}
					if e.Problem != "" {
						table = "(unreadable: " + e.Problem + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", table, e.Key, e.EventTime, e.Rows, e.Columns, fmtBytes(e.Bytes), e.LastUsed, filepath.Base(e.File))
				}
				_ = tw.Flush()
				state := fmt.Sprintf("at most %s", fmtBytes(cfg.Datasets.CacheBytes))
				if cfg.Datasets.CacheBytes == 0 {
					state = "off (datasets.cache_bytes: 0)"
				}
				fmt.Fprintf(w, "%d entries, %s in %s (%s)\n", len(list), fmtBytes(total), pc.Dir, state)
			})
		},
	}
	c.Flags().BoolVar(&clearAll, "clear", false, "remove every entry")
	c.AddCommand(a.datasetCacheWarmCmd())
	return c
}

func (a *app) datasetCacheWarmCmd() *cobra.Command {
	var env string
	var params []string
	c := &cobra.Command{
		Use:   "warm FEATURES...",
		Short: "Fill the training-set cache's entries that builds of these features will read",
		Long: `Fill the training-set cache's entries for the snapshots the environment's readers see now (prod: the current
release's pins), so that the next dataset build of these features reads them at once instead of joining in
DuckDB first (a snapshot's first build otherwise joins in DuckDB and its second fills the entry). FEATURES are
what dataset build's --features takes: view:feature references and feature service names (one entry serves every
build of a view instance, whichever of its features it asks for). Run it after loading new data, e.g. as a
pipeline's last step. Views the cache cannot hold are listed as skipped, with the reason.`,
		Example: `  strata dataset cache warm churn_v2 --env prod
  strata dataset cache warm 'user_stats:*' 'orders_agg(window_days=7):n'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var refs []string
			for _, r := range args {
				refs = append(refs, features.SplitRefs(r)...)
			}
			p, err := parseParams(params)
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			b := &features.Builder{Registry: features.NewRegistry(a.db), Envs: a.envs, Engine: eng, Cache: a.datasetCache()}
			if b.Cache == nil {
				return fmt.Errorf("the training-set cache is off (datasets.cache_bytes: 0): set datasets.cache_bytes to warm it: %w", features.ErrInvalid)
			}
			stop := a.progress("warming the training-set cache", b.Cache.FillRows)
			warm, err := b.WarmCache(cmd.Context(), env, refs, p)
			stop()
			if err != nil {
				return err
			}
			return a.print(warm, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "VIEW\tTABLE\tSNAPSHOT\tSTATE\tROWS\tSIZE\tSECONDS")
				for _, e := range warm {
					view := e.View
					if e.Instance != "" {
						view += " (" + e.Instance + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%.2f\n", view, e.Table, e.Snapshot, e.State, e.Rows, fmtBytes(e.Bytes), e.Seconds)
				}
				_ = tw.Flush()
				for _, e := range warm {
					if e.Reason != "" {
						fmt.Fprintf(w, "%s (%s): %s\n", e.View, e.State, e.Reason)
					}
				}
			})
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	c.Flags().StringArrayVar(&params, "param", nil, "VIEW.PARAM=VALUE for a view with a SQL source (repeatable)")
	return c
}

// datasetCache is the training-set cache of datasets.cache_bytes, nil when it is off.
func (a *app) datasetCache() *features.PITCache {
	if a.cfg == nil || a.cfg.Datasets.CacheBytes <= 0 {
		return nil
	}
	return &features.PITCache{Dir: a.cfg.Datasets.CacheDir, MaxBytes: a.cfg.Datasets.CacheBytes}
}
