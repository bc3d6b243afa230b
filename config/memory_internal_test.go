package config

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeFiles reads from a map; a missing path is fs.ErrNotExist.
func fakeFiles(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
}

func TestHotDefaultsScaleWithMemory(t *testing.T) {
	t.Parallel()
	const meminfo = "MemTotal:       16777216 kB\nMemFree:  100 kB\n" // 16 GiB
	for _, tc := range []struct {
		name         string
		files        map[string]string
		set          Engine
		table, total int64
	}{
		{"ram", map[string]string{"/proc/meminfo": meminfo}, Engine{}, 2 << 30, 4 << 30},
		{"cgroup v2 limit", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "4294967296\n"}, Engine{}, 512 << 20, 1 << 30},
		{"cgroup v2 without limit", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "max\n"}, Engine{}, 2 << 30, 4 << 30},
		{"cgroup v1 limit", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory/memory.limit_in_bytes": "8589934592"}, Engine{}, 1 << 30, 2 << 30},
		{"unreadable", nil, Engine{}, 256 << 20, 1 << 30},
		{"set keys stay", map[string]string{"/proc/meminfo": meminfo}, Engine{HotTableBytes: -1, HotTotalBytes: 5}, -1, 5},
		{"total at least table", map[string]string{"/proc/meminfo": meminfo}, Engine{HotTableBytes: 8 << 30}, 8 << 30, 8 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.set
			e.resolveHot(fakeFiles(tc.files))
			require.Equal(t, tc.table, e.HotTableBytes)
			require.Equal(t, tc.total, e.HotTotalBytes)
		})
	}
	require.Zero(t, usableMemory(func(string) ([]byte, error) { return nil, errors.New("denied") }))
}
