package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/rowfmt"
)

func (a *app) tableCmd() *cobra.Command {
	c := &cobra.Command{Use: "table", Short: "Import, inspect, time-travel and remove lake tables"}
	c.AddCommand(a.tableImportCmd(), a.tableListCmd(), a.tableShowCmd(), a.tableSnapshotsCmd(), a.tablePreviewCmd(),
		a.tableSchemaCmd(), a.tableRmCmd(), a.tableExpireCmd(), a.tableOrphansCmd())
	return c
}

// snapshotFlags are the time-travel flags shared by read commands.
type snapshotFlags struct {
	snapshot int64
	asOf     string
}

func (f *snapshotFlags) add(c *cobra.Command) {
	c.Flags().Int64Var(&f.snapshot, "snapshot", 0, "read this snapshot id (time travel)")
	c.Flags().StringVar(&f.asOf, "as-of", "", "read the snapshot current at this time (RFC 3339, e.g. 2026-11-25T10:00:00Z, or a date)")
}

func (f *snapshotFlags) ref() (lake.SnapshotRef, error) {
	if f.snapshot != 0 && f.asOf != "" {
		return lake.SnapshotRef{}, fmt.Errorf("%w: use either --snapshot or --as-of, not both", errUsage)
	}
	ref := lake.SnapshotRef{ID: f.snapshot}
	if f.asOf != "" {
		t, err := envs.ParseTime(f.asOf)
		if err != nil {
			return ref, fmt.Errorf("--as-of: %w", err)
		}
		ref.AsOf = t
	}
	return ref, nil
}

func envFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "env", "dev", "environment")
}

func (a *app) tableListCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "list [zone]",
		Short: "List the tables an environment's readers see",
		Args:  rangeArgs(0, 1, "at most one zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			zone := ""
			if len(args) == 1 {
				zone = args[0]
			}
			list, err := a.envs.Tables(cmd.Context(), env, zone)
			if err != nil {
				return err
			}
			return a.print(list, func(w io.Writer) {
				row(w, "TABLE", "SNAPSHOT", "ROWS", "FILES", "SIZE", "UPDATED")
				for _, t := range list {
					row(w, t.Ident, t.SnapshotID, t.Rows, t.Files, fmtBytes(t.Bytes), fmtTime(t.Updated))
				}
			})
		},
	}
	envFlag(c, &env)
	return c
}

// describe returns a table as env's readers see it (in prod: only what a release pins, and only if the current
// release pins the table at all).
func (a *app) describe(cmd *cobra.Command, env, name string) (*envs.TableView, error) {
	id, err := lake.ParseIdent(name)
	if err != nil {
		return nil, err
	}
	if err := a.open(cmd.Context()); err != nil {
		return nil, err
	}
	return a.envs.Describe(cmd.Context(), env, id)
}

func (a *app) tableShowCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "show zone.table",
		Short: "Show a table: location, current snapshot, schema and recent snapshots",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := a.describe(cmd, env, args[0])
			if err != nil {
				return err
			}
			return a.print(info, func(w io.Writer) {
				row(w, "table:", env+"."+info.Ident.String())
				row(w, "location:", info.Location)
				row(w, "snapshot readers see:", info.ReadSnapshotID)
				row(w, "latest snapshot:", info.CurrentSnapshotID)
				row(w, "rows:", info.ReadRows)
				row(w, "snapshots:", len(info.Snapshots))
				fmt.Fprintln(w)
				writeColumns(w, info.Columns)
			})
		},
	}
	envFlag(c, &env)
	return c
}

func writeColumns(w io.Writer, cols []lake.Column) {
	row(w, "ID", "COLUMN", "TYPE", "REQUIRED")
	for _, col := range cols {
		row(w, col.FieldID, col.Name, col.Type, col.Required)
	}
}

func (a *app) tableSnapshotsCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "snapshots zone.table",
		Short: "List a table's snapshots, oldest first",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := a.describe(cmd, env, args[0])
			if err != nil {
				return err
			}
			return a.print(info.Snapshots, func(w io.Writer) {
				row(w, "SNAPSHOT", "PARENT", "COMMITTED", "OPERATION", "ADDED ROWS", "TOTAL ROWS", "CURRENT")
				for _, s := range info.Snapshots {
					cur := ""
					if s.ID == info.CurrentSnapshotID {
						cur = "*"
					}
					row(w, s.ID, s.ParentID, fmtTime(s.Timestamp), s.Operation, s.AddedRecords, s.TotalRecords, cur)
				}
			})
		},
	}
	envFlag(c, &env)
	return c
}

