package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
		t, err := parseTime(f.asOf)
		if err != nil {
			return ref, err
		}
		ref.AsOf = t
	}
	return ref, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a time: use RFC 3339 (2026-11-25T10:00:00Z) or a date (2026-11-25)", errUsage, s)
}

func envFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "env", "dev", "environment")
}

func (a *app) tableImportCmd() *cobra.Command {
	var env, mode, format, schema, delim string
	var maxBad int
	var force, noHeader bool
	c := &cobra.Command{
		Use:   "import zone.table FILE",
		Short: "Create or append to a table from a CSV, JSON-lines or Parquet file (one new snapshot)",
		Example: `  strata table import --env dev raw.orders orders.csv
  strata table import --env dev raw.events events.jsonl --mode overwrite
  strata table import --env dev raw.users users.csv --schema "id BIGINT, name VARCHAR, signup DATE"`,
		Args: exactArgs(2, "a table name (zone.table) and a file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := lake.ParseIdent(args[0])
			if err != nil {
				return err
			}
			if mode != string(lake.Append) && mode != string(lake.Overwrite) {
				return fmt.Errorf("%w: --mode %q: use append or overwrite", errUsage, mode)
			}
			cols, err := parseSchema(schema)
			if err != nil {
				return err
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			if err := a.envs.CheckWrite(ctx, env, force); err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			opts := engine.ReadOptions{Format: format, Columns: cols, MaxBadRows: maxBad, Delimiter: delim}
			if opts.TableTypes, err = a.tableTypes(ctx, env, id); err != nil {
				return err
			}
			if noHeader {
				h := false
				opts.Header = &h
			}
			rd, err := eng.ReadFile(ctx, args[1], opts)
			if err != nil {
				return err
			}
			defer rd.Close()
			stop := a.progress("importing "+args[1], rd.Rows)
			res, err := a.lake.Write(ctx, env, id, rd, lake.WriteOptions{Mode: lake.WriteMode(mode), CreateIfMissing: true,
				SnapshotProps: map[string]string{"strata.source": args[1], "strata.actor": a.actor()}})
			stop()
			if err != nil {
				return err
			}
			if force {
				_ = a.envs.Audit(ctx, a.actor(), env, "table.import.forced", id.String(), map[string]any{"file": args[1], "snapshot": res.SnapshotID})
			}
			verb := "appended"
			if res.Created {
				verb = "created"
			} else if mode == string(lake.Overwrite) {
				verb = "overwrote"
			}
			fmt.Fprintf(a.stdout, "%s %s.%s: %d rows from %s, snapshot %d\n", verb, env, id, res.AddedRows, args[1], res.SnapshotID)
			if bad := rd.BadRows(); len(bad) > 0 {
				fmt.Fprintf(a.stdout, "skipped %d bad rows (--max-bad-rows %d):\n", len(bad), maxBad)
				for _, b := range bad {
					fmt.Fprintf(a.stdout, "  %s line %d, column %s: %s\n", b.File, b.Line, b.Column, b.Message)
				}
			}
			return nil
		},
	}
	envFlag(c, &env)
	c.Flags().StringVar(&mode, "mode", "append", "append or overwrite")
	c.Flags().StringVar(&format, "format", "", "csv, json (JSON lines) or parquet (default: from the file extension)")
	c.Flags().StringVar(&schema, "schema", "", `column names and types instead of inference, e.g. "id BIGINT, name VARCHAR"`)
	c.Flags().IntVar(&maxBad, "max-bad-rows", 0, "accept and report up to N malformed rows instead of failing")
	c.Flags().StringVar(&delim, "delimiter", "", "CSV delimiter (default: detected)")
	c.Flags().BoolVar(&noHeader, "no-header", false, "the CSV file has no header row")
	c.Flags().BoolVar(&force, "force", false, "allow a direct write to a prod environment (audited)")
	return c
}

// tableTypes returns the DuckDB types of an existing table's columns, so an append reads the file with the
// table's types (a value that does not fit is a bad row, not a reason to widen the column). nil for a new table.
func (a *app) tableTypes(ctx context.Context, env string, id lake.Ident) (map[string]string, error) {
	info, err := a.lake.Describe(ctx, env, id)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range info.Columns {
		if t, err := engine.DuckType(c.Type); err == nil {
			out[c.Name] = t
		}
	}
	return out, nil
}

func parseSchema(s string) ([]engine.ColumnDef, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []engine.ColumnDef
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(strings.TrimSpace(part))
		if len(f) < 2 {
			return nil, fmt.Errorf("%w: --schema entry %q: write NAME TYPE, e.g. \"id BIGINT, name VARCHAR\"", errUsage, strings.TrimSpace(part))
		}
		out = append(out, engine.ColumnDef{Name: f[0], Type: strings.Join(f[1:], " ")})
	}
	return out, nil
}

// progress prints a live row counter on stderr while long work runs, when stderr is a terminal.
func (a *app) progress(what string, rows func() int64) (stop func()) {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				n := rows()
				rate := float64(n) / time.Since(start).Seconds()
				fmt.Fprintf(f, "\r\033[K%s: %d rows (%.0f rows/s)", what, n, rate)
			}
		}
	}()
	return func() { close(done); <-finished }
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

// describe returns a table's description and the plan of the snapshot env's readers see (which also checks that
// they see the table at all: in prod, that a release pins it).
func (a *app) describe(cmd *cobra.Command, env, name string) (*lake.TableInfo, *lake.Plan, error) {
	id, err := lake.ParseIdent(name)
	if err != nil {
		return nil, nil, err
	}
	if err := a.open(cmd.Context()); err != nil {
		return nil, nil, err
	}
	plan, err := a.envs.Resolve(cmd.Context(), env, id, lake.SnapshotRef{})
	if err != nil {
		return nil, nil, err
	}
	info, err := a.lake.Describe(cmd.Context(), env, id)
	return info, plan, err
}

func (a *app) tableShowCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "show zone.table",
		Short: "Show a table: location, current snapshot, schema and recent snapshots",
		Args:  exactArgs(1, "a table name (zone.table)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, plan, err := a.describe(cmd, env, args[0])
			if err != nil {
				return err
			}
			return a.print(info, func(w io.Writer) {
				row(w, "table:", env+"."+info.Ident.String())
				row(w, "location:", info.Location)
				row(w, "snapshot readers see:", plan.SnapshotID)
				row(w, "latest snapshot:", info.CurrentSnapshotID)
				row(w, "rows:", plan.Rows)
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
			info, _, err := a.describe(cmd, env, args[0])
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
			res, err := a.lake.RemoveOrphans(cmd.Context(), env, id, time.Now().Add(-d))
			if err != nil {
				return err
			}
			if err := a.envs.Audit(cmd.Context(), a.actor(), env, "table.remove-orphans", id.String(), res); err != nil {
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
