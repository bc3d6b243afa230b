package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/envs"
)

func (a *app) envCmd() *cobra.Command {
	c := &cobra.Command{Use: "env", Short: "List, create and clone environments"}
	c.AddCommand(a.envListCmd(), a.envCreateCmd(), a.envCloneCmd(), a.envAuditCmd())
	return c
}

func (a *app) envListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List environments",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			list, err := a.envs.List(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(list, func(w io.Writer) {
				row(w, "ENV", "KIND", "RELEASE", "DESCRIPTION")
				for _, e := range list {
					rel := "-"
					if e.Kind == envs.KindProd {
						rel = fmt.Sprint(e.CurrentRelease)
					}
					row(w, e.Name, e.Kind, rel, e.Description)
				}
			})
		},
	}
}

func (a *app) envCreateCmd() *cobra.Command {
	var kind, desc string
	c := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an environment (kind dev: latest data; kind prod: release-pinned)",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			e, err := a.envs.Create(cmd.Context(), args[0], envs.Kind(kind), desc, a.actor())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "created environment %s (%s)\n", e.Name, e.Kind)
			return nil
		},
	}
	c.Flags().StringVar(&kind, "kind", "dev", "dev or prod")
	c.Flags().StringVar(&desc, "description", "", "what the environment is for")
	return c
}

func (a *app) envCloneCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "clone SRC DST [zone.table ...]",
		Short: "Give DST a zero-copy copy of SRC's tables at the snapshots SRC's readers see",
		Example: `  strata env clone prod dev                 # dev gets prod's current release, no data copied
  strata env clone prod dev clean.orders    # just one table`,
		Args: rangeArgs(2, -1, "a source and a destination environment, then optional tables"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tables, err := envs.ParseIdents(args[2:])
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			pins, err := a.envs.Clone(cmd.Context(), args[0], args[1], tables, force, a.actor())
			if err != nil {
				return err
			}
			return a.print(pins, func(w io.Writer) {
				fmt.Fprintf(w, "cloned %d tables from %s to %s (no data copied)\n", len(pins), args[0], args[1])
				writePins(w, pins)
			})
		},
	}
	c.Flags().BoolVar(&force, "force", false, "allow cloning into a prod environment (audited)")
	return c
}

func (a *app) envAuditCmd() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "audit [ENV]",
		Short: "Show the audit log (publishes, rollbacks, clones, forced writes), newest first",
		Args:  rangeArgs(0, 1, "at most one environment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			env := ""
			if len(args) == 1 {
				env = args[0]
			}
			list, err := a.envs.AuditLog(cmd.Context(), env, limit)
			if err != nil {
				return err
			}
			return a.print(list, func(w io.Writer) {
				row(w, "AT", "ENV", "ACTOR", "ACTION", "TARGET")
				for _, e := range list {
					row(w, fmtMillis(e.AtMs), e.Env, e.Actor, e.Action, e.Target)
				}
			})
		},
	}
	c.Flags().IntVarP(&limit, "limit", "n", 50, "number of entries")
	return c
}