func (a *app) tableSchemaCmd() *cobra.Command {
	var env string
	var snap snapshotFlags
	c := &cobra.Command{
		Use:   "schema zone.table",
		Short: "Print a table's schema (at a snapshot with --snapshot / --as-of)",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := a.resolveArg(cmd, env, args[0], &snap)
			if err != nil {
				return err
			}
			return a.print(plan.Columns, func(w io.Writer) { writeColumns(w, plan.Columns) })
		},
	}
	envFlag(c, &env)
	snap.add(c)
	return c
}

func (a *app) resolveArg(cmd *cobra.Command, env, name string, snap *snapshotFlags) (*lake.Plan, error) {
	id, err := lake.ParseIdent(name)
	if err != nil {
		return nil, err
	}
	ref, err := snap.ref()
	if err != nil {
		return nil, err
	}
	if err := a.open(cmd.Context()); err != nil {
		return nil, err
	}
	return a.envs.Resolve(cmd.Context(), env, id, ref)
}

func (a *app) tablePreviewCmd() *cobra.Command {
	var env, format string
	var limit int
	var snap snapshotFlags
	c := &cobra.Command{
		Use:   "preview zone.table",
		Short: "Print the first rows of a table (at a snapshot with --snapshot / --as-of)",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := a.resolveArg(cmd, env, args[0], &snap)
			if err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			q := fmt.Sprintf(`SELECT * FROM %s LIMIT %d`, quoteIdent(plan.Ident), limit)
			res, err := eng.Query(cmd.Context(), q, []engine.Table{envs.EngineTable(plan)})
			if err != nil {
				return err
			}
			defer res.Close()
			f, err := rowfmt.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			_, err = rowfmt.Write(a.stdout, res, f, rowfmt.Options{})
			return err
		},
	}
	envFlag(c, &env)
	snap.add(c)
	c.Flags().IntVarP(&limit, "limit", "n", 20, "number of rows")
	c.Flags().StringVar(&format, "format", "table", "table, csv, json or jsonl")
	return c
}

func (a *app) tableRmCmd() *cobra.Command {
	var env string
	var force bool
	c := &cobra.Command{
		Use:   "rm zone.table",
		Short: "Remove a table (files another environment still uses are kept)",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := lake.ParseIdent(args[0])
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if err := a.envs.Drop(cmd.Context(), env, id, force, a.actor()); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed %s.%s\n", env, id)
			return nil
		},
	}
	envFlag(c, &env)
	c.Flags().BoolVar(&force, "force", false, "allow removing a table of a prod environment (audited)")
	return c
}

func (a *app) tableExpireCmd() *cobra.Command {
	var env, olderThan string
	var retain int
	c := &cobra.Command{
		Use:   "expire zone.table",
		Short: "Remove old snapshots (release-pinned snapshots and files other environments use are kept)",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := lake.ParseIdent(args[0])
			if err != nil {
				return err
			}
			d, err := time.ParseDuration(olderThan)
			if err != nil {
				return fmt.Errorf("%w: --older-than %q: use a duration such as 168h", errUsage, olderThan)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			res, err := a.envs.Expire(cmd.Context(), env, id, time.Now().Add(-d), retain, a.actor())
			if err != nil {
				return err
			}
			return a.print(res, func(w io.Writer) {
				row(w, "expired snapshots:", len(res.Expired))
				row(w, "kept shared files:", res.SharedFiles)
				row(w, "deleted files:", res.DeletedFiles)
			})
		},
	}
	envFlag(c, &env)
	c.Flags().StringVar(&olderThan, "older-than", "168h", "expire snapshots older than this")
	c.Flags().IntVar(&retain, "retain-last", 1, "always keep this many newest snapshots")
	return c
}

func (a *app) tableOrphansCmd() *cobra.Command {
	var env, olderThan string
	c := &cobra.Command{
		Use:   "remove-orphans zone.table",
		Short: "Delete files no snapshot of any environment uses (left by killed or failed writes)",
		Long: `Delete the data and manifest files of a table that no snapshot of any table in any environment
references, such as the files of an import that was killed before its commit. Only files older than
--older-than are considered, so writes still in progress are safe.`,
		Args: exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := lake.ParseIdent(args[0])
			if err != nil {
				return err
			}
			d, err := time.ParseDuration(olderThan)
			if err != nil || d < 0 {
				return fmt.Errorf("%w: --older-than %q: use a duration such as 24h", errUsage, olderThan)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			res, err := a.envs.RemoveOrphans(cmd.Context(), env, id, time.Now().Add(-d), a.actor())
			if err != nil {
				return err
			}
			return a.print(res, func(w io.Writer) {
				row(w, "deleted files:", res.DeletedFiles)
				row(w, "deleted bytes:", fmtBytes(res.DeletedBytes))
			})
		},
	}
	envFlag(c, &env)
	c.Flags().StringVar(&olderThan, "older-than", "24h", "only files last modified longer ago than this")
	return c
}

func quoteIdent(id lake.Ident) string {
	return `"` + id.Zone + `"."` + id.Name + `"`
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
