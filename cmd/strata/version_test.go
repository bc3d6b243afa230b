package main

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuildVersion(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/strata-data/strata", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: modBindings, Version: "v0.10506.0"},
			{Path: modIceberg, Version: "v0.7.0"},
			{Path: modArrow, Version: "v18.8.0", Replace: &debug.Module{Path: modArrow, Version: "v18.9.0"}},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	// Without -ldflags: the VCS stamp.
	require.Equal(t, versionInfo{Version: "dev", Commit: "abc123", Modified: true, BuildDate: "2026-12-01T10:00:00Z",
		Go: runtime.Version(), Platform: platform, DuckDB: "v1.5.6", Bindings: "v0.10506.0", IcebergGo: "v0.7.0",
		ArrowGo: "v18.9.0"}, buildVersion(bi, "dev", "", ""))
	// -ldflags win.
	v := buildVersion(bi, "v1.2.3", "def456", "2026-12-03T09:00:00Z")
	require.Equal(t, []any{"v1.2.3", "def456", "2026-12-03T09:00:00Z", false}, []any{v.Version, v.Commit, v.BuildDate, v.Modified})
	// A module version of the main module (go install ...@v1.0.0) is the version.
	bi.Main.Version = "v1.0.0"
	require.Equal(t, "v1.0.0", buildVersion(bi, "dev", "", "").Version)
	// No build information at all.
	v = buildVersion(nil, "dev", "", "")
	require.Equal(t, []string{"dev", "unknown", "unknown", "unknown", "unknown"}, []string{v.Version, v.Commit, v.BuildDate, v.DuckDB, v.IcebergGo})

	for mod, want := range map[string]string{"v0.10506.0": "v1.5.6", "v0.10400.1": "v1.4.0", "v0.1.21": "", "v0.x.0": "", "": ""} {
		require.Equal(t, want, duckDBRelease(mod), mod)
	}
}

// TestVersionCommand: the binary built with -ldflags (TestMain) reports them, and the engines inside.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binPath, "version", "-o", "json").Output()
	require.NoError(t, err)
	var v versionInfo
	require.NoError(t, json.Unmarshal(out, &v))
	require.Equal(t, testVersion, v.Version)
	require.Equal(t, testCommit, v.Commit)
	require.Equal(t, testDate, v.BuildDate)
	require.Regexp(t, `^v1\.\d+\.\d+$`, v.DuckDB)
	require.Regexp(t, `^v0\.\d+\.\d+$`, v.Bindings)
	require.Regexp(t, `^v0\.\d+\.\d+`, v.IcebergGo)
	require.Equal(t, runtime.Version(), v.Go)

	out, err = exec.Command(binPath, "version").Output()
	require.NoError(t, err)
	require.Regexp(t, `(?m)^strata\s+`+testVersion+`\n^commit\s+`+testCommit+`\n^built\s+`+testDate+`\n`, string(out))
	require.Regexp(t, `(?m)^duckdb\s+v1\.\d+\.\d+ \(duckdb-go-bindings v0\.\d+\.\d+\)$`, string(out))
	require.Regexp(t, `(?m)^iceberg-go\s+v0\.`, string(out))
}
