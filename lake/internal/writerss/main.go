// Command writerss measures the peak memory of one lake.Write: it streams -rows generated rows of the
// 12-column laketest schema into a new table (SQLite metadata, temporary warehouse) and prints throughput and
// the process's peak resident set size (VmHWM) before and after the write.
//
//	go run -tags duckdb_arrow ./lake/internal/writerss -rows 10000000 [-engine]
//
// With -engine the data files are written by the engine's DuckDB (lake.WriteOptions.Files), as every write
// through envs does.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lake/laketest"
	"github.com/strata-data/strata/meta"
)

func main() {
	rows := flag.Int64("rows", 1_000_000, "rows to write")
	batch := flag.Int("batch", 64*1024, "rows per input record batch")
	keep := flag.String("dir", "", "keep the metadata database (meta.db) and warehouse in this directory")
	withEngine := flag.Bool("engine", false, "write the data files with the engine's DuckDB")
	memLimit := flag.String("memory-limit", "", "the engine's DuckDB memory limit (e.g. 256MB)")
	flag.Parse()
	var fw lake.FileWriter
	if *withEngine {
		eng, err := engine.New(engine.Options{MemoryLimit: *memLimit})
		if err != nil {
			fmt.Fprintln(os.Stderr, "writerss:", err)
			os.Exit(1)
		}
		defer eng.Close()
		fw = eng
	}
	if err := run(*rows, *batch, *keep, fw); err != nil {
		fmt.Fprintln(os.Stderr, "writerss:", err)
		os.Exit(1)
	}
}

func run(rows int64, batch int, dir string, fw lake.FileWriter) error {
	ctx := context.Background()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "writerss")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	db, err := meta.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := lake.Open(ctx, db, lake.Options{Warehouse: filepath.Join(dir, "warehouse")})
	if err != nil {
		return err
	}
	if err := l.EnsureEnv(ctx, "dev"); err != nil {
		return err
	}
	before := vmHWM()
	rdr := laketest.Rows(0, rows, batch)
	defer rdr.Release()
	start := time.Now()
	res, err := l.Write(ctx, "dev", lake.Ident{Zone: "raw", Name: "bench"}, rdr, lake.WriteOptions{CreateIfMissing: true, Files: fw})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("rows=%d batch=%d files=%d parquet=%.1fMiB time=%.2fs rows/s=%.0f MiB/s(parquet)=%.1f\n",
		res.AddedRows, batch, res.AddedFiles, float64(res.AddedBytes)/(1<<20), secs, float64(res.AddedRows)/secs,
		float64(res.AddedBytes)/(1<<20)/secs)
	fmt.Printf("VmHWM before write=%s after=%s; Go heap sys=%.0fMiB GOMAXPROCS=%d\n",
		before, vmHWM(), float64(ms.HeapSys)/(1<<20), runtime.GOMAXPROCS(0))
	return nil
}

// vmHWM returns the peak resident set size of this process from /proc/self/status.
func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return "?"
}
