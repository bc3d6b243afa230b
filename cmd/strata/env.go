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
		Long: `Give DST a zero-copy copy of SRC's tables at the snapshots SRC's readers see (prod: its current release).

A table DST already has keeps its earlier snapshots: time travel to them still works, and when the clone moves
the table away from its former head, a tag pre-clone-<time> keeps that head (the command lists these tags).
Into a prod environment (--force) the clone is staged: readers see it after ` + "`strata release publish`" + `.`,
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
			cloned, err := a.envs.CloneTables(cmd.Context(), args[0], args[1], tables, force, a.actor())
			if err != nil {
				return err
			}
			return a.print(cloned, func(w io.Writer) {
				fmt.Fprintf(w, "cloned %d tables from %s to %s (no data copied)\n", len(cloned), args[0], args[1])
				var pins []envs.Pin
				for _, c := range cloned {
					pins = append(pins, c.Pin)
				}
				writePins(w, pins)
				for _, c := range cloned {
					if c.KeptTag != "" {
						fmt.Fprintf(w, "%s: %s's former head is kept as tag %s\n", c.Table, args[1], c.KeptTag)
					}
					if len(c.Dropped) > 0 {
						fmt.Fprintf(w, "%s: --force replaced the table; %d snapshot(s) of %s are no longer reachable\n", c.Table, len(c.Dropped), args[1])
					}
				}
			})
		},
	}
	c.Flags().BoolVar(&force, "force", false, "allow cloning into a prod environment (audited); in dev, also replace a table whose history cannot be kept")
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
