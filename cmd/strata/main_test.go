package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// binPath is a strata binary built once for the tests that need a real child process, with -ldflags as
// `make build` sets them.
var binPath string

const (
	testVersion = "v9.8.7-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testDate    = "2026-12-03T10:00:00Z"
)

func TestMain(m *testing.M) {
	restoreGC() // as main does: the collector is off from package initialisation until then (startgc.go)
	flag.Parse()
	dir, err := os.MkdirTemp("", "strata-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "strata")
	ldflags := "-X main.version=" + testVersion + " -X main.commit=" + testCommit + " -X main.date=" + testDate
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-ldflags", ldflags, "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build strata: " + err.Error())
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs strata in process against the project in dir.
type cli struct {
	t       *testing.T
	dir     string
	environ []string
}

func newCLI(t *testing.T, extraEnv ...string) *cli {
	dir := t.TempDir()
	return &cli{t: t, dir: dir, environ: append([]string{"STRATA_PROJECT=" + dir, "USER=tester"}, extraEnv...)}
}

func (c *cli) run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb, c.environ)
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its standard output.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(args...)
	require.Equal(c.t, 0, code, "strata %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errs)
	return out
}

// fail runs a command that must fail with the exit code and returns its standard error.
func (c *cli) fail(code int, args ...string) string {
	c.t.Helper()
	out, errs, got := c.run(args...)
	require.Equal(c.t, code, got, "strata %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errs)
	return errs
}

func (c *cli) file(name, body string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	require.NoError(c.t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

var (
	snapshotRe = regexp.MustCompile(`\b\d{15,20}\b`)
	timeRe     = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)
	spacesRe   = regexp.MustCompile(`[ \t]+\n`)
	columnsRe  = regexp.MustCompile(`  +`)
)

// normalize hides what changes between runs (snapshot ids, times, temp dirs) so output can be golden.
func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "<dir>")
	s = snapshotRe.ReplaceAllString(s, "<snapshot>")
	s = timeRe.ReplaceAllString(s, "<time>")
	// Snapshot ids vary in length, and with them the column widths: compare cells, not padding.
	return columnsRe.ReplaceAllString(spacesRe.ReplaceAllString(s, "\n"), "  ")
}

// golden compares got with testdata/<name>.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "missing golden file; run go test -tags duckdb_arrow ./cmd/strata -update")
	require.Equal(t, string(want), got)
}
