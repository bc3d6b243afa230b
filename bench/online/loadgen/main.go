// Command loadgen is a bounded load generator for Feast-shaped online feature serving: it POSTs
// /get-online-features requests (N entities × the given features) from C concurrent keep-alive clients on
// loopback for at most -duration or -requests, and prints RPS, p50 and p99 as one line. The same request body
// goes to Strata and to `feast serve`, so their lines compare. With -push it loads rows first through POST /push.
//
//	go run ./bench/online/loadgen -url http://127.0.0.1:8080 -view bench -features 50 -entities 1 -c 16 -duration 10s
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "server base URL")
	query := flag.String("query", "", "query string added to every request (e.g. env=dev)")
	view := flag.String("view", "bench", "feature view")
	key := flag.String("key", "driver_id", "entity join key")
	nfeat := flag.Int("features", 50, "features per entity (f00, f01, ...)")
	nent := flag.Int("entities", 1, "entities per request")
	keyspace := flag.Int("keyspace", 10000, "entity ids are drawn from [0, keyspace)")
	conc := flag.Int("c", 1, "concurrent clients")
	dur := flag.Duration("duration", 10*time.Second, "longest run")
	maxReq := flag.Int64("requests", 200000, "most requests")
	label := flag.String("label", "", "label printed first")
	push := flag.Bool("push", false, "load keyspace rows through POST /push first, then exit")
	flag.Parse()
	feats := make([]string, *nfeat)
	for i := range feats {
		feats[i] = fmt.Sprintf("f%02d", i)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc + 1, DisableCompression: true}, Timeout: 30 * time.Second}
	target := *url + "/get-online-features"
	if *query != "" {
		target += "?" + *query
	}
	if *push {
		if err := load(client, *url, *query, *view, *key, feats, *keyspace); err != nil {
			fmt.Fprintln(os.Stderr, "push:", err)
			os.Exit(1)
		}
		return
	}
	refs := make([]string, len(feats))
	for i, f := range feats {
		refs[i] = *view + ":" + f
	}
	if err := check(client, target, body(refs, *key, *nent, *keyspace)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lat, elapsed, errs := run(client, target, refs, *key, *nent, *keyspace, *conc, *dur, *maxReq)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	fmt.Printf("%-28s entities=%-3d features=%d c=%-2d requests=%-7d errors=%-3d rps=%8.0f p50=%6.2fms p99=%6.2fms\n",
		*label, *nent, *nfeat, *conc, len(lat), errs, float64(len(lat))/elapsed.Seconds(), pct(0.5), pct(0.99))
}

func body(refs []string, key string, n, keyspace int) []byte {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = rand.IntN(keyspace)
	}
	b, _ := json.Marshal(map[string]any{"features": refs, "entities": map[string]any{key: ids}, "full_feature_names": false})
	return b
}

// check sends one request and fails unless it is a 200 whose features are PRESENT.
func check(c *http.Client, url string, b []byte) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(out), "PRESENT") {
		return fmt.Errorf("probe request: %d %s", resp.StatusCode, out)
	}
	return nil
}

func run(c *http.Client, url string, refs []string, key string, n, keyspace, conc int, dur time.Duration, maxReq int64) ([]time.Duration, time.Duration, int64) {
	var sent, errs atomic.Int64
	deadline := time.Now().Add(dur)
	lats := make([][]time.Duration, conc)
	// Bodies are prepared up front so the generator measures the server, not JSON encoding.
	bodies := make([][]byte, 256)
	for i := range bodies {
		bodies[i] = body(refs, key, n, keyspace)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; sent.Add(1) <= maxReq && time.Now().Before(deadline); i++ {
				t := time.Now()
				resp, err := c.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return all, elapsed, errs.Load()
}

// load pushes keyspace rows (every feature a float, event time now) in batches of 1000.
func load(c *http.Client, base, query, view, key string, feats []string, keyspace int) error {
	url := base + "/push"
	if query != "" {
		url += "?" + query
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for lo := 0; lo < keyspace; lo += 1000 {
		hi := min(lo+1000, keyspace)
		df := map[string]any{}
		ids, ts := make([]int, 0, hi-lo), make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids, ts = append(ids, i), append(ts, now)
		}
		df[key], df["event_timestamp"] = ids, ts
		for _, f := range feats {
			vals := make([]float64, hi-lo)
			for i := range vals {
				vals[i] = rand.Float64()
			}
			df[f] = vals
		}
		b, _ := json.Marshal(map[string]any{"push_source_name": view, "df": df, "to": "online"})
		resp, err := c.Post(url, "application/json", bytes.NewReader(b))
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%d %s", resp.StatusCode, out)
		}
	}
	return nil
}
