package scratch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSweepRemovesOnlyFoldersOfGoneProcesses: the scratch of a process that exited, and of a pid now held by
// another process (a different start time), is removed; that of a running process, of this process and of
// another host is kept, as are names that are not scratch folders.
func TestSweepRemovesOnlyFoldersOfGoneProcesses(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	running := exec.Command("sleep", "60")
	require.NoError(t, running.Start())
	t.Cleanup(func() { _ = running.Process.Kill(); _ = running.Wait() })
	live := owner{host: self.host, pid: running.Process.Pid, start: startTime(running.Process.Pid)}
	require.NotZero(t, live.start, "the start time of a running process is read from /proc")

	folders := map[string]bool{ // name → kept
		owner{host: self.host, pid: gone.Process.Pid, start: 7}.name():      false,
		owner{host: self.host, pid: live.pid, start: live.start + 1}.name(): false, // the pid was reused
		live.name(): true,
		self.name(): true,
		owner{host: "elsewhere", pid: gone.Process.Pid, start: 7}.name(): true,
		"not-a-scratch-folder": true,
	}
	for name := range folders {
		require.NoError(t, os.MkdirAll(filepath.Join(root, Folder, name, "strata-files-1"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(root, Folder, name, "strata-files-1", "part.parquet"), []byte("x"), 0o600))
	}
	removed, err := Sweep(root)
	require.NoError(t, err)
	require.Len(t, removed, 2)
	for name, kept := range folders {
		_, err := os.Stat(filepath.Join(root, Folder, name))
		require.Equal(t, kept, err == nil, "%s kept", name)
	}
}

// TestMkdirTempLeavesNothingWhenDone: scratch folders live in this process's folder; once the last is done,
// nothing of them stays below the root.
func TestMkdirTempLeavesNothingWhenDone(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	a, doneA, err := MkdirTemp(root, "write-")
	require.NoError(t, err)
	b, doneB, err := MkdirTemp(root, "write-")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.Equal(t, filepath.Join(root, Folder, self.name()), filepath.Dir(a))
	require.NoError(t, os.WriteFile(filepath.Join(a, "f"), []byte("x"), 0o600))
	doneA()
	require.NoDirExists(t, a)
	require.DirExists(t, b)
	doneB()
	ents, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, ents)
}

func TestParseOwner(t *testing.T) {
	t.Parallel()
	for _, o := range []owner{{host: "a_b.example", pid: 12, start: 34}, {host: "h", pid: 1, start: 0}} {
		got, ok := parseOwner(o.name())
		require.True(t, ok)
		require.Equal(t, o, got)
	}
	for _, bad := range []string{"", "x", "h_1", "h_x_1", "h_1_x", "h_0_1", fmt.Sprintf("_%d", 3)} {
		_, ok := parseOwner(bad)
		require.False(t, ok, bad)
	}
}

// TestRemoveOwnRemovesOnlyThisProcesssFolder: RemoveOwn removes every folder this process made below root,
// files and all, whether their done ran or not, and keeps other processes' folders (and .strata-scratch
// with them); with none left, .strata-scratch goes too.
func TestRemoveOwnRemovesOnlyThisProcesssFolder(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	a, _, err := MkdirTemp(root, "q-")
	require.NoError(t, err)
	b, doneB, err := MkdirTemp(root, "q-")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(a, "spill.tmp"), []byte("x"), 0o600))
	other := filepath.Join(root, Folder, owner{host: "elsewhere", pid: 1, start: 1}.name())
	require.NoError(t, os.MkdirAll(other, 0o700))

	require.NoError(t, RemoveOwn(root))
	require.NoDirExists(t, a)
	require.NoDirExists(t, b)
	require.NoDirExists(t, filepath.Join(root, Folder, self.name()))
	require.DirExists(t, other, "another host's scratch is not this process's")
	doneB() // a done after RemoveOwn is harmless

	require.NoError(t, os.RemoveAll(other))
	require.NoError(t, RemoveOwn(root), "nothing to remove is no error")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, entries)
}
