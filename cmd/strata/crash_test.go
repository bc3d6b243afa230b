package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// startHooked runs the real strata binary with STRATA_HOOK=point and waits until it stops there.
func startHooked(t *testing.T, c *cli, point string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(append(os.Environ(), c.environ...), "STRATA_HOOK="+point)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	reached := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var all []string
		for sc.Scan() {
			all = append(all, sc.Text())
			if strings.Contains(sc.Text(), "STRATA_HOOK reached "+point) {
				reached <- ""
			}
		}
		reached <- strings.Join(all, "\n")
	}()
	select {
	case msg := <-reached:
		require.Empty(t, msg, "process ended before reaching %s", point)
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("process did not reach %s", point)
	}
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
}

func TestKilledImportAndPublishLeaveLakeConsistent(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var env []string
			if b.Name == "postgres" {
				env = append(env, "STRATA_META_DSN="+b.DSN(t))
			}
			c := newCLI(t, env...)
			c.ok("init")
			orders := c.file("orders.csv", ordersCSV)

			// Killed after the data files were written, before the commit: no snapshot (the new table is absent
			// or still empty).
			kill(t, startHooked(t, c, "write:files-written", "table", "import", "--env", "dev", "raw.orders", orders))
			require.Less(t, snapshotCount(t, c, "raw.orders"), 1)
			c.ok("table", "import", "--env", "dev", "raw.orders", orders) // a re-run succeeds
			require.Equal(t, 1, snapshotCount(t, c, "raw.orders"))

			// Killed before the commit of an append: still one snapshot, 3 rows; its stray files can be swept.
			kill(t, startHooked(t, c, "write:files-written", "table", "import", "--env", "dev", "raw.orders", orders))
			require.Equal(t, 1, snapshotCount(t, c, "raw.orders"))
			require.Equal(t, "n\n3\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
			out := c.ok("table", "remove-orphans", "--env", "dev", "raw.orders", "--older-than", "0s")
			require.Regexp(t, `deleted files:\s+[1-9]`, out)
			require.Equal(t, "n\n3\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))

			// Killed right after the commit: the new snapshot is complete.
			kill(t, startHooked(t, c, "write:committed", "table", "import", "--env", "dev", "raw.orders", orders))
			require.Equal(t, 2, snapshotCount(t, c, "raw.orders"))
			require.Equal(t, "n\n6\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))

			// Killed inside the publish transaction: no release; then a re-run publishes release 1.
			c.ok("env", "clone", "dev", "prod", "--force")
			kill(t, startHooked(t, c, "release:before-commit", "release", "publish", "--env", "prod"))
			c.fail(exitNotFound, "release", "show", "--env", "prod")
			out = c.ok("release", "publish", "--env", "prod")
			require.Contains(t, out, "published prod release 1")
			require.Equal(t, "n\n6\n", c.ok("sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.orders"))
		})
	}
}

// TestKilledAtRandomMoments kills a large import at several moments of its life; every time the table shows
// either the old or the new snapshot, with the exact row count of one of them.
func TestKilledAtRandomMoments(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	var sb strings.Builder
	sb.WriteString("id,name,amount\n")
	for i := 0; i < 300000; i++ {
		fmt.Fprintf(&sb, "%d,name_%d,%d.5\n", i, i%97, i%1000)
	}
	big := c.file("big.csv", sb.String())
	c.ok("table", "import", "--env", "dev", "raw.big", big)
	for i, delay := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		cmd := exec.Command(binPath, "table", "import", "--env", "dev", "raw.big", big)
		cmd.Env = append(os.Environ(), c.environ...)
		require.NoError(t, cmd.Start())
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		out := c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM raw.big")
		n := strings.TrimSpace(strings.TrimPrefix(out, "n\n"))
		snaps := snapshotCount(t, c, "raw.big")
		require.Equal(t, fmt.Sprint(300000*snaps), n, "kill %d after %s: rows must match the snapshots", i, delay)
	}
	ctx := context.Background()
	_ = ctx
	c.ok("table", "import", "--env", "dev", "raw.big", big)
}
