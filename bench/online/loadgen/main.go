// Command loadgen is a bounded load generator for Feast-shaped online feature serving: it POSTs
// /get-online-features requests (N entities × the given features) from C concurrent keep-alive connections on
// loopback for at most -duration or -requests, and prints RPS, p50 and p99 as one line. The same request bodies
// (same seed) go to Strata and to `feast serve`, so their lines compare. With -push it loads rows first through
// POST /push; with -serve it is a trivial net/http server answering canned responses, to measure the
// generator's own cost.
//
// It costs the server's machine little per request, like wrk: each connection is a raw TCP connection speaking
// HTTP/1.1 by hand, the request bytes are prepared once, the response is read by its Content-Length (or chunked
// framing) into a reused buffer, and each latency goes into a preallocated slice. It stays honest: the first
// response of every connection must be a 200 whose JSON answers every requested feature PRESENT for the
// requested entities (else the run fails), so must the first answer to each prepared request body (both
// untimed), every later 200 answer must be the same bytes as the first answer to its body (length and a 64-bit
// hash), and a non-200 answer is counted as an error and never timed as a success. gen_cpu is the generator's own CPU time
// (user + system) per request.
//
//	go run ./bench/online/loadgen -url http://127.0.0.1:8080 -query env=dev -entities 1 -c 16 -duration 10s
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	o := options{}
	base := flag.String("url", "http://127.0.0.1:8080", "server base URL (http only)")
	query := flag.String("query", "", "query string added to every request (e.g. env=dev)")
	flag.StringVar(&o.view, "view", "bench", "feature view")
	flag.StringVar(&o.key, "key", "driver_id", "entity join key")
	nfeat := flag.Int("features", 50, "features per entity (f00, f01, ...)")
	flag.IntVar(&o.entities, "entities", 1, "entities per request")
	flag.IntVar(&o.keyspace, "keyspace", 10000, "entity ids are drawn from [0, keyspace)")
	flag.IntVar(&o.conc, "c", 1, "concurrent connections")
	flag.DurationVar(&o.dur, "duration", 10*time.Second, "longest run")
	flag.IntVar(&o.maxReq, "requests", 200000, "most requests")
	seed := flag.Uint64("seed", 1, "seed of the request bodies (the same seed sends the same bodies to every server)")
	label := flag.String("label", "", "label printed first")
	push := flag.Bool("push", false, "load keyspace rows through POST /push first, then exit")
	serve := flag.String("serve", "", "instead of loading, serve canned answers on this address (to measure the generator)")
	cpuprofile := flag.String("cpuprofile", "", "write the generator's CPU profile to this file")
	flag.StringVar(&o.latFile, "latfile", "", "write each successful request's start (µs from the run's start) and latency (µs) to this file, one per line")
	flag.IntVar(&o.serverPID, "pid", 0, "the server's process id: its CPU per request is printed too (srv_cpu, from /proc)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		fail(err)
		fail(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	if *serve != "" {
		fail(serveCanned(*serve, o.key))
	}
	o.features = make([]string, *nfeat)
	for i := range o.features {
		o.features[i] = fmt.Sprintf("f%02d", i)
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		fail(fmt.Errorf("-url %q: give http://host:port", *base))
	}
	if *push {
		fail(load(*base, *query, o.view, o.key, o.features, o.keyspace))
		return
	}
	o.addr, o.path = u.Host, strings.TrimSuffix(u.Path, "/")+"/get-online-features"
	if *query != "" {
		o.path += "?" + *query
	}
	o.reqs = prepare(&o, newRand(*seed))
	res, err := run(&o)
	fail(err)
	if o.latFile != "" {
		fail(writeLatencies(o.latFile, res))
	}
	lat := res.lat
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
	}
	cpu := 0.0
	if n := len(lat) + int(res.errs); n > 0 {
		cpu = float64(res.cpu.Microseconds()) / float64(n)
	}
	srv := ""
	if o.serverPID > 0 && res.srvCPU >= 0 {
		if n := len(lat) + int(res.errs); n > 0 {
			srv = fmt.Sprintf(" srv_cpu=%.1fus/req", float64(res.srvCPU.Microseconds())/float64(n))
		}
	}
	fmt.Printf("%-28s entities=%-3d features=%d c=%-2d requests=%-7d errors=%-3d rps=%8.0f p50=%6.2fms p99=%6.2fms gen_cpu=%.1fus/req%s\n",
		*label, o.entities, len(o.features), o.conc, len(lat), res.errs, float64(len(lat))/res.elapsed.Seconds(), pct(0.5), pct(0.99), cpu, srv)
	if res.errs > 0 {
		fmt.Fprintf(os.Stderr, "%s: %d requests failed: %s\n", *label, res.errs, res.errSummary)
	}
}

// writeLatencies writes "start latency" lines (µs) in request order.
func writeLatencies(path string, res result) error {
	var b bytes.Buffer
	for i, d := range res.lat {
		fmt.Fprintf(&b, "%d %d\n", res.starts[i].Microseconds(), d.Microseconds())
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, path, view, key string
	features              []string
	entities, keyspace    int
	conc, maxReq          int
	serverPID             int
	latFile               string
	dur                   time.Duration
	reqs                  []request
}

// request is one prepared request: its bytes on the wire, the entity ids it asks for, and the first 200 answer
// it got (checked; later answers must equal it).
type request struct {
	wire []byte
	ids  []int
	want atomic.Pointer[firstAnswer]
}

// prepare builds 256 requests of random entities, wire bytes and all, once for the whole run.
func prepare(o *options, rng *rand.Rand) []request {
	refs := make([]string, len(o.features))
	for i, f := range o.features {
		refs[i] = `"` + o.view + ":" + f + `"`
	}
	out := make([]request, 256)
	for i := range out {
		ids := make([]int, o.entities)
		strs := make([]string, o.entities)
		for j := range ids {
			ids[j] = rng.IntN(o.keyspace)
			strs[j] = fmt.Sprint(ids[j])
		}
		body := `{"features":[` + strings.Join(refs, ",") + `],"entities":{"` + o.key + `":[` + strings.Join(strs, ",") +
			`]},"full_feature_names":false}`
		wire := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: strata-loadgen\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			o.path, o.addr, len(body), body)
		out[i].wire, out[i].ids = []byte(wire), ids
	}
	return out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// cpuTime is the process's user + system CPU time so far.
// procCPU is the CPU time (user + system) of process pid so far, from /proc/PID/stat; -1 when unreadable.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: the fields after its closing parenthesis are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state): utime and stime are fields 14 and 15
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every Linux architecture Go supports).
const clockTicks = 100

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
