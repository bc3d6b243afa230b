package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lake"
)

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
