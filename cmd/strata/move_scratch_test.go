package main

import (
	"database/sql"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/scratch"
)

// TestMoveRunKilledMidWriteScratchIsRemoved SIGKILLs a real `strata move run` while DuckDB writes Parquet — into
// a lake table (scratch below the table's data folder, and the engine's spill folder below its temp directory)
// and into a files target (scratch in the temp directory) — and checks that the killed process's scratch folders
// are there, and that the job's next run removes them and leaves no scratch of its own.
func TestMoveRunKilledMidWriteScratchIsRemoved(t *testing.T) {
	pg := testenv.PostgresDSN(t)
	src, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer src.Close()
	_, err = src.Exec(`CREATE TABLE big AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 1000000) i`)
	require.NoError(t, err)
	tmp := t.TempDir()
	c := newCLI(t, "SRC_DSN="+pg, "TMPDIR="+tmp)
	c.ok("init")
	out := t.TempDir()
	source := "source: {type: postgres, dsn: '${SRC_DSN}', query: 'SELECT id, h FROM big'}\n"
	lakeJob := c.job("biglake.yaml", "name: biglake\n"+source+"target: {type: lake, table: raw.big, mode: overwrite}\n")
	filesJob := c.job("bigfiles.yaml", "name: bigfiles\n"+source+"target: {type: files, path: '"+out+"', format: parquet}\n")
	child := func(args ...string) *exec.Cmd {
		cmd := exec.Command(binPath, args...)
		cmd.Env = append(os.Environ(), c.environ...) // TMPDIR=tmp, also for the files target's scratch
		return cmd
	}

	// Lake target: killed once the source's first batch is read, when DuckDB's write has started.
	kill(t, startHooked(t, c, "source:batch", "move", "run", lakeJob))
	left := scratchFolders(t, c.dir)
	require.Len(t, left, 2, "the killed write's scratch is below the table's data folder, its queries' spill folder below the engine's")
	require.Contains(t, strings.Join(left, "\n"), filepath.Join("raw", "big", "data", scratch.Folder))
	require.Contains(t, strings.Join(left, "\n"), filepath.Join("strata-data", "tmp", scratch.Folder))
	outb, err := child("move", "run", lakeJob).CombinedOutput()
	require.NoError(t, err, "%s", outb)
	require.Empty(t, scratchFolders(t, c.dir), "the next run removed the killed run's scratch, and its own")
	require.Equal(t, "n\n1000000\n", c.ok("sql", "--format", "csv", "SELECT count(*) AS n FROM raw.big"))

	// Files target: killed while DuckDB writes a part into its scratch folder in the temp directory.
	cmd := child("move", "run", filesJob)
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, _ := filepath.Glob(filepath.Join(tmp, scratch.Folder, "*", "strata-files-*", "*"))
		if len(m) > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no scratch folder appeared in %s", tmp)
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Len(t, scratchFolders(t, tmp), 1, "the killed run's scratch is in the temp directory")
	outb, err = child("move", "run", filesJob).CombinedOutput()
	require.NoError(t, err, "%s", outb)
	require.Empty(t, scratchFolders(t, tmp), "the next run removed the killed run's scratch, and its own")
	require.Empty(t, scratchFolders(t, out))
	got := c.ok("sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_parquet('"+out+"/*.parquet')")
	require.Equal(t, "n,d\n1000000,1000000\n", got)
}

// scratchFolders lists the processes' scratch folders (ROOT/.strata-scratch/OWNER) below dir.
func scratchFolders(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasSuffix(filepath.Dir(p), string(filepath.Separator)+scratch.Folder) {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	}))
	return out
}
