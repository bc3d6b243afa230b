// Command drain reads a query's whole answer as fast as a client can (pgconn, values neither copied nor
// decoded) and prints the wall time, the time to the first row and the bytes: what the server alone needs to
// produce a result, where bench/sql's Python clients need more than the server.
//
//	drain -dsn DSN -sql 'SELECT * FROM t' -mode text|binary|copy [-runs N] [-pid PID]
//
// With -pid, it also prints the server's CPU time per run (the process tree's utime + stime, from /proc).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func main() {
	dsn := flag.String("dsn", "", "connection string")
	sql := flag.String("sql", "", "the query (copy: the query inside COPY (...) TO STDOUT (FORMAT binary))")
	mode := flag.String("mode", "binary", "text (simple protocol), binary (extended protocol, binary results) or copy")
	runs := flag.Int("runs", 3, "runs")
	pid := flag.Int("pid", 0, "the server's process, to count its CPU time")
	flag.Parse()
	ctx := context.Background()
	for range *runs {
		c, err := pgconn.Connect(ctx, *dsn)
		check(err)
		cpu0 := treeCPU(*pid)
		t0 := time.Now()
		var first time.Duration
		var bytes, rows int64
		switch *mode {
		case "copy":
			w := &counter{t0: t0}
			_, err = c.CopyTo(ctx, w, "COPY ("+*sql+") TO STDOUT (FORMAT binary)")
			check(err)
			bytes, rows, first = w.n, w.writes, w.first
		case "text", "binary":
			rows, bytes, first = readRows(ctx, c, *sql, *mode, t0)
		default:
			check(fmt.Errorf("mode %q: text, binary or copy", *mode))
		}
		wall := time.Since(t0)
		time.Sleep(100 * time.Millisecond)
		cpu := treeCPU(*pid) - cpu0
		check(c.Close(ctx))
		fmt.Printf("%s wall %.3f s first %.1f ms rows %d bytes %d server-cpu %.3f s\n", *mode, wall.Seconds(),
			float64(first.Microseconds())/1000, rows, bytes, cpu)
	}
}

// readRows reads a query's rows: text through the simple protocol, binary through the extended one.
func readRows(ctx context.Context, c *pgconn.PgConn, sql, mode string, t0 time.Time) (rows, bytes int64, first time.Duration) {
	var rr *pgconn.ResultReader
	var mrr *pgconn.MultiResultReader
	if mode == "text" {
		mrr = c.Exec(ctx, sql)
		if !mrr.NextResult() {
			check(mrr.Close())
		}
		rr = mrr.ResultReader()
	} else {
		rr = c.ExecParams(ctx, sql, nil, nil, nil, []int16{1})
	}
	for rr.NextRow() {
		if rows == 0 {
			first = time.Since(t0)
		}
		rows++
		for _, v := range rr.Values() {
			bytes += int64(len(v))
		}
	}
	_, err := rr.Close()
	check(err)
	if mrr != nil {
		check(mrr.Close())
	}
	return rows, bytes, first
}

type counter struct {
	t0        time.Time
	first     time.Duration
	n, writes int64
}

func (w *counter) Write(p []byte) (int, error) {
	if w.writes == 0 {
		w.first = time.Since(w.t0)
	}
	w.writes++
	w.n += int64(len(p))
	return len(p), nil
}

// treeCPU is the CPU seconds of process pid and its descendants, with the children they reaped.
func treeCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	stats := map[int][]string{}
	kids := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		stats[p] = f
		pp, _ := strconv.Atoi(f[1])
		kids[pp] = append(kids[pp], p)
	}
	var ticks int64
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if f, ok := stats[p]; ok {
			for _, v := range f[11:15] {
				n, _ := strconv.ParseInt(v, 10, 64)
				ticks += n
			}
			k := kids[p]
			sort.Ints(k)
			todo = append(todo, k...)
		}
	}
	return float64(ticks) / 100
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "drain:", err)
		os.Exit(1)
	}
}
