package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/rowfmt"
)

func (a *app) sqlCmd() *cobra.Command {
	var env, format, out, file string
	c := &cobra.Command{
		Use:   `sql [--env ENV] "SELECT ..."`,
		Short: "Run DuckDB SQL over the lake: zone.table names resolve to the environment's tables",
		Long: `Run DuckDB SQL in which zone.table names (raw.orders, clean.users, ...) resolve to the Iceberg tables of the
environment: the current release's pinned snapshots in prod, the latest snapshots in dev.`,
		Example: `  strata sql --env dev "SELECT status, count(*) FROM raw.orders GROUP BY status"
  strata sql --env prod "SELECT * FROM clean.orders o JOIN raw.users u USING (user_id)" --out orders.parquet
  strata sql --env dev --file report.sql --format csv > report.csv`,
		Args: rangeArgs(0, 1, "one SQL statement (or --file)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			query, err := readQuery(args, file)
			if err != nil {
				return err
			}
			if format == "" {
				format = formatFromPath(out)
			}
			f, err := rowfmt.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			if out == "" && (f == rowfmt.Parquet || f == rowfmt.Arrow) {
				if fi, ok := a.stdout.(*os.File); ok && isTerminal(fi) {
					return fmt.Errorf("%w: %s is binary: write it to a file with --out FILE", errUsage, format)
				}
			}
			ctx := cmd.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			tables, err := a.envs.BindSQL(ctx, env, query)
			if err != nil {
				return err
			}
			eng, err := a.engine()
			if err != nil {
				return err
			}
			res, err := eng.Query(ctx, query, tables)
			if err != nil {
				return err
			}
			defer res.Close()
			w := a.stdout
			if out != "" {
				fh, err := os.Create(out)
				if err != nil {
					return err
				}
				defer fh.Close()
				w = fh
			}
			n, err := rowfmt.Write(w, res, f, rowfmt.Options{})
			if err != nil {
				if out != "" {
					_ = os.Remove(out)
				}
				return err
			}
			if out != "" {
				fmt.Fprintf(a.stderr, "wrote %d rows to %s\n", n, out)
			}
			return nil
		},
	}
	envFlag(c, &env)
	c.Flags().StringVar(&format, "format", "", "table, csv, json, jsonl, parquet or arrow (default: table, or from --out's extension)")
	c.Flags().StringVar(&out, "out", "", "write the result to this file instead of standard output")
	c.Flags().StringVarP(&file, "file", "f", "", "read the SQL from this file (- for standard input)")
	return c
}

func readQuery(args []string, file string) (string, error) {
	switch {
	case len(args) == 1 && file != "":
		return "", fmt.Errorf("%w: give the SQL as an argument or with --file, not both", errUsage)
	case len(args) == 1:
		return args[0], nil
	case file == "-":
		b, err := io.ReadAll(os.Stdin)
		return string(b), err
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	}
	return "", fmt.Errorf("%w: no SQL given: strata sql \"SELECT ...\" or --file query.sql", errUsage)
}

func formatFromPath(p string) string {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".csv":
		return "csv"
	case ".json":
		return "json"
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".parquet":
		return "parquet"
	case ".arrow", ".arrows":
		return "arrow"
	}
	return "table"
}
