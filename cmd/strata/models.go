package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/registry"
)

func (a *app) modelsCmd() *cobra.Command {
	c := &cobra.Command{Use: "models", Short: "List and show registered models (MLflow model registry)"}
	c.AddCommand(a.modelsListCmd(), a.modelsShowCmd())
	return c
}

func (a *app) registryStore(cmd *cobra.Command) (*registry.Store, error) {
	store, err := a.trackingStore(cmd.Context())
	if err != nil {
		return nil, err
	}
	return registry.NewStore(store), nil
}

func (a *app) modelsListCmd() *cobra.Command {
	var filter string
	c := &cobra.Command{
		Use:     "list",
		Short:   "List registered models with their aliases and latest version",
		Example: `  strata models list --filter "name LIKE 'churn%'"`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := a.registryStore(cmd)
			if err != nil {
				return err
			}
			models, _, err := reg.SearchRegisteredModels(cmd.Context(), registry.SearchInput{Filter: filter, MaxResults: 1000})
			if err != nil {
				return err
			}
			if models == nil {
				models = []*registry.RegisteredModel{}
			}
			return a.print(models, func(w io.Writer) {
				row(w, "NAME", "LATEST", "ALIASES", "UPDATED")
				for _, m := range models {
					latest := "-"
					for _, v := range m.LatestVersions {
						latest = v.Version
					}
					row(w, m.Name, latest, aliasList(m.Aliases), fmtMillis(m.LastUpdatedTimestamp))
				}
			})
		},
	}
	c.Flags().StringVar(&filter, "filter", "", "MLflow registered-model filter")
	return c
}

func aliasList(as []registry.Alias) string {
	if len(as) == 0 {
		return "-"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Alias + "→v" + a.Version
	}
	return strings.Join(parts, " ")
}

type modelView struct {
	Model    *registry.RegisteredModel `json:"registered_model"`
	Versions []*registry.ModelVersion  `json:"model_versions"`
}

func (a *app) modelsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a registered model: description, aliases, tags and every version",
		Example: `  strata models show churn`,
		Args:    exactArgs(1, "a model name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := a.registryStore(cmd)
			if err != nil {
				return err
			}
			m, err := reg.GetRegisteredModel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			vs, _, err := reg.SearchModelVersions(cmd.Context(), registry.SearchInput{
				Filter: fmt.Sprintf("name = '%s'", strings.ReplaceAll(m.Name, "'", "''")), OrderBy: []string{"version_number DESC"}})
			if err != nil {
				return err
			}
			if vs == nil {
				vs = []*registry.ModelVersion{}
			}
			return a.print(modelView{Model: m, Versions: vs}, func(w io.Writer) {
				row(w, "model", m.Name)
				if m.Description != "" {
					row(w, "description", m.Description)
				}
				row(w, "aliases", aliasList(m.Aliases))
				for _, t := range m.Tags {
					row(w, "tag", t.Key, t.Value)
				}
				row(w, "VERSION", "STAGE", "STATUS", "RUN", "SOURCE")
				for _, v := range vs {
					row(w, v.Version, v.CurrentStage, v.Status, orDash(v.RunID), v.Source)
				}
			})
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
