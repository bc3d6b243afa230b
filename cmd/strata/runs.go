package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/tracking"
)

func (a *app) trackingStore(ctx context.Context) (*tracking.Store, error) {
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	return tracking.NewStore(ctx, a.db, "")
}

func (a *app) runsCmd() *cobra.Command {
	c := &cobra.Command{Use: "runs", Short: "List and show MLflow runs (experiment tracking)"}
	c.AddCommand(a.runsListCmd(), a.runsShowCmd())
	return c
}

func (a *app) runsListCmd() *cobra.Command {
	var experiment, filter string
	var orderBy []string
	var limit int64
	c := &cobra.Command{
		Use:   "list",
		Short: "List runs of an experiment, newest first, with MLflow's filter grammar",
		Example: `  strata runs list --experiment churn
  strata runs list --experiment churn --filter "metrics.auc > 0.8 and params.model = 'rf'" --order-by "metrics.auc DESC"`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, err := a.trackingStore(ctx)
			if err != nil {
				return err
			}
			exp, err := store.GetExperimentByName(ctx, experiment)
			if err != nil {
				if exp, err = store.GetExperiment(ctx, experiment); err != nil {
					return fmt.Errorf("experiment %q not found (give its name or id): %w", experiment, err)
				}
			}
			runs, _, err := store.SearchRuns(ctx, tracking.SearchRunsInput{ExperimentIDs: []string{exp.ExperimentID},
				Filter: filter, OrderBy: orderBy, MaxResults: limit})
			if err != nil {
				return err
			}
			if runs == nil {
				runs = []*tracking.Run{}
			}
			return a.print(runs, func(w io.Writer) {
				row(w, "RUN ID", "NAME", "STATUS", "STARTED", "METRICS")
				for _, r := range runs {
					row(w, r.Info.RunID, r.Info.RunName, r.Info.Status, fmtMillis(r.Info.StartTime), metricSummary(r.Data.Metrics))
				}
			})
		},
	}
	c.Flags().StringVar(&experiment, "experiment", "Default", "experiment name or id")
	c.Flags().StringVar(&filter, "filter", "", "MLflow search filter")
	c.Flags().StringSliceVar(&orderBy, "order-by", nil, "order, e.g. \"metrics.auc DESC\"")
	c.Flags().Int64Var(&limit, "limit", 100, "maximum number of runs")
	return c
}

func metricSummary(ms []tracking.Metric) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s=%.4g", m.Key, float64(m.Value)))
	}
	sort.Strings(parts)
	if len(parts) > 4 {
		parts = append(parts[:4], "…")
	}
	return strings.Join(parts, " ")
}

func (a *app) runsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show RUN_ID",
		Short:   "Show a run: info, params, latest metrics, tags and dataset inputs",
		Example: `  strata runs show 3f2a…`,
		Args:    exactArgs(1, "a run id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := a.trackingStore(ctx)
			if err != nil {
				return err
			}
			run, err := store.GetRun(ctx, args[0])
			if err != nil {
				return err
			}
			return a.print(run, func(w io.Writer) {
				i := run.Info
				row(w, "run", i.RunID)
				row(w, "name", i.RunName)
				row(w, "experiment", i.ExperimentID)
				row(w, "status", i.Status)
				row(w, "started", fmtMillis(i.StartTime))
				if i.EndTime != nil {
					row(w, "ended", fmtMillis(*i.EndTime))
				}
				row(w, "artifacts", i.ArtifactURI)
				for _, p := range run.Data.Params {
					row(w, "param", p.Key, p.Value)
				}
				for _, m := range run.Data.Metrics {
					row(w, "metric", m.Key, fmt.Sprintf("%g (step %d)", float64(m.Value), m.Step))
				}
				for _, t := range run.Data.Tags {
					if !strings.HasPrefix(t.Key, "mlflow.") {
						row(w, "tag", t.Key, t.Value)
					}
				}
				for _, d := range run.Inputs.DatasetInputs {
					row(w, "dataset", d.Dataset.Name, "digest "+d.Dataset.Digest)
				}
			})
		},
	}
}
