package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/move"
)

func (a *app) moveCmd() *cobra.Command {
	c := &cobra.Command{Use: "move", Short: "Run declarative data-movement jobs (jobs/*.yaml) and see their runs"}
	c.AddCommand(a.moveRunCmd(), a.movePlanCmd(), a.moveRunsCmd(), a.moveShowCmd())
	return c
}

// moveJob parses a job file and resolves its params with --param overrides. The file is found as given, else
// in the project directory (`strata -C shop move run jobs/x.yaml`); the job's relative local paths are the
// project directory's, wherever strata runs.
func (a *app) moveJob(file string, paramArgs []string) (*move.Spec, move.Params, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	if _, serr := os.Stat(file); serr != nil && !filepath.IsAbs(file) {
		if _, perr := os.Stat(filepath.Join(cfg.Dir, file)); perr == nil {
			file = filepath.Join(cfg.Dir, file)
		}
	}
	spec, err := move.ParseFile(file)
	if err != nil {
		return nil, nil, err
	}
	spec.ResolvePaths(cfg.Dir)
	over, err := move.ParseOverrides(paramArgs)
	if err != nil {
		return nil, nil, err
	}
	ps, err := move.ResolveParams(spec, over, time.Now())
	if err != nil {
		return nil, nil, err
	}
	return spec, ps, nil
}

func (a *app) moveDeps(ctx context.Context, env string, force bool) (move.Deps, error) {
	if err := a.open(ctx); err != nil {
		return move.Deps{}, err
	}
	eng, err := a.engine()
	if err != nil {
		return move.Deps{}, err
	}
	return move.Deps{DB: a.db, Envs: a.envs, Engine: eng, Env: env, Force: force, Actor: a.actor(), Hook: a.faultHook(),
		Lookup: func(k string) (string, bool) {
			for _, kv := range a.environ {
				if strings.HasPrefix(kv, k+"=") {
					return kv[len(k)+1:], true
				}
			}
			return "", false
		}}, nil
}

func (a *app) moveRunCmd() *cobra.Command {
	var env string
	var params []string
	var force bool
	var cpuProfile, memProfile string
	c := &cobra.Command{
		Use:   "run JOB.yaml",
		Short: "Run a job: stream its source into its target table (one snapshot) and record the run",
		Example: `  strata move run jobs/orders.yaml --env dev
  strata move run jobs/orders.yaml --env dev --param day=2026-11-24
  strata move run jobs/orders.yaml --env prod --force   # a direct prod write, staged until a release`,
		Args: exactArgs(1, "a job file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			spec, ps, err := a.moveJob(args[0], params)
			if err != nil {
				return err
			}
			d, err := a.moveDeps(ctx, env, force)
			if err != nil {
				return err
			}
			d.Progress = func(rows func() int64) func() { return a.progress("moving "+spec.Name, rows) }
			stop, err := startProfiles(cpuProfile, memProfile, "")
			if err != nil {
				return err
			}
			rec, err := move.Run(ctx, d, spec, ps)
			stop()
			if err != nil {
				if rec != nil && rec.Status == move.StatusFailed {
					return fmt.Errorf("run %s of job %s failed: %w", rec.ID, spec.Name, err)
				}
				return err
			}
			return a.print(rec, func(w io.Writer) { printMoveRun(w, rec) })
		},
	}
	envFlag(c, &env)
	c.Flags().StringArrayVar(&params, "param", nil, "set a job param: name=value (repeatable)")
	c.Flags().BoolVar(&force, "force", false, "allow a direct write to a prod environment (audited)")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	c.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (in-use and allocations) at the end of the run to this file")
	_ = c.Flags().MarkHidden("cpuprofile")
	_ = c.Flags().MarkHidden("memprofile")
	return c
}

