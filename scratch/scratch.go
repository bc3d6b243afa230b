// Package scratch gives each process its own folder for scratch files below a root (the system temp
// directory, a table's data folder) and removes the folders of processes that are gone.
//
// A write that is killed (SIGKILL, a crash, a power cut) cannot remove its scratch files. Every scratch folder
// of a process lives in ROOT/.strata-scratch/HOST_PID_START (START is the process's start time, so that a pid
// the system gave to another process since is not taken for the owner), and MkdirTemp first removes the
// folders of that root whose owner is no longer running on this host: the next process that writes below the
// same root cleans up after a killed one. Folders of other hosts (a root on a shared disk) are left alone.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Folder is the name of the folder below a root that holds the processes' scratch folders.
const Folder = ".strata-scratch"

// MkdirTemp creates a new folder (os.MkdirTemp's pattern) in this process's scratch folder below root, after
// removing the scratch folders below root of processes of this host that are gone. done removes the new
// folder, and this process's folder and root/.strata-scratch as well once they are empty.
func MkdirTemp(root, pattern string) (dir string, done func(), err error) {
	base := filepath.Join(root, Folder)
	_, _ = Sweep(root) // best-effort: a folder that cannot be removed now is tried again next time
	mine := filepath.Join(base, self.name())
	for try := 0; ; try++ {
		if err = os.MkdirAll(mine, 0o700); err == nil {
			dir, err = os.MkdirTemp(mine, pattern)
		}
		// another goroutine's done may remove mine between the two calls: create it again
		if err == nil || !errors.Is(err, os.ErrNotExist) || try == 2 {
			break
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("scratch folder in %s: %w", root, err)
	}
	return dir, func() {
		_ = os.RemoveAll(dir)
		_ = os.Remove(mine) // fail while not empty: other scratch of this process
		_ = os.Remove(base)
	}, nil
}

// RemoveOwn removes this process's scratch folder below root, with every folder MkdirTemp made there that is
// still present, and root/.strata-scratch once it is empty. It is for a process about to exit whose scratch
// users are done but were not closed (DuckDB databases left to the process's exit): what they kept on disk goes
// now instead of waiting for the next process's Sweep. A missing folder is no error.
func RemoveOwn(root string) error {
	base := filepath.Join(root, Folder)
	err := os.RemoveAll(filepath.Join(base, self.name()))
	_ = os.Remove(base) // fails while another process has scratch there
	return err
}

// Sweep removes the scratch folders below root of processes of this host that are no longer running, and
// returns their paths. A missing root/.strata-scratch is no error.
func Sweep(root string) ([]string, error) {
	base := filepath.Join(root, Folder)
	ents, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var firstErr error
	for _, e := range ents {
		o, ok := parseOwner(e.Name())
		if !ok || o.host != self.host || o.alive() {
			continue
		}
		p := filepath.Join(base, e.Name())
		if err := os.RemoveAll(p); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		removed = append(removed, p)
	}
	return removed, firstErr
}

// owner identifies a process: the host it runs on, its pid, and its start time (clock ticks since boot, from
// /proc; 0 where there is no /proc).
type owner struct {
	host  string
	pid   int
	start uint64
}

var self = owner{host: hostName(), pid: os.Getpid(), start: startTime(os.Getpid())}

func (o owner) name() string { return fmt.Sprintf("%s_%d_%d", o.host, o.pid, o.start) }

// parseOwner reads a folder name made by name (the host may itself hold underscores).
func parseOwner(s string) (owner, bool) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 {
		return owner{}, false
	}
	j := strings.LastIndexByte(s[:i], '_')
	if j < 0 {
		return owner{}, false
	}
	pid, err1 := strconv.Atoi(s[j+1 : i])
	start, err2 := strconv.ParseUint(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return owner{}, false
	}
	return owner{host: s[:j], pid: pid, start: start}, true
}

// alive says whether o (a process of this host) is still running: its pid exists and, where its start time
// is known, was started when o was.
func (o owner) alive() bool {
	if o.pid == self.pid {
		return o.start == self.start
	}
	if err := syscall.Kill(o.pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	if o.start == 0 {
		return true
	}
	st := startTime(o.pid)
	return st == 0 || st == o.start // 0: unknown (no /proc), so assume it is the owner
}

// startTime is field 22 of /proc/PID/stat, the process's start time in clock ticks since boot; 0 if unknown.
func startTime(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 { // f[0] is field 3
		return 0
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// hostName names this host in folder names: its name with anything but letters, digits, '-' and '.' replaced.
func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "host"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, h)
}
