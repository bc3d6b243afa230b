package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

func (a *app) tableImportCmd() *cobra.Command {
	var env, mode, format, schema, columns, delim string
	var maxBad int
	var force, noHeader, allowMissing bool
	c := &cobra.Command{
		Use:   "import zone.table FILE",
		Short: "Create or append to a table from a CSV, JSON-lines or Parquet file (one new snapshot)",
		Example: `  strata table import --env dev raw.orders orders.csv
  strata table import --env dev raw.events events.jsonl --mode overwrite
  strata table import --env dev raw.users users.csv --columns "id BIGINT, name VARCHAR, signup DATE"
  strata table import --env dev raw.orders more.csv --schema evolve   # add the file's new columns`,
		Args: exactArgs(2, "a table name (zone.table) and a file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := lake.ParseIdent(args[0])
			if err != nil {
				return err
			}
			wmode, err := envs.ParseWriteMode(mode)
			if err != nil {
				return fmt.Errorf("%w: --mode %q: use append or overwrite", errUsage, mode)
			}
			evolve, defs, err := a.schemaFlag(schema, columns)
			if err != nil {
				return err
			}
			cols, err := parseColumns(defs)
			if err != nil {
				return err
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			ro := engine.ReadOptions{Format: format, Columns: cols, MaxBadRows: maxBad, Delimiter: delim}
			if noHeader {
				h := false
				ro.Header = &h
			}
			wo := envs.WriteOptions{Mode: wmode, Force: force, Actor: a.actor(), CreateIfMissing: true,
				SchemaEvolve: evolve, AllowMissingColumns: allowMissing,
				Progress: func(rows func() int64) func() { return a.progress("importing "+args[1], rows) }}
			res, err := a.envs.ImportFile(ctx, eng, env, id, args[1], ro, wo)
			if res == nil {
				return err
			}
			if perr := a.printImport(res, env, id, args[1], maxBad); err == nil {
				err = perr
			}
			return err // non-nil here: the data was written, but its audit entry could not be completed
		},
	}
	envFlag(c, &env)
	c.Flags().StringVar(&mode, "mode", "append", "append or overwrite")
	c.Flags().StringVar(&format, "format", "", "csv, json (JSON lines) or parquet (default: from the file extension)")
	c.Flags().StringVar(&columns, "columns", "", `column names and types instead of inference, e.g. "id BIGINT, name VARCHAR"`)
	c.Flags().StringVar(&schema, "schema", "strict", "strict: the file's columns must be the table's; evolve: add the file's new columns to the table")
	c.Flags().BoolVar(&allowMissing, "allow-missing-columns", false, "write NULL for table columns the file lacks")
	c.Flags().IntVar(&maxBad, "max-bad-rows", 0, "accept and report up to N malformed rows instead of failing")
	c.Flags().StringVar(&delim, "delimiter", "", "CSV delimiter (default: detected)")
	c.Flags().BoolVar(&noHeader, "no-header", false, "the CSV file has no header row")
	c.Flags().BoolVar(&force, "force", false, "allow a direct write to a prod environment (audited)")
	return c
}

func (a *app) printImport(res *envs.ImportResult, env string, id lake.Ident, file string, maxBad int) error {
	return a.print(res, func(w io.Writer) {
		verb := "appended"
		if res.Created {
			verb = "created"
		} else if res.Mode == envs.Overwrite {
			verb = "overwrote"
		}
		fmt.Fprintf(w, "%s %s.%s: %d rows from %s, snapshot %d\n", verb, env, id, res.AddedRows, file, res.SnapshotID)
		if len(res.AddedColumns) > 0 {
			fmt.Fprintf(w, "added columns: %s\n", strings.Join(res.AddedColumns, ", "))
		}
		if res.Staged {
			fmt.Fprintf(w, "%s readers see it once a release pins it (strata release publish --env %s %s)\n", env, env, id)
		}
		if len(res.BadRows) > 0 {
			fmt.Fprintf(w, "skipped %d bad rows (--max-bad-rows %d):\n", len(res.BadRows), maxBad)
			for _, b := range res.BadRows {
				fmt.Fprintf(w, "  %s line %d, column %s: %s\n", b.File, b.Line, b.Column, b.Message)
			}
		}
	})
}

// schemaFlag reads --schema, a mode word (strict or evolve), and --columns, the column definitions. An older
// spelling, --schema "NAME TYPE, ...", still gives the definitions, with a deprecation warning.
func (a *app) schemaFlag(schema, columns string) (evolve bool, defs string, err error) {
	switch strings.TrimSpace(schema) {
	case "strict", "":
		return false, columns, nil
	case "evolve":
		return true, columns, nil
	}
	if columns != "" {
		return false, "", fmt.Errorf("%w: --schema %q: use strict or evolve (column definitions go in --columns)", errUsage, schema)
	}
	if !strings.Contains(strings.TrimSpace(schema), " ") {
		return false, "", fmt.Errorf("%w: --schema %q: use strict or evolve", errUsage, schema)
	}
	fmt.Fprintln(a.stderr, `warning: --schema "NAME TYPE, ..." is deprecated: use --columns for column definitions (--schema now takes strict or evolve)`)
	return false, schema, nil
}

func parseColumns(s string) ([]engine.ColumnDef, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []engine.ColumnDef
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(strings.TrimSpace(part))
		if len(f) < 2 {
			return nil, fmt.Errorf("%w: --columns entry %q: write NAME TYPE, e.g. \"id BIGINT, name VARCHAR\"", errUsage, strings.TrimSpace(part))
		}
		out = append(out, engine.ColumnDef{Name: f[0], Type: strings.Join(f[1:], " ")})
	}
	return out, nil
}
