package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// outputKind says what -o json|yaml means for a command.
type outputKind int

const (
	outRefused outputKind = iota // prints messages, not data: -o json|yaml is a usage error
	outValue                     // prints one value through app.print: a table, JSON or YAML
	outRows                      // prints rows with --format: -o json is --format json; rows have no YAML form
	outOwn                       // handles -o itself (sql: rows, or a summary when it writes a file)
)

// outputs classifies every command by its path (without "strata "), in one place, so that -o is honoured or
// refused before a command does any work, never ignored. TestOutputEveryCommand fails for a command missing here.
var outputs = map[string]outputKind{
	"init": outRefused, "serve": outRefused, "demo": outRefused, "version": outValue, "sql": outOwn,

	"table import": outValue, "table rm": outRefused, "table preview": outRows,
	"table list": outValue, "table show": outValue, "table snapshots": outValue, "table schema": outValue,
	"table expire": outValue, "table remove-orphans": outValue,

	"release publish": outValue, "release list": outValue, "release show": outValue, "release diff": outValue,
	"release rollback": outValue,

	"env create": outRefused, "env list": outValue, "env clone": outValue, "env audit": outValue,

	"move run": outValue, "move plan": outValue, "move runs": outValue, "move show": outValue,

	"runs list": outValue, "runs show": outValue, "models list": outValue, "models show": outValue,

	"plan": outValue, "apply": outValue, "features list": outValue, "features describe": outValue,
	"features versions": outValue, "dataset build": outValue, "dataset list": outValue, "dataset show": outValue,
	"dataset export": outValue, "dataset cache": outValue, "dataset cache warm": outValue, "materialize": outValue, "materialize runs": outValue,
	"lineage": outValue,

	"user add": outValue, "user list": outValue, "user rm": outValue, "user passwd": outValue, "user grant": outValue,
	"user revoke": outValue, "token create": outValue, "token list": outValue, "token revoke": outValue,
}

// checkOutput validates -o for cmd before it runs: an unknown format, or json|yaml for a command that prints no
// data, is a usage error; for row commands -o json becomes --format json.
func (a *app) checkOutput(cmd *cobra.Command) error {
	switch a.output {
	case "table", "":
		return nil
	case "json", "yaml":
	default:
		return fmt.Errorf("%w: --output %q: use table, json or yaml", errUsage, a.output)
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	switch outputs[path] {
	case outValue, outOwn:
		return nil
	case outRows:
		return a.rowsOutput(cmd)
	}
	if cmd.Name() == "help" || cmd.Name() == "completion" || (cmd.HasParent() && cmd.Parent().Name() == "completion") {
		return nil // cobra's own commands print text for people and shells
	}
	return fmt.Errorf("%w: `%s` prints no data as %s: leave out -o %s", errUsage, cmd.CommandPath(), a.output, a.output)
}

// rowsOutput maps -o json onto a row command's --format flag.
func (a *app) rowsOutput(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("format")
	if a.output == "yaml" || f == nil {
		return fmt.Errorf("%w: `%s` prints rows: use --format table, csv, json or jsonl (rows have no YAML form)", errUsage, cmd.CommandPath())
	}
	if f.Changed && f.Value.String() != a.output {
		return fmt.Errorf("%w: -o %s and --format %s disagree: give one of them", errUsage, a.output, f.Value.String())
	}
	return f.Value.Set(a.output)
}

// print prints a command's result: v is the structured value for json/yaml, table renders it for people.
func (a *app) print(v any, table func(w io.Writer)) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		v = reflect.MakeSlice(rv.Type(), 0, 0).Interface() // an empty list is [], not null
	}
	switch a.output {
	case "json":
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		// Round-trip through JSON so yaml keys match the json tags.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(a.stdout)
		enc.SetIndent(2)
		return enc.Encode(generic)
	case "table", "":
		tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	return fmt.Errorf("%w: --output %q: use table, json or yaml", errUsage, a.output)
}

func row(w io.Writer, cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

func fmtMillis(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05Z")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// args validators that mark their errors as usage errors (exit code 2).
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%w: %s needs %s (got %d arguments); see `%s --help`", errUsage, cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func rangeArgs(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return fmt.Errorf("%w: %s takes %s (got %d arguments); see `%s --help`", errUsage, cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}
