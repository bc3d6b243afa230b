package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeDemoAndGracefulShutdown runs the README's first command (serve --demo) as a real process, reads the
// demo data over HTTP, and stops it with SIGTERM.
func TestServeDemoAndGracefulShutdown(t *testing.T) {
	c := newCLI(t)
	cmd := exec.Command(binPath, "serve", "--demo", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), c.environ...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()

	base := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Strata is running: (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		close(base)
	}()
	var url string
	select {
	case url = <-base:
	case <-time.After(2 * time.Minute):
		t.Fatalf("server did not start; stderr: %s", stderr.String())
	}
	require.NotEmpty(t, url, "stderr: %s", stderr.String())

	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	require.Equal(t, 200, code)
	require.Equal(t, "ok\n", body)
	code, body = get("/api/v1/envs/prod/tables")
	require.Equal(t, 200, code)
	for _, tbl := range []string{"clean", "orders", "users", "events"} {
		require.Contains(t, body, tbl)
	}
	code, body = get("/api/v1/envs/prod/tables/clean.orders/rows?format=csv&limit=3")
	require.Equal(t, 200, code)
	require.Equal(t, 4, strings.Count(body, "\n"), body)
	code, body = get("/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "strata_http_requests_total")
	code, body = get("/api/v1/envs/nope/tables")
	require.Equal(t, 404, code)
	require.Contains(t, body, `"error_code"`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit after SIGTERM; stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30s of SIGTERM")
	}
	require.Contains(t, stderr.String(), "shutting down")
}
