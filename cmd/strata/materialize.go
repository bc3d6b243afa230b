package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
)

// openOnlineSink returns nil: materialize writes the offline tables only. The online store is a cache the
// serving process (strata serve) loads from those tables, at the snapshot each environment's readers see,
// within serving.sync_interval (feastapi.Syncer): the embedded store's file is locked by the running server, and
// prod rows must reach serving only through a published release.
func openOnlineSink(a *app) (features.OnlineSink, func(), error) {
	_ = a
	return nil, func() {}, nil
}

func (a *app) materializeCmd() *cobra.Command {
	var req features.MaterializeRequest
	var start, end string
	c := &cobra.Command{
		Use:   "materialize [VIEW|VIEW(param=value,...)]...",
		Short: "Compute feature views into their offline tables (zone features) and online views into the online store",
		Long: `Compute view instances into their offline tables features.<instance> (one snapshot per table per run) and,
for views with online: true, the latest row per entity into the online store. An instance is a view with
parameter values: VIEW (its defaults), VIEW@N (a pinned version), VIEW(param=value,...). Without arguments:
every view's default instance and every instance a feature service names.

A feature table has the join keys, event_ts, created_ts and the features (window aggregations computed per
event time). A run is full (the table is replaced), a range run with --start/--end (the rows of [start, end)
are recomputed, the others kept), or --incremental: the rows the table lacks are appended among event times
after the last materialised one (the watermark of the last run of the same definition version) and late rows
(older event times, arriving later): those created at or after the table's latest created time when the view
has a created time, else those within the view's TTL before the watermark (all rows with TTL 0). For a view
with window aggregations, the rows of each entity with late rows whose windows may hold them are recomputed
too, so the table is what a full run would give. Every run is recorded: strata materialize runs.

A full run makes the table's columns the view's: a feature removed from the view is dropped from the table
(older snapshots keep it). Range and incremental runs keep the table's columns, and say which ones the view no
longer declares.

In a prod environment (with --force) the views read the current release's pinned snapshots, and the tables
written are staged: readers and online serving see them once a release pins them.`,
		Example: `  strata materialize --env dev
  strata materialize user_stats 'orders_agg(window_days=7)' --incremental
  strata materialize user_stats --start 2026-11-01 --end 2026-12-01`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Views, req.Actor = args, a.actor()
			var err error
			if start != "" {
				if req.Start, err = envs.ParseTime(start); err != nil {
					return fmt.Errorf("--start: %w", err)
				}
			}
			if end != "" {
				if req.End, err = envs.ParseTime(end); err != nil {
					return fmt.Errorf("--end: %w", err)
				}
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			sink, closeSink, err := openOnlineSink(a)
			if err != nil {
				return err
			}
			defer closeSink()
			req.Progress = func(inst string) func(rows func() int64) func() {
				return func(rows func() int64) func() { return a.progress("materializing "+inst, rows) }
			}
			m := &features.Materializer{Registry: features.NewRegistry(a.db), Envs: a.envs, Engine: eng, Online: sink}
			runs, err := m.Materialize(cmd.Context(), req)
			if len(runs) > 0 {
				if perr := a.print(runs, func(w io.Writer) { writeMaterializeRuns(w, runs) }); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	c.Flags().StringVar(&req.Env, "env", "dev", "environment")
	c.Flags().StringVar(&start, "start", "", "first event time to compute (RFC 3339 or a date, UTC)")
	c.Flags().StringVar(&end, "end", "", "event time to stop before (RFC 3339 or a date, UTC)")
	c.Flags().BoolVar(&req.Incremental, "incremental", false, "append the rows after the last materialised event time, and late rows (by created time, else within the TTL)")
	c.Flags().BoolVar(&req.Force, "force", false, "materialise in a prod environment (staged until a release pins the tables)")
	c.AddCommand(a.materializeRunsCmd())
	return c
}

func (a *app) materializeRunsCmd() *cobra.Command {
	var env, view string
	var limit int
	c := &cobra.Command{
		Use:   "runs",
		Short: "List materialisation runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := a.featureRegistry(cmd.Context(), env)
			if err != nil {
				return err
			}
			runs, err := reg.MaterializeRuns(cmd.Context(), env, view, limit)
			if err != nil {
				return err
			}
			return a.print(runs, func(w io.Writer) { writeMaterializeRuns(w, runs) })
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	c.Flags().StringVar(&view, "view", "", "only the runs of this view's instances")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many runs")
	return c
}

func writeMaterializeRuns(w io.Writer, runs []features.MaterializeRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tTABLE\tVIEW\tMODE\tEVENT TIMES\tROWS\tONLINE\tSNAPSHOT\tDURATION\tSTATUS")
	for _, r := range runs {
		status := r.Status
		if r.Error != "" {
			status += ": " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s@%d%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", fmtMillis(r.StartedMs), r.Table, r.View, r.ViewVersion, paramsText(r.Params),
			r.Mode, eventRange(r), r.Rows, r.OnlineRows, r.SnapshotID, (time.Duration(r.DurationMs) * time.Millisecond).String(), status)
	}
	_ = tw.Flush()
	for _, r := range runs {
		if r.Note != "" {
			fmt.Fprintf(w, "note: %s\n", r.Note)
		}
	}
}

func paramsText(p map[string]any) string {
	if len(p) == 0 {
		return ""
	}
	var parts []string
	for k, v := range p {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ",") + ")"
}

func eventRange(r features.MaterializeRun) string {
	if r.MinEvent == nil {
		return "-"
	}
	return fmtTime(*r.MinEvent) + " .. " + fmtTime(*r.MaxEvent)
}
