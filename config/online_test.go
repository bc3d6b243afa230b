package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/config"
)

// TestOnlineServingKeys: online.* and serving.* defaults, file and STRATA_* overrides, and each invalid value
// named.
func TestOnlineServingKeys(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Load(dir, "", nil)
	require.NoError(t, err)
	require.Equal(t, config.Online{Backend: "embedded", Path: filepath.Join(dir, "strata-data", "online.db"), CacheBytes: 128 << 20,
		Redis: config.OnlineRedis{Prefix: "strata:"}}, c.Online)
	require.Equal(t, config.Serving{Env: "prod", MaxEntities: 1000, MaxBodyBytes: 16 << 20, DefinitionsTTL: 5 * time.Second}, c.Serving)

	dir = write(t, "online:\n  backend: redis\n  redis:\n    addr: 127.0.0.1:6380\nserving:\n  env: dev\n  max_entities: 50\n")
	c, err = config.Load(dir, "", []string{"STRATA_SERVING_DEFINITIONS_TTL=1s", "STRATA_ONLINE_REDIS_PREFIX=p:", "STRATA_SERVING_MAX_BODY_BYTES=4096"})
	require.NoError(t, err)
	require.Equal(t, "redis", c.Online.Backend)
	require.Equal(t, "127.0.0.1:6380", c.Online.Redis.Addr)
	require.Equal(t, "p:", c.Online.Redis.Prefix)
	require.Equal(t, config.Serving{Env: "dev", MaxEntities: 50, MaxBodyBytes: 4096, DefinitionsTTL: time.Second}, c.Serving)

	for _, tc := range []struct{ body, want string }{
		{"online:\n  backend: memcached\n", `online.backend: "memcached" is not one of embedded, redis`},
		{"online:\n  backend: redis\n", "online.redis.addr: must be set"},
		{"online:\n  cache_bytes: -1\n", "online.cache_bytes: -1 is negative: give the cache's size in bytes (default 134217728 = 128 MiB), or 0 to turn it off"},
		{"online:\n  cache_bytes: 128MiB\n", "line 2: cannot unmarshal !!str `128MiB` into int64"},
		{"serving:\n  max_entities: 0\n", "serving.max_entities: must be ≥ 1"},
		{"serving:\n  max_body_bytes: 10\n", "serving.max_body_bytes: must be ≥ 1024"},
		{"serving:\n  definitions_ttl: 0s\n", "serving.definitions_ttl: must be positive"},
		{"serving:\n  env: \"\"\n", "serving.env: must not be empty"},
		{"serving:\n  max_entity: 5\n", `unknown key "serving.max_entity"`},
	} {
		_, err := config.Load(write(t, tc.body), "", nil)
		require.ErrorContains(t, err, tc.want)
		require.ErrorIs(t, err, config.ErrInvalid)
	}
}

// serving.sync_interval is 10s unless set; 0 means only at start and a negative interval is refused.
func TestServingSyncInterval(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Load(dir, "", nil)
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, c.Serving.Sync())
	for in, want := range map[string]time.Duration{"0s": 0, "250ms": 250 * time.Millisecond} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "strata.yaml"), []byte("serving:\n  sync_interval: "+in+"\n"), 0o644))
		c, err := config.Load(dir, "", nil)
		require.NoError(t, err)
		require.Equal(t, want, c.Serving.Sync())
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strata.yaml"), []byte("serving:\n  sync_interval: -1s\n"), 0o644))
	_, err = config.Load(dir, "", nil)
	require.ErrorContains(t, err, "serving.sync_interval: must be ≥ 0")
	c, err = config.Load(dir, "", []string{"STRATA_SERVING_SYNC_INTERVAL=3s"})
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, c.Serving.Sync())
}

// online.cache_bytes: 128 MiB unless set, 0 (off) and sizes taken from the file or STRATA_ONLINE_CACHE_BYTES.
func TestOnlineCacheBytes(t *testing.T) {
	for _, tc := range []struct {
		body, env string
		want      int64
	}{
		{"", "", 128 << 20},
		{"online:\n  cache_bytes: 0\n", "", 0},
		{"online:\n  cache_bytes: 1048576\n", "", 1 << 20},
		{"online:\n  cache_bytes: 1048576\n", "STRATA_ONLINE_CACHE_BYTES=0", 0},
		{"", "STRATA_ONLINE_CACHE_BYTES=4096", 4096},
	} {
		var environ []string
		if tc.env != "" {
			environ = []string{tc.env}
		}
		c, err := config.Load(write(t, tc.body), "", environ)
		require.NoError(t, err)
		require.Equal(t, tc.want, c.Online.CacheBytes, "%q %q", tc.body, tc.env)
	}
	_, err := config.Load(write(t, ""), "", []string{"STRATA_ONLINE_CACHE_BYTES=lots"})
	require.ErrorContains(t, err, "STRATA_ONLINE_CACHE_BYTES")
}

// datasets.cache_bytes: 2 GiB unless set, 0 (off), from the file or STRATA_DATASETS_CACHE_BYTES; a negative
// size is refused naming the key; datasets.cache_dir defaults below data_dir and is taken relative to the
// project.
func TestDatasetCacheKeys(t *testing.T) {
	for _, tc := range []struct {
		body, env string
		want      int64
	}{
		{"", "", 2 << 30},
		{"datasets:\n  cache_bytes: 0\n", "", 0},
		{"datasets:\n  cache_bytes: 1048576\n", "STRATA_DATASETS_CACHE_BYTES=4096", 4096},
	} {
		var environ []string
		if tc.env != "" {
			environ = []string{tc.env}
		}
		dir := write(t, tc.body)
		c, err := config.Load(dir, "", environ)
		require.NoError(t, err)
		require.Equal(t, tc.want, c.Datasets.CacheBytes, "%q %q", tc.body, tc.env)
		require.Equal(t, filepath.Join(c.DataDir, "cache", "datasets"), c.Datasets.CacheDir)
	}
	dir := write(t, "datasets:\n  cache_dir: tmp/pit\n")
	c, err := config.Load(dir, "", nil)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(c.Dir, "tmp", "pit"), c.Datasets.CacheDir)
	_, err = config.Load(write(t, "datasets:\n  cache_bytes: -1\n"), "", nil)
	require.ErrorContains(t, err, "datasets.cache_bytes: -1 is negative")
}
