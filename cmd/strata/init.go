package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/config"
)

func (a *app) initCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init [dir]",
		Short: "Create a Strata project: strata.yaml and folders for features, jobs and pipelines",
		Args:  rangeArgs(0, 1, "at most one directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := a.projectDir
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			cfgPath := filepath.Join(abs, config.FileName)
			if _, err := os.Stat(cfgPath); err == nil {
				return fmt.Errorf("%w: %s already exists: this directory is already a Strata project", errUsage, cfgPath)
			}
			for _, sub := range []string{"", "features", "jobs", "pipelines"} {
				if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
					return err
				}
			}
			for _, sub := range []string{"features", "jobs", "pipelines"} {
				keep := filepath.Join(abs, sub, ".gitkeep")
				if err := os.WriteFile(keep, nil, 0o644); err != nil {
					return err
				}
			}
			if err := os.WriteFile(cfgPath, []byte(config.Template(filepath.Base(abs))), 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(abs, ".gitignore"), []byte("strata-data/\n"), 0o644); err != nil {
				return err
			}
			a.projectDir, a.configFile = abs, ""
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created a Strata project in %s\n", abs)
			fmt.Fprintf(a.stdout, "  strata.yaml           configuration (every key overridable by STRATA_* variables)\n")
			fmt.Fprintf(a.stdout, "  features/ jobs/ pipelines/   definitions, reviewed like code\n")
			fmt.Fprintf(a.stdout, "  strata-data/          embedded metadata (SQLite) and warehouse\n")
			fmt.Fprintf(a.stdout, "Environments dev and prod exist, each with zones raw, clean, features, datasets.\n")
			if filepath.Clean(dir) != "." {
				fmt.Fprintf(a.stdout, "Next: cd %s && strata table import --env dev raw.orders orders.csv\n", dir)
			} else {
				fmt.Fprintf(a.stdout, "Next: strata table import --env dev raw.orders orders.csv\n")
			}
			return nil
		},
	}
}
