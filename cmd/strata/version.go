package main

import (
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// Set at build time (Makefile: make build):
//
//	go build -ldflags "-X main.version=v0.3.0 -X main.commit=$(git rev-parse HEAD) -X main.date=2026-12-03T10:00:00Z"
//
// Without them, the commit and its time come from the VCS stamp Go puts into binaries built in a checkout.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// Modules whose versions `strata version` reports: the engines inside the binary.
const (
	modBindings = "github.com/duckdb/duckdb-go-bindings" // package engine's binding to DuckDB's C API
	modIceberg  = "github.com/apache/iceberg-go"
	modArrow    = "github.com/apache/arrow-go/v18"
)

// versionInfo is what `strata version` prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	BuildDate string `json:"build_date"`
	Go        string `json:"go"`
	Platform  string `json:"platform"`
	DuckDB    string `json:"duckdb"`
	Bindings  string `json:"duckdb_go_bindings"`
	IcebergGo string `json:"iceberg_go"`
	ArrowGo   string `json:"arrow_go"`
}

// buildVersion combines the -ldflags values with the binary's build information (nil when unavailable).
func buildVersion(bi *debug.BuildInfo, ldVersion, ldCommit, ldDate string) versionInfo {
	v := versionInfo{Version: ldVersion, Commit: ldCommit, BuildDate: ldDate, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return fillUnknown(v)
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if v.Commit == "" {
				v.Commit = s.Value
			}
		case "vcs.time":
			if v.BuildDate == "" {
				v.BuildDate = s.Value // the commit's time: the best date a plain `go build` knows
			}
		case "vcs.modified":
			v.Modified = s.Value == "true" && ldCommit == ""
		}
	}
	if (v.Version == "" || v.Version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		switch m.Path {
		case modBindings:
			v.Bindings, v.DuckDB = m.Version, duckDBRelease(m.Version)
		case modIceberg:
			v.IcebergGo = m.Version
		case modArrow:
			v.ArrowGo = m.Version
		}
	}
	return fillUnknown(v)
}

func fillUnknown(v versionInfo) versionInfo {
	for _, p := range []*string{&v.Version, &v.Commit, &v.BuildDate, &v.DuckDB, &v.Bindings, &v.IcebergGo, &v.ArrowGo} {
		if *p == "" {
			*p = "unknown"
		}
	}
	return v
}

// duckDBRelease reads the DuckDB release out of a duckdb-go-bindings module version, which encodes it in the
// minor number: v0.10506.0 is DuckDB v1.5.6 (major·10000 + minor·100 + patch).
func duckDBRelease(mod string) string {
	parts := strings.Split(strings.TrimPrefix(mod, "v"), ".")
	if len(parts) < 2 {
		return ""
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 10000 {
		return ""
	}
	return "v" + strconv.Itoa(n/10000) + "." + strconv.Itoa(n/100%100) + "." + strconv.Itoa(n%100)
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the Strata version, commit and build date, and the DuckDB and iceberg-go versions inside",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			v := buildVersion(bi, version, commit, date)
			return a.print(v, func(w io.Writer) {
				commit := v.Commit
				if v.Modified {
					commit += " (modified)"
				}
				row(w, "strata", v.Version)
				row(w, "commit", commit)
				row(w, "built", v.BuildDate)
				row(w, "go", v.Go+" "+v.Platform)
				row(w, "duckdb", v.DuckDB+" (duckdb-go-bindings "+v.Bindings+")")
				row(w, "iceberg-go", v.IcebergGo)
				row(w, "arrow-go", v.ArrowGo)
			})
		},
	}
}
