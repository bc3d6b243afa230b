//go:build duckdb_arrow

// Command codec measures, for the kinds of columns lake tables hold, what each Parquet codec and format version
// DuckDB's writer offers costs in file size and in DuckDB decode CPU: the numbers behind the lake's codec
// choice (docs/benchmarks.md, "Point-in-time training sets"). Each kind is 1M rows × 10 nullable columns
// (every 11th value NULL, as the features benchmark), row groups of 128k rows as the lake writes; decode is
// the CPU time of `SELECT sum(c0), ..., sum(c9)` over the file (of strlen for strings, epoch_us for timestamps) on one DuckDB thread, the best of -runs.
//
//	go run -tags duckdb_arrow ./bench/features/codec [-rows 1000000] [-runs 3] [-kinds random,counter]
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// kinds are the column shapes: a DuckDB expression over i (the row) and j (the column).
var kinds = []struct{ name, expr, agg string }{
	{"random", "random() * 1000", "sum(%s)"},                                           // full-precision doubles (ratios, model scores)
	{"rounded2", "round(random() * 1000, 2)", "sum(%s)"},                               // prices, measurements
	{"counter", "CAST(i + j AS DOUBLE)", "sum(%s)"},                                    // the features benchmark's f = i + j
	{"ids", "CAST((i * 7919 + j) % 100000000 AS BIGINT)", "sum(%s)"},                   // spread integers (keys)
	{"lowcard_int", "CAST((i * 31 + j) % 50 AS BIGINT)", "sum(%s)"},                    // small integer categories
	{"strings", "md5(CAST(i + j AS VARCHAR))", "sum(strlen(%s))"},                      // random 32-character strings
	{"lowcard_str", "'category_' || CAST((i + j) % 20 AS VARCHAR)", "sum(strlen(%s))"}, // string categories
	{"timestamps", "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((i * 60 + j) * 1000000)", "sum(epoch_us(%s))"},
}

var variants = []struct{ name, opts string }{
	{"zstd v1", "COMPRESSION zstd"}, // the lake's files today
	{"uncompressed v1", "COMPRESSION uncompressed"},
	{"lz4_raw v1", "COMPRESSION lz4_raw"},
	{"snappy v1", "COMPRESSION snappy"},
	{"zstd v2", "COMPRESSION zstd, PARQUET_VERSION v2"},
	{"uncompressed v2", "COMPRESSION uncompressed, PARQUET_VERSION v2"},
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows per file")
	runs := flag.Int("runs", 3, "decode runs per file (the best is kept)")
	only := flag.String("kinds", "", "comma-separated kinds to run (default all)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "strata-codec-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range []string{"SET threads = 1", "SET TimeZone = 'UTC'", "SELECT setseed(0.42)"} {
		if _, err := db.Exec(s); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%-12s %-16s %10s %8s %10s\n", "kind", "variant", "MB", "size", "decode ms")
	for _, k := range kinds {
		if *only != "" && !strings.Contains(","+*only+",", ","+k.name+",") {
			continue
		}
		var base float64
		for _, v := range variants {
			p := filepath.Join(dir, k.name+"-"+strings.ReplaceAll(v.name, " ", "-")+".parquet")
			if err := write(db, p, k.expr, v.opts, *rows); err != nil {
				log.Fatalf("%s %s: %v", k.name, v.name, err)
			}
			st, err := os.Stat(p)
			if err != nil {
				log.Fatal(err)
			}
			mb := float64(st.Size()) / 1e6
			if base == 0 {
				base = mb
			}
			ms, err := decode(db, p, k.agg, *runs)
			if err != nil {
				log.Fatalf("%s %s: %v", k.name, v.name, err)
			}
			fmt.Printf("%-12s %-16s %10.2f %7.0f%% %10.1f\n", k.name, v.name, mb, 100*mb/base, ms)
			_ = os.Remove(p)
		}
	}
}

func write(db *sql.DB, path, expr, opts string, rows int) error {
	cols := make([]string, 10)
	for j := range cols {
		e := strings.ReplaceAll(expr, "j", fmt.Sprint(j))
		cols[j] = fmt.Sprintf("CASE WHEN (i + %d) %% 11 = 0 THEN NULL ELSE %s END AS c%d", j, e, j)
	}
	_, err := db.Exec(fmt.Sprintf("COPY (SELECT %s FROM range(%d) t(i)) TO '%s' (FORMAT parquet, %s, ROW_GROUP_SIZE 131072)",
		strings.Join(cols, ", "), rows, path, opts))
	return err
}

// decode returns the least CPU milliseconds of runs scans of every column of the file.
func decode(db *sql.DB, path, agg string, runs int) (float64, error) {
	mins := make([]string, 10)
	for j := range mins {
		mins[j] = fmt.Sprintf(agg, fmt.Sprintf("c%d", j))
	}
	q := fmt.Sprintf("SELECT %s FROM read_parquet('%s')", strings.Join(mins, ", "), path)
	best := time.Duration(1 << 62)
	for range runs {
		before := cpu()
		out := make([]any, len(mins))
		for j := range out {
			out[j] = new(any)
		}
		if err := db.QueryRow(q).Scan(out...); err != nil {
			return 0, err
		}
		best = min(best, cpu()-before)
	}
	return float64(best.Microseconds()) / 1000, nil
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
