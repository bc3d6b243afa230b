package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

func (a *app) releaseCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "release",
		Short: "Publish, inspect and roll back releases: the pinned snapshots prod readers see",
	}
	c.AddCommand(a.releasePublishCmd(), a.releaseListCmd(), a.releaseShowCmd(), a.releaseDiffCmd(), a.releaseRollbackCmd())
	return c
}

func (a *app) releasePublishCmd() *cobra.Command {
	var env, note string
	var remove, models []string
	var allowEmpty bool
	c := &cobra.Command{
		Use:   "publish [zone.table ...]",
		Short: "Pin tables' newest snapshots as a new release (all tables when none are named), atomically",
		Long: `Pin tables' newest snapshots (staged writes included) as a new release, in one transaction, and move
each table's Iceberg main branch to its pin and tag it release-N, so Spark and PyIceberg see the release too.

When the new release would pin exactly what the current one pins, nothing is published: the command says so
and exits 0 (with -o json|yaml it prints the current, unchanged release). --allow-empty publishes anyway.`,
		Example: `  strata release publish --env prod
  strata release publish --env prod clean.orders --note "orders backfill"
  strata release publish --env prod --remove raw.tmp_export`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tables, err := envs.ParseIdents(args)
			if err != nil {
				return err
			}
			rm, err := envs.ParseIdents(remove)
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			pins, err := a.modelPins(cmd.Context(), models)
			if err != nil {
				return err
			}
			rel, err := a.envs.Publish(cmd.Context(), env, tables, envs.PublishOptions{Actor: a.actor(), Note: note, Remove: rm,
				Models: pins, Source: map[string]string{"by": "cli"}, AllowEmpty: allowEmpty})
			if errors.Is(err, envs.ErrNothingToPublish) {
				return a.nothingToPublish(cmd.Context(), env, err)
			}
			if err != nil {
				return err
			}
			return a.print(rel, func(w io.Writer) {
				fmt.Fprintf(w, "published %s release %d (%d tables)\n", env, rel.ID, len(rel.Pins))
				writePins(w, rel.Pins)
			})
		},
	}
	c.Flags().StringVar(&env, "env", "prod", "environment")
	c.Flags().StringVar(&note, "note", "", "a note recorded with the release")
	c.Flags().StringSliceVar(&remove, "remove", nil, "drop these tables from the release")
	c.Flags().StringSliceVar(&models, "model", nil, "record which version NAME@ALIAS points to now (repeatable), e.g. churn@champion")
	c.Flags().BoolVar(&allowEmpty, "allow-empty", false, "publish a release even when it pins exactly what the current one pins")
	return c
}

// nothingToPublish reports a publish that found nothing new: exit 0, so a scheduled job whose run changed
// nothing does not fail. Table output says so; json/yaml print the current (unchanged) release and the note
// goes to stderr.
func (a *app) nothingToPublish(ctx context.Context, env string, cause error) error {
	msg := strings.TrimPrefix(cause.Error(), envs.ErrNothingToPublish.Error()+": ")
	msg = fmt.Sprintf("nothing to publish: %s (--allow-empty publishes a release anyway)", msg)
	if a.output == "json" || a.output == "yaml" {
		rel, err := a.envs.Release(ctx, env, 0)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stderr, msg)
		return a.print(rel, nil)
	}
	fmt.Fprintln(a.stdout, msg)
	return nil
}

// modelPins resolves NAME@ALIAS arguments to the model versions the aliases point to now.
func (a *app) modelPins(ctx context.Context, specs []string) ([]envs.ModelPin, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	store, err := tracking.NewStore(ctx, a.db, "")
	if err != nil {
		return nil, err
	}
	reg := registry.NewStore(store)
	var out []envs.ModelPin
	for _, s := range specs {
		name, alias, ok := strings.Cut(s, "@")
		if !ok || name == "" || alias == "" {
			return nil, fmt.Errorf("%w: --model %q: write NAME@ALIAS, e.g. churn@champion", errUsage, s)
		}
		v, err := reg.ResolveAlias(ctx, name, alias)
		if err != nil {
			return nil, fmt.Errorf("%w: --model %s: %v", errNotFound, s, err)
		}
		out = append(out, envs.ModelPin{Model: name, Alias: alias, Version: strconv.FormatInt(v, 10)})
	}
	return out, nil
}

