package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/registry"
)

// lineageReport is what `strata lineage` prints: model version → run → datasets → views → snapshots.
type lineageReport struct {
	Model    string           `json:"model"`
	Version  int64            `json:"version"`
	Alias    string           `json:"alias,omitempty"`
	RunID    string           `json:"run_id"`
	Datasets []lineageDataset `json:"datasets"`
}

// lineageDataset is one dataset input of the run; Lineage is set for the datasets Strata built.
type lineageDataset struct {
	Name       string            `json:"name"`
	Digest     string            `json:"digest"`
	SourceType string            `json:"source_type"`
	Source     string            `json:"source"`
	Dataset    *features.Dataset `json:"dataset,omitempty"`
}

func (a *app) lineageCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lineage models:/NAME@ALIAS|models:/NAME/VERSION",
		Short: "Show what a model version was trained on: run, datasets, feature view versions and parameters, lake snapshots",
		Long: `Follow a registered model version to the run that produced it, the run's dataset inputs (recorded by
strata dataset build --run RUN_ID, or by the MLflow client), and for each dataset Strata built, the feature view
versions, parameter values and exact lake snapshots it was built from.`,
		Example: "  strata lineage models:/churn@champion\n  strata lineage models:/churn/3 -o json",
		Args:    exactArgs(1, "a model URI: models:/NAME@ALIAS or models:/NAME/VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name, alias, version, err := parseModelURI(args[0])
			if err != nil {
				return err
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			ts, err := a.trackingStore(ctx)
			if err != nil {
				return err
			}
			reg := registry.NewStore(ts)
			if alias != "" {
				if version, err = reg.ResolveAlias(ctx, name, alias); err != nil {
					return err
				}
			}
			mv, err := reg.GetModelVersion(ctx, name, version)
			if err != nil {
				return err
			}
			rep := lineageReport{Model: name, Version: version, Alias: alias, RunID: mv.RunID, Datasets: []lineageDataset{}}
			if mv.RunID == "" {
				return a.print(rep, func(w io.Writer) { writeLineageReport(w, rep) })
			}
			run, err := ts.GetRun(ctx, mv.RunID)
			if err != nil {
				return fmt.Errorf("model %s version %d names run %s: %w", name, version, mv.RunID, err)
			}
			reg2 := features.NewRegistry(a.db)
			for _, in := range run.Inputs.DatasetInputs {
				d := lineageDataset{Name: in.Dataset.Name, Digest: in.Dataset.Digest, SourceType: in.Dataset.SourceType, Source: in.Dataset.Source}
				var src features.MLflowSource
				if in.Dataset.SourceType == "strata" && json.Unmarshal([]byte(in.Dataset.Source), &src) == nil {
					all, err := reg2.Dataset(ctx, src.Env, src.Dataset)
					if err != nil {
						return err
					}
					for i := range all {
						if all[i].Version == src.Version {
							d.Dataset = &all[i]
						}
					}
				}
				rep.Datasets = append(rep.Datasets, d)
			}
			return a.print(rep, func(w io.Writer) { writeLineageReport(w, rep) })
		},
	}
}

// parseModelURI reads models:/NAME@ALIAS or models:/NAME/VERSION.
func parseModelURI(s string) (name, alias string, version int64, err error) {
	rest, ok := strings.CutPrefix(s, "models:/")
	if ok {
		if n, a, found := strings.Cut(rest, "@"); found && n != "" && a != "" {
			return n, a, 0, nil
		}
		if n, v, found := strings.Cut(rest, "/"); found && n != "" {
			if version, perr := strconv.ParseInt(v, 10, 64); perr == nil && version > 0 {
				return n, "", version, nil
			}
		}
	}
	return "", "", 0, fmt.Errorf("%w: %q: give a model as models:/NAME@ALIAS or models:/NAME/VERSION", errUsage, s)
}

func writeLineageReport(w io.Writer, rep lineageReport) {
	fmt.Fprintf(w, "model %s version %d", rep.Model, rep.Version)
	if rep.Alias != "" {
		fmt.Fprintf(w, " (@%s)", rep.Alias)
	}
	fmt.Fprintln(w)
	if rep.RunID == "" {
		fmt.Fprintln(w, "  no run recorded for this version")
		return
	}
	fmt.Fprintf(w, "  run %s\n", rep.RunID)
	if len(rep.Datasets) == 0 {
		fmt.Fprintln(w, "    no dataset inputs (strata dataset build ... --run RUN_ID records one)")
	}
	for _, d := range rep.Datasets {
		if d.Dataset == nil {
			fmt.Fprintf(w, "    dataset %s (%s, digest %s): %s\n", d.Name, d.SourceType, d.Digest, d.Source)
			continue
		}
		ds := d.Dataset
		fmt.Fprintf(w, "    dataset %s version %d in %s (snapshot %d, %d rows, digest %s)\n", ds.Table, ds.Version, ds.Env, ds.SnapshotID, ds.Rows, d.Digest)
		var sb strings.Builder
		writeLineage(&sb, *ds)
		for _, line := range strings.Split(strings.TrimSpace(sb.String()), "\n") {
			fmt.Fprintln(w, "      "+strings.TrimSpace(line))
		}
	}
}