func printMoveRun(w io.Writer, r *move.RunRecord) {
	fmt.Fprintf(w, "run %s of job %s in %s: %s\n", r.ID, r.Job, r.Env, r.Status)
	fmt.Fprintf(w, "rows: %d read, %d written, %d rejected; %s in %s\n", r.RowsRead, r.RowsWritten, r.RowsRejected,
		fmtBytes(r.Bytes), (time.Duration(r.DurationMS) * time.Millisecond).String())
	if r.SnapshotID != 0 {
		fmt.Fprintf(w, "target %s.%s: snapshot %d\n", r.Env, r.Target, r.SnapshotID)
	}
	if len(r.Files) > 0 {
		fmt.Fprintf(w, "target %s: %d files\n", r.Target, len(r.Files))
	}
	if r.FilesTotal > 0 {
		fmt.Fprintf(w, "rewrote %d of the table's %d data files (those whose key bounds can hold a new row)\n", r.FilesRewritten, r.FilesTotal)
	}
	if r.WatermarkBefore != "" || r.WatermarkAfter != "" {
		fmt.Fprintf(w, "watermark: %s → %s\n", orDash(r.WatermarkBefore), orDash(r.WatermarkAfter))
	}
	if r.Staged {
		fmt.Fprintf(w, "%s readers see it once a release pins it (strata release publish --env %s %s)\n", r.Env, r.Env, r.Target)
	}
	for _, b := range r.BadRows {
		fmt.Fprintf(w, "  skipped %s line %d, column %s: %s\n", b.File, b.Line, b.Column, b.Message)
	}
	if r.Quarantined > 0 {
		fmt.Fprintf(w, "%d rejected rows kept in the quarantine table (snapshot %d)\n", r.Quarantined, r.QuarantineSnapshot)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
}

func (a *app) movePlanCmd() *cobra.Command {
	var env string
	var params []string
	c := &cobra.Command{
		Use:   "plan JOB.yaml",
		Short: "Show what a run would do: resolved params, source columns, target schema difference (writes nothing)",
		Args:  exactArgs(1, "a job file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			spec, ps, err := a.moveJob(args[0], params)
			if err != nil {
				return err
			}
			d, err := a.moveDeps(ctx, env, false)
			if err != nil {
				return err
			}
			p, err := move.Plan(ctx, d, spec, ps)
			if err != nil {
				return err
			}
			return a.print(p, func(w io.Writer) { printMovePlan(w, p) })
		},
	}
	envFlag(c, &env)
	c.Flags().StringArrayVar(&params, "param", nil, "set a job param: name=value (repeatable)")
	return c
}

func printMovePlan(w io.Writer, p *move.PlanResult) {
	if p.TargetType == "lake" {
		fmt.Fprintf(w, "job %s: %s → %s.%s (%s)\n", p.Job, p.Source, p.Env, p.Target, p.Mode)
	} else {
		fmt.Fprintf(w, "job %s: %s → %s %s (%s)\n", p.Job, p.Source, p.TargetType, p.Target, p.Mode)
	}
	for _, k := range sortedKeys(p.Params) {
		fmt.Fprintf(w, "param %s = %s\n", k, p.Params[k])
	}
	if p.Watermark != "" {
		fmt.Fprintf(w, "watermark: %s\n", p.Watermark)
	}
	fmt.Fprintf(w, "rows to read (estimate): %d\n", p.RowEstimate)
	fmt.Fprintln(w, "source columns:")
	for _, c := range p.SourceColumns {
		fmt.Fprintf(w, "  %s %s\n", c.Name, c.Type)
	}
	if p.TargetType != "lake" {
		return
	}
	if !p.TargetExists {
		fmt.Fprintf(w, "target %s does not exist: the run creates it\n", p.Target)
		return
	}
	for _, c := range p.AddedColumns {
		fmt.Fprintf(w, "+ %s %s (new column)\n", c.Name, c.Type)
	}
	for _, c := range p.MissingColumns {
		fmt.Fprintf(w, "- %s %s (the source lacks it)\n", c.Name, c.Type)
	}
	for _, c := range p.TypeChanges {
		fmt.Fprintf(w, "~ %s: source %s, target %s\n", c.Name, c.Source, c.Target)
	}
	if p.WouldFailSchema {
		fmt.Fprintln(w, "the run would fail: the columns differ (schema: evolve adds new columns)")
	} else if len(p.AddedColumns)+len(p.MissingColumns)+len(p.TypeChanges) == 0 {
		fmt.Fprintln(w, "target columns match")
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (a *app) moveRunsCmd() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "runs [JOB]",
		Short: "List move runs, newest first (of one job, or of all)",
		Args:  rangeArgs(0, 1, "at most one job name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			job := ""
			if len(args) == 1 {
				job = args[0]
			}
			runs, err := move.Runs(ctx, a.db, job, limit)
			if err != nil {
				return err
			}
			return a.print(runs, func(w io.Writer) {
				row(w, "RUN", "JOB", "ENV", "STATUS", "STARTED", "READ", "WRITTEN", "REJECTED", "SNAPSHOT")
				for _, r := range runs {
					row(w, r.ID, r.Job, r.Env, r.Status, r.StartedAt.Format(time.RFC3339), r.RowsRead, r.RowsWritten,
						r.RowsRejected, r.SnapshotID)
				}
			})
		},
	}
	c.Flags().IntVar(&limit, "limit", 100, "at most this many runs")
	return c
}

func (a *app) moveShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "Show one move run: rows, bytes, duration, watermark before and after, status, error",
		Args:  exactArgs(1, "a run id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			r, err := move.GetRun(ctx, a.db, args[0])
			if err != nil {
				return err
			}
			return a.print(r, func(w io.Writer) { printMoveRun(w, r) })
		},
	}
}
