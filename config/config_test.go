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
	require.Equal(t, "127.0.0.1:8080", c.Server.Addr, "loopback by default: nothing authenticates requests yet")
	require.False(t, c.Server.AllowRemote)
	require.Equal(t, 30*time.Second, c.Server.ShutdownTimeout)
	require.Equal(t, 30*time.Second, c.Server.WriteTimeout)
	require.Equal(t, 10*time.Second, c.Server.ReadHeaderTimeout)
	require.Equal(t, 2*time.Minute, c.Server.IdleTimeout)
	require.Equal(t, 8, c.Server.MaxStreams)
	require.Empty(t, c.Server.AllowedHosts)
	require.Empty(t, c.Server.AllowedOrigins)
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

func TestServerKeys(t *testing.T) {
	dir := write(t, "server:\n  allow_remote: true\n  allowed_hosts: [strata.example.com, \"*.corp.example\"]\n"+
		"  allowed_origins:\n    - https://notebooks.example.com\n  write_timeout: 5s\n  max_streams: 4\n")
	c, err := config.Load(dir, "", nil)
	require.NoError(t, err)
	require.True(t, c.Server.AllowRemote)
	require.Equal(t, []string{"strata.example.com", "*.corp.example"}, c.Server.AllowedHosts)
	require.Equal(t, []string{"https://notebooks.example.com"}, c.Server.AllowedOrigins)
	require.Equal(t, 5*time.Second, c.Server.WriteTimeout)
	require.Equal(t, 4, c.Server.MaxStreams)

	// Lists from the environment are comma-separated.
	c, err = config.Load(t.TempDir(), "", []string{
		"STRATA_SERVER_ALLOWED_HOSTS=a.example, b.example", "STRATA_SERVER_ALLOWED_ORIGINS=http://localhost:3000",
		"STRATA_SERVER_ALLOW_REMOTE=true", "STRATA_SERVER_IDLE_TIMEOUT=1m", "STRATA_SERVER_READ_HEADER_TIMEOUT=2s",
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a.example", "b.example"}, c.Server.AllowedHosts)
	require.Equal(t, []string{"http://localhost:3000"}, c.Server.AllowedOrigins)
	require.True(t, c.Server.AllowRemote)
	require.Equal(t, time.Minute, c.Server.IdleTimeout)
	require.Equal(t, 2*time.Second, c.Server.ReadHeaderTimeout)
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
		{"no streams", "server:\n  max_streams: 0\n", nil, "server.max_streams: must be ≥ 1"},
		{"negative procs", "server:\n  procs: -1\n", nil, "server.procs: must be ≥ 0"},
		{"zero write timeout", "server:\n  write_timeout: 0s\n", nil, "server.write_timeout: must be positive"},
		{"hosts not a list", "server:\n  allowed_hosts: a.example\n", nil, "cannot unmarshal"},
		{"empty origin", "server:\n  allowed_origins: [\"\"]\n", nil, "server.allowed_origins: has an empty entry"},
		{"bad env bool", "", []string{"STRATA_SERVER_ALLOW_REMOTE=maybe"}, "not a boolean"},
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

func TestSQLWireKeys(t *testing.T) {
	c, err := config.Load(t.TempDir(), "", nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:5433", c.SQLWire.Addr, "loopback by default, PostgreSQL's port + 1")
	require.Equal(t, 16<<20, c.SQLWire.MaxMessage)
	c, err = config.Load(t.TempDir(), "", []string{"STRATA_SQLWIRE_ADDR=", "STRATA_SQLWIRE_MAX_MESSAGE=4096"})
	require.NoError(t, err)
	require.Empty(t, c.SQLWire.Addr, "an empty address turns the endpoint off")
	require.Equal(t, 4096, c.SQLWire.MaxMessage)
	_, err = config.Load(t.TempDir(), "", []string{"STRATA_SQLWIRE_MAX_MESSAGE=10"})
	require.ErrorContains(t, err, "sqlwire.max_message")
	_, err = config.Load(t.TempDir(), "", []string{"STRATA_SQLWIRE_TLS_CERT=cert.pem"})
	require.ErrorContains(t, err, "sqlwire.tls_cert and sqlwire.tls_key: set both")
	dir := t.TempDir()
	c, err = config.Load(dir, "", []string{"STRATA_SQLWIRE_TLS_CERT=cert.pem", "STRATA_SQLWIRE_TLS_KEY=/etc/key.pem"})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(c.Dir, "cert.pem"), c.SQLWire.TLSCert, "relative to the project dir")
	require.Equal(t, "/etc/key.pem", c.SQLWire.TLSKey)
}

func TestEngineHotTableKeys(t *testing.T) {
	dir := write(t, "engine:\n  hot_total_bytes: 536870912\n")
	c, err := config.Load(dir, "", []string{"STRATA_ENGINE_HOT_TABLE_BYTES=-1"})
	require.NoError(t, err)
	require.Equal(t, int64(-1), c.Engine.HotTableBytes)
	require.Equal(t, int64(512<<20), c.Engine.HotTotalBytes)

	_, err = config.Load(write(t, "engine:\n  hot_total_bytes: -5\n"), "", nil)
	require.ErrorContains(t, err, "engine.hot_total_bytes")

	// Left at 0, both become a share of this machine's memory, in the order the engine needs them.
	c, err = config.Load(t.TempDir(), "", nil)
	require.NoError(t, err)
	require.Positive(t, c.Engine.HotTableBytes)
	require.GreaterOrEqual(t, c.Engine.HotTotalBytes, c.Engine.HotTableBytes)
}
