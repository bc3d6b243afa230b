package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/features"
)

// loadFeatureDefs parses the project's features/ folder and validates it against env's tables.
func (a *app) loadFeatureDefs(ctx context.Context, env string) (*features.Defs, error) {
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	if _, err := a.envs.Get(ctx, env); err != nil {
		return nil, err
	}
	defs, err := features.LoadDir(filepath.Join(a.cfg.Dir, "features"))
	if err != nil {
		return nil, err
	}
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	return defs, features.Validate(ctx, defs, &features.EnvCatalog{Envs: a.envs, Engine: eng, Env: env})
}

func (a *app) planCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show what `strata apply` would change: feature definitions in features/ against the registry",
		Long: `Parse and validate every YAML file under the project's features/ folder against the environment's
tables, and list each definition the files add, change or remove compared with the environment's registry.`,
		Example: `  strata plan --env dev`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs, err := a.loadFeatureDefs(cmd.Context(), env)
			if err != nil {
				return err
			}
			plan, err := features.NewRegistry(a.db).Plan(cmd.Context(), env, defs)
			if err != nil {
				return err
			}
			return a.print(plan, func(w io.Writer) { writePlan(w, env, plan, "would store") })
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	return c
}

func (a *app) applyCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "apply",
		Short: "Store a new version of every feature definition in features/ that changed, in one transaction",
		Long: `Validate the project's features/ folder against the environment's tables and store a new immutable
version of every definition that changed (a removal version for every one the files no longer declare), all in
one audited transaction. Nothing is stored when any definition is invalid. Versions are per environment.`,
		Example: `  strata apply --env dev`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs, err := a.loadFeatureDefs(cmd.Context(), env)
			if err != nil {
				return err
			}
			applied, err := features.NewRegistry(a.db).Apply(cmd.Context(), env, defs, a.actor())
			if err != nil {
				return err
			}
			return a.print(applied, func(w io.Writer) { writePlan(w, env, applied, "stored") })
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	return c
}

func writePlan(w io.Writer, env string, plan []features.Change, verb string) {
	if len(plan) == 0 {
		fmt.Fprintf(w, "no changes: %s's feature registry matches features/\n", env)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OP\tKIND\tNAME\tVERSION\tFILE\tCHANGED")
	for _, c := range plan {
		ver := fmt.Sprintf("v%d", c.To)
		if c.From != 0 {
			ver = fmt.Sprintf("v%d -> v%d", c.From, c.To)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Op, c.Kind, c.Name, ver, c.File, c.Details)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "%s %d change(s) in %s\n", verb, len(plan), env)
}

func (a *app) featuresCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "features",
		Short: "Browse applied feature definitions: entities, feature views and feature services, with their versions",
	}
	c.AddCommand(a.featuresListCmd(), a.featuresDescribeCmd(), a.featuresVersionsCmd())
	return c
}

func (a *app) featuresListCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the current version of every applied definition",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := a.featureRegistry(cmd.Context(), env)
			if err != nil {
				return err
			}
			defs, err := reg.List(cmd.Context(), env)
			if err != nil {
				return err
			}
			return a.print(defs, func(w io.Writer) { writeDefs(w, defs) })
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	return c
}

func writeDefs(w io.Writer, defs []features.Def) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tVERSION\tAPPLIED\tBY\tFILE")
	for _, d := range defs {
		name := d.Name
		if d.Deleted {
			name += " (removed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", d.Kind, name, d.Version,
			time.UnixMilli(d.CreatedMs).UTC().Format("2006-01-02 15:04:05Z"), d.Actor, d.File)
	}
	_ = tw.Flush()
}

func (a *app) featuresDescribeCmd() *cobra.Command {
	var env, kind string
	c := &cobra.Command{
		Use:     "describe NAME[@VERSION]",
		Short:   "Show one definition: the current version, or the pinned one",
		Example: "  strata features describe user_stats\n  strata features describe user_stats@3 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			d, err := features.NewRegistry(a.db).Get(cmd.Context(), env, features.Kind(kind), args[0])
			if err != nil {
				return err
			}
			return a.print(d, func(w io.Writer) {
				fmt.Fprintf(w, "%s %s@%d (applied %s by %s from %s)\n", d.Kind, d.Name, d.Version,
					time.UnixMilli(d.CreatedMs).UTC().Format("2006-01-02 15:04:05Z"), d.Actor, d.File)
				var v any
				_ = json.Unmarshal(d.Spec, &v)
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintln(w, strings.TrimSpace(string(b)))
			})
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	c.Flags().StringVar(&kind, "kind", "", "entity, view or service (default: the first of view, service, entity with that name)")
	return c
}

func (a *app) featuresVersionsCmd() *cobra.Command {
	var env, kind string
	c := &cobra.Command{
		Use:   "versions NAME",
		Short: "List every stored version of a definition, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			defs, err := features.NewRegistry(a.db).Versions(cmd.Context(), env, features.Kind(kind), args[0])
			if err != nil {
				return err
			}
			return a.print(defs, func(w io.Writer) { writeDefs(w, defs) })
		},
	}
	c.Flags().StringVar(&env, "env", "dev", "environment")
	c.Flags().StringVar(&kind, "kind", "", "entity, view or service (default: the first of view, service, entity with that name)")
	return c
}

// featureRegistry opens the project and the features registry for reads in env, which must exist.
func (a *app) featureRegistry(ctx context.Context, env string) (*features.Registry, error) {
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	if _, err := a.envs.Get(ctx, env); err != nil {
		return nil, err
	}
	return features.NewRegistry(a.db), nil
}
