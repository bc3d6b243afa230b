package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/config"
)

func write(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, config.FileName), []byte(body), 0o644))
	return dir
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Load(dir, "", nil)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "strata-data"), c.DataDir)
	require.Equal(t, filepath.Join(dir, "strata-data", "meta.db"), c.Meta.DSN)
	require.Equal(t, filepath.Join(dir, "strata-data", "warehouse"), c.Lake.Warehouse)
	require.Equal(t, ":8080", c.Server.Addr)
	require.Equal(t, 30*time.Second, c.Server.ShutdownTimeout)
	require.Empty(t, c.File)
}

func TestTemplateLoads(t *testing.T) {
	dir := write(t, config.Template("demo"))
	c, err := config.Load(dir, "", nil)
	require.NoError(t, err)
	require.Equal(t, "demo", c.Project)
	require.Equal(t, filepath.Join(dir, config.FileName), c.File)
}

func TestFileAndEnv(t *testing.T) {
	dir := write(t, "data_dir: /var/strata\nserver:\n  addr: 127.0.0.1:9000\n  shutdown_timeout: 5s\nengine:\n  threads: 3\n")
	c, err := config.Load(dir, "", []string{
		"STRATA_META_DSN=postgres://u@h/db", "STRATA_ENGINE_THREADS=4", "STRATA_TEST_PG_DSN=ignored", "PATH=/bin",
	})
	require.NoError(t, err)
	require.Equal(t, "/var/strata", c.DataDir)
	require.Equal(t, "postgres://u@h/db", c.Meta.DSN)
	require.Equal(t, 4, c.Engine.Threads)
	require.Equal(t, "127.0.0.1:9000", c.Server.Addr)
	require.Equal(t, 5*time.Second, c.Server.ShutdownTimeout)
	require.Equal(t, "/var/strata/warehouse", c.Lake.Warehouse)
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown top key", "projcet: x\n", nil, `line 1: unknown key "projcet"`},
		{"unknown nested key", "meta:\n  dns: x\n", nil, `line 2: unknown key "meta.dns"`},
		{"wrong type", "engine:\n  threads: many\n", nil, "cannot unmarshal"},
		{"bad duration", "server:\n  shutdown_timeout: soon\n", nil, "line 2: cannot unmarshal !!str `soon` into time.Duration"},
		{"bad level", "log:\n  level: loud\n", nil, `log.level: "loud" is not one of`},
		{"not a mapping", "- a\n- b\n", nil, "must be a mapping"},
		{"unknown env", "", []string{"STRATA_META_DNS=x"}, "unknown environment variable STRATA_META_DNS"},
		{"bad env int", "", []string{"STRATA_ENGINE_THREADS=lots"}, "STRATA_ENGINE_THREADS=\"lots\": not an integer"},
		{"bad env duration", "", []string{"STRATA_SERVER_SHUTDOWN_TIMEOUT=1"}, "not a duration"},
		{"negative threads", "engine:\n  threads: -1\n", nil, "engine.threads"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(write(t, tc.file), "", tc.env)
			require.ErrorIs(t, err, config.ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestExplicitFileMissing(t *testing.T) {
	_, err := config.Load(t.TempDir(), "nope.yaml", nil)
	require.ErrorIs(t, err, config.ErrInvalid)
	require.ErrorContains(t, err, "nope.yaml")
}

func TestKeysAndEnvNames(t *testing.T) {
	require.Contains(t, config.Keys(), "meta.dsn")
	require.Contains(t, config.Keys(), "server.shutdown_timeout")
	require.Equal(t, "STRATA_META_DSN", config.EnvName("meta.dsn"))
}
