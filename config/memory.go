package config

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// The in-memory table copies of the engine (engine.hot_table_bytes, engine.hot_total_bytes) scale with the
// machine: when left at 0 they become a fraction of the memory this process may use, the smaller of physical
// RAM and a cgroup (container) limit. A table larger than the fixed 256 MiB default (1M rows × 10 columns is
// ~100 MiB, 10M rows ~1 GiB) then stays in memory on a machine that has room for it, and a small container
// keeps small copies. When the memory cannot be read (not Linux), the fixed defaults apply.
const (
	hotTableShare    = 8 // a pooled database's tables: 1/8 of memory
	hotTotalShare    = 4 // all copies together: 1/4 of memory
	fallbackHotTable = 256 << 20
	fallbackHotTotal = 1 << 30
)

// hotDefaults returns the engine.hot_table_bytes and engine.hot_total_bytes a 0 stands for, given the usable
// memory (0 = unknown).
func hotDefaults(mem int64) (table, total int64) {
	if mem <= 0 {
		return fallbackHotTable, fallbackHotTotal
	}
	return mem / hotTableShare, mem / hotTotalShare
}

// usableMemory returns the memory this process may use, in bytes: physical RAM (/proc/meminfo MemTotal),
// lowered to a cgroup v2 or v1 memory limit when one is set; 0 when it cannot be read.
func usableMemory(read func(string) ([]byte, error)) int64 {
	mem := memTotal(read)
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := read(p)
		if err != nil {
			continue
		}
		lim, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64) // "max" (no limit) fails to parse
		if err == nil && lim > 0 && (mem == 0 || lim < mem) {
			mem = lim
		}
	}
	return mem
}

// memTotal reads MemTotal from /proc/meminfo (in kB there).
func memTotal(read func(string) ([]byte, error)) int64 {
	b, err := read("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// resolveHot replaces 0 in the hot-table keys by the machine's defaults.
func (e *Engine) resolveHot(read func(string) ([]byte, error)) {
	if e.HotTableBytes != 0 && e.HotTotalBytes != 0 {
		return
	}
	table, total := hotDefaults(usableMemory(read))
	if e.HotTableBytes == 0 {
		e.HotTableBytes = table
	}
	if e.HotTotalBytes == 0 {
		e.HotTotalBytes = max(total, e.HotTableBytes)
	}
}
