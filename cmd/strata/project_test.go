package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOutsideProject: a command run where there is no strata.yaml fails with a usage error that says what to do,
// and creates nothing there (no strata-data/).
func TestOutsideProject(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	csv := filepath.Join(t.TempDir(), "orders.csv")
	require.NoError(t, os.WriteFile(csv, []byte(ordersCSV), 0o644))
	cases := [][]string{
		{"table", "list"},
		{"table", "import", "--env", "dev", "raw.orders", csv},
		{"table", "preview", "raw.orders"},
		{"sql", "SELECT 1"},
		{"env", "list"},
		{"env", "create", "staging"},
		{"release", "list", "--env", "prod"},
		{"runs", "list"},
		{"models", "list"},
		{"demo"},
		{"serve", "--addr", "127.0.0.1:0"},
	}
	for _, args := range cases {
		errs := c.fail(exitUsage, args...)
		require.Contains(t, errs, "no strata.yaml in "+c.dir+": run `strata init` or pass -C", "strata %s", strings.Join(args, " "))
		entries, err := os.ReadDir(c.dir)
		require.NoError(t, err)
		require.Empty(t, entries, "strata %s created files outside a project", strings.Join(args, " "))
	}

	// These need no project.
	require.Contains(t, c.ok("version"), "iceberg-go")
	require.Contains(t, c.ok("help"), "Usage:")
	require.Contains(t, c.ok("table", "--help"), "Usage:")
	entries, err := os.ReadDir(c.dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestOutsideProjectBinary is the newcomer's case exactly: the real binary, in the current directory, with no
// STRATA_* variables.
func TestOutsideProjectBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(binPath, "table", "list", "--env", "dev")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STRATA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, string(out))
	require.Equal(t, exitUsage, exit.ExitCode(), string(out))
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	require.Regexp(t, `error: no strata.yaml in (`+regexp.QuoteMeta(dir)+`|`+regexp.QuoteMeta(real)+`): run `+"`strata init`"+` or pass -C`, string(out))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestConfiguredWithoutProjectFile: a configuration file named with --config or STRATA_CONFIG, or an
// environment that places the data, is a project too (server deployments configured by their environment).
func TestConfiguredWithoutProjectFile(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	c := newCLI(t, "STRATA_DATA_DIR="+data)
	require.Contains(t, c.ok("env", "list"), "prod")
	require.FileExists(t, filepath.Join(data, "meta.db"))
	entries, err := os.ReadDir(c.dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the data belongs in STRATA_DATA_DIR")

	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "custom.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("project: custom\ndata_dir: state\n"), 0o644))
	c = newCLI(t)
	require.Contains(t, c.ok("--config", cfg, "env", "list"), "prod")
	require.DirExists(t, filepath.Join(cfgDir, "state"))

	c = newCLI(t, "STRATA_CONFIG="+cfg)
	require.Contains(t, c.ok("env", "list"), "prod")

	// The data directory `serve --demo` leaves (without a strata.yaml) is a project: the commands it suggests work.
	c = newCLI(t)
	c.ok("init")
	require.NoError(t, os.Remove(filepath.Join(c.dir, "strata.yaml")))
	require.Contains(t, c.ok("env", "list"), "prod")

	// A named file that does not exist is an error, not a fallback to the defaults.
	c = newCLI(t)
	c.fail(exitUsage, "--config", filepath.Join(cfgDir, "nope.yaml"), "env", "list")
}
