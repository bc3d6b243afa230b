package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
	"github.com/strata-data/strata/rowfmt"
)

func (a *app) sqlCmd() *cobra.Command {
	var env, format, out, file string
	c := &cobra.Command{
		Use:   `sql [--env ENV] "SELECT ..."`,
		Short: "Run DuckDB SQL over the lake: zone.table names resolve to the environment's tables (writable in dev)",
		Long: `Run DuckDB SQL in which zone.table names (raw.orders, clean.users, ...) resolve to the Iceberg tables of the
environment: the current release's pinned snapshots in prod, the latest snapshots in dev.

In a dev environment CREATE [OR REPLACE] TABLE [IF NOT EXISTS] zone.name AS SELECT ..., INSERT INTO zone.name
[(columns)] SELECT ...|VALUES ... and DROP TABLE [IF EXISTS] zone.name write lake tables, as through the
PostgreSQL endpoint: one snapshot each, audited; in a script each commits in order and later statements read
it. Prod changes only through releases (strata release publish): writes there are refused.

As in PostgreSQL, a name may carry the database, the environment: ENV.zone.name (ENV.zone.name.col) is
zone.name of --env ENV; another environment's name is refused (cross-database references are not implemented).`,
		Example: `  strata sql --env dev "SELECT status, count(*) FROM raw.orders GROUP BY status"
  strata sql --env prod "SELECT * FROM clean.orders o JOIN raw.users u USING (user_id)" --out orders.parquet
  strata sql --env dev --file report.sql --format csv > report.csv
  strata sql --env dev "CREATE TABLE clean.paid AS SELECT * FROM raw.orders WHERE status = 'paid'"
  strata sql --env dev -o json "INSERT INTO clean.paid (order_id, amount) VALUES (7, 1.5)"`,
		Args: rangeArgs(0, 1, "one SQL statement (or --file)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			query, err := readQuery(args, file)
			if err != nil {
				return err
			}
			if query, err = a.unqualify(cmd.Context(), query, env); err != nil {
				return err
			}
			script, err := parseScript(query, env)
			if err != nil {
				return err
			}
			if script.hasWrites() {
				return a.runWriteScript(cmd.Context(), script, env, format, out)
			}
			f, err := a.sqlFormat(format, out)
			if err != nil {
				return err
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
			return a.printResult(res, f, out)
		},
	}
	envFlag(c, &env)
	c.Flags().StringVar(&format, "format", "", "table, csv, json, jsonl, parquet or arrow (default: table; -o json; with --out, from the file's extension)")
	c.Flags().StringVar(&out, "out", "", "write the result to this file (.csv, .json, .jsonl, .parquet, .arrow) instead of standard output")
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

// duckSchemas are DuckDB's own schemas, which a script may write (its temporary tables).
var duckSchemas = map[string]bool{"main": true, "temp": true, "memory": true, "pg_catalog": true, "information_schema": true}

// runWriteScript runs a script with lake writes (sql_script.go) and prints what it wrote, then the rows of its
// last statement when that one reads.
func (a *app) runWriteScript(ctx context.Context, script *sqlScript, env, format, out string) error {
	var f rowfmt.Format
	if script.endsWithWrite() {
		switch {
		case out != "":
			return fmt.Errorf("%w: --out %s: the last statement writes a lake table and returns no rows", errUsage, out)
		case format != "":
			return fmt.Errorf("%w: --format %s: the last statement writes a lake table and returns no rows (-o json "+
				"prints what it wrote)", errUsage, format)
		}
	} else {
		var err error
		if f, err = a.sqlFormat(format, out); err != nil {
			return err
		}
	}
	if err := a.open(ctx); err != nil {
		return err
	}
	eng, err := a.engine()
	if err != nil {
		return err
	}
	r := &scriptRun{a: a, env: env, eng: eng}
	if !script.endsWithWrite() {
		r.report = a.stderr // standard output carries the rows
	}
	res, err := r.run(ctx, script)
	if err != nil {
		if len(r.results) > 0 && r.report == nil {
			_ = a.printWrites(r.results) // what was committed before the error
		}
		return err
	}
	if res == nil {
		return a.printWrites(r.results)
	}
	return a.printResult(res, f, out)
}

// printResult writes the rows of res to standard output, or to the file out.
func (a *app) printResult(res *engine.Result, f rowfmt.Format, out string) error {
	defer res.Close()
	if out == "" {
		_, err := a.writeRows(a.stdout, res, f, "")
		return err
	}
	return a.writeRowsFile(out, res, f)
}

// sqlFormat chooses the row format: --format, else -o json for standard output, else --out's extension, else
// a table. -o and --format must agree when both are given for standard output; -o with --out is about the
// summary printed on standard output, not the file.
func (a *app) sqlFormat(format, out string) (rowfmt.Format, error) {
	structured := a.output == "json" || a.output == "yaml"
	switch {
	case out == "" && a.output == "yaml":
		return "", fmt.Errorf("%w: rows have no YAML form: use -o json or --format table, csv, json or jsonl", errUsage)
	case out == "" && structured && format != "" && format != a.output:
		return "", fmt.Errorf("%w: -o %s and --format %s disagree: give one of them", errUsage, a.output, format)
	case out == "" && structured:
		format = a.output
	case out != "" && format == "":
		var err error
		if format, err = formatFromPath(out); err != nil {
			return "", err
		}
	}
	f, err := rowfmt.ParseFormat(format)
	if err != nil {
		return "", fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	if out == "" && f.Binary() && a.terminal(a.stdout) {
		return "", fmt.Errorf("%w: %s is binary: write it to a file with --out FILE", errUsage, f)
	}
	return f, nil
}

// fileFormats maps --out extensions to row formats.
var fileFormats = map[string]string{".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
	".parquet": "parquet", ".arrow": "arrow", ".arrows": "arrow"}

// formatFromPath is the format an --out file's extension names; an extension it does not know is an error
// rather than a guess (a text table in report.xlsx helps nobody).
func formatFromPath(p string) (string, error) {
	ext := strings.ToLower(filepath.Ext(p))
	if f, ok := fileFormats[ext]; ok {
		return f, nil
	}
	what := "has no extension"
	if ext != "" {
		what = "ends in " + ext
	}
	return "", fmt.Errorf("%w: --out %s %s, which names no format: give --format csv, json, jsonl, parquet, arrow "+
		"or table, or a file ending in .csv, .json, .jsonl, .parquet or .arrow", errUsage, p, what)
}

// writeRows streams res to w in format f, with a progress line on the terminal when the rows are not going to
// it; file names the destination for the progress line ("" for standard output).
func (a *app) writeRows(w io.Writer, res *engine.Result, f rowfmt.Format, file string) (int64, error) {
	cw := &countingWriter{w: w}
	var stop func()
	switch {
	case file != "":
		stop = a.progressOf("writing "+file, counters{Rows: res.Rows, Bytes: cw.N})
	case !a.terminal(a.stdout):
		stop = a.progressOf("writing rows", counters{Rows: res.Rows, Bytes: cw.N})
	default:
		stop = func() {}
	}
	n, err := rowfmt.Write(cw, res, f, rowfmt.Options{})
	stop()
	return n, err
}

// sqlExport is what `sql --out FILE` reports: on stderr as a sentence, or on stdout with -o json|yaml.
type sqlExport struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
}

// writeRowsFile writes res to the file out; a failed write leaves no partial file behind.
func (a *app) writeRowsFile(out string, res *engine.Result, f rowfmt.Format) error {
	fh, err := os.Create(out)
	if err != nil {
		return err
	}
	n, err := a.writeRows(fh, res, f, out)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(out)
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	sum := sqlExport{File: out, Format: string(f), Rows: n, Bytes: st.Size()}
	if a.output == "json" || a.output == "yaml" {
		return a.print(sum, nil)
	}
	fmt.Fprintf(a.stderr, "wrote %d rows to %s\n", sum.Rows, out)
	return nil
}

// unqualify accepts database-qualified names as the PostgreSQL endpoint does (lakesql.Unqualify): env.zone.name
// reads and writes zone.name of env; another environment's name is refused, as a cross-database reference.
func (a *app) unqualify(ctx context.Context, query, env string) (string, error) {
	if !strings.Contains(query, ".") {
		return query, nil
	}
	if err := a.open(ctx); err != nil {
		return "", err
	}
	list, err := a.envs.List(ctx)
	if err != nil {
		return "", err
	}
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.Name
	}
	out, err := lakesql.Unqualify(query, env, names)
	if err != nil {
		return "", fmt.Errorf("%w (strata sql reads one environment: choose it with --env)", err)
	}
	return out, nil
}