func writePins(w io.Writer, pins []envs.Pin) {
	row(w, "TABLE", "SNAPSHOT", "ROWS")
	for _, p := range pins {
		row(w, p.Table, p.SnapshotID, p.Rows)
	}
}

func (a *app) releaseListCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "list",
		Short: "List releases, newest first",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			list, err := a.envs.Releases(cmd.Context(), env)
			if err != nil {
				return err
			}
			return a.print(list, func(w io.Writer) {
				row(w, "RELEASE", "CREATED", "ACTOR", "TABLES", "CURRENT", "NOTE")
				for _, r := range list {
					cur := ""
					if r.Current {
						cur = "*"
					}
					row(w, r.ID, fmtMillis(r.CreatedMs), r.Actor, len(r.Pins), cur, r.Note)
				}
			})
		},
	}
	c.Flags().StringVar(&env, "env", "prod", "environment")
	return c
}

func parseRelease(s string) (int64, error) {
	if s == "current" || s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: release %q: give a release number (see `strata release list`) or \"current\"", errUsage, s)
	}
	return id, nil
}

func (a *app) releaseShowCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "show [RELEASE|current]",
		Short: "Show a release's pins (the current release by default)",
		Args:  rangeArgs(0, 1, "at most one release number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseRelease(strings.Join(args, ""))
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			rel, err := a.envs.Release(cmd.Context(), env, id)
			if err != nil {
				return err
			}
			return a.print(rel, func(w io.Writer) {
				row(w, "release:", rel.ID)
				row(w, "created:", fmtMillis(rel.CreatedMs)+" by "+rel.Actor)
				row(w, "current:", rel.Current)
				if rel.Note != "" {
					row(w, "note:", rel.Note)
				}
				fmt.Fprintln(w)
				writePins(w, rel.Pins)
				if len(rel.Models) > 0 {
					fmt.Fprintln(w)
					row(w, "MODEL", "ALIAS", "VERSION")
					for _, m := range rel.Models {
						row(w, m.Model, m.Alias, m.Version)
					}
				}
			})
		},
	}
	c.Flags().StringVar(&env, "env", "prod", "environment")
	return c
}

func (a *app) releaseDiffCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "diff FROM [TO]",
		Short: "Show which tables changed between two releases (TO defaults to the current release)",
		Args:  rangeArgs(1, 2, "one or two release numbers"),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := parseRelease(args[0])
			if err != nil {
				return err
			}
			var to int64
			if len(args) == 2 {
				if to, err = parseRelease(args[1]); err != nil {
					return err
				}
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			changes, err := a.envs.Diff(cmd.Context(), env, from, to)
			if err != nil {
				return err
			}
			return a.print(changes, func(w io.Writer) {
				if len(changes) == 0 {
					fmt.Fprintln(w, "no differences")
					return
				}
				row(w, "TABLE", "CHANGE", "FROM SNAPSHOT", "TO SNAPSHOT", "FROM ROWS", "TO ROWS")
				for _, c := range changes {
					fs, ts, fr, tr := "-", "-", "-", "-"
					if c.From != nil {
						fs, fr = fmt.Sprint(c.From.SnapshotID), fmt.Sprint(c.From.Rows)
					}
					if c.To != nil {
						ts, tr = fmt.Sprint(c.To.SnapshotID), fmt.Sprint(c.To.Rows)
					}
					row(w, c.Table, c.Change, fs, ts, fr, tr)
				}
			})
		},
	}
	c.Flags().StringVar(&env, "env", "prod", "environment")
	return c
}

func (a *app) releaseRollbackCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "rollback RELEASE",
		Short: "Publish a new release equal to an earlier one",
		Args:  exactArgs(1, "a release number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			to, err := parseRelease(args[0])
			if err != nil || to == 0 {
				return fmt.Errorf("%w: rollback needs a release number", errUsage)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			rel, err := a.envs.Rollback(cmd.Context(), env, to, a.actor())
			if err != nil {
				return err
			}
			return a.print(rel, func(w io.Writer) {
				fmt.Fprintf(w, "published %s release %d = release %d\n", env, rel.ID, to)
				writePins(w, rel.Pins)
			})
		},
	}
	c.Flags().StringVar(&env, "env", "prod", "environment")
	return c
}
