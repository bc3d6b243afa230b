package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// load pushes keyspace rows (every feature a float, event time now) in batches of 1000 through POST /push.
func load(base, query, view, key string, feats []string, keyspace int) error {
	c := &http.Client{Timeout: 5 * time.Minute}
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
			return fmt.Errorf("push: %d %s", resp.StatusCode, out)
		}
	}
	return nil
}

// serveCanned is a trivial net/http server for measuring the generator itself: it answers every
// /get-online-features request with a Feast-shaped answer (each requested feature 0.5, PRESENT) for the
// requested entities, so the generator's checks pass, at little cost of its own.
func serveCanned(addr, key string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("serving canned answers on", ln.Addr())
	return http.Serve(ln, cannedHandler(key))
}

func cannedHandler(key string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Features []string         `json:"features"`
			Entities map[string][]int `json:"entities"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := req.Entities[key]
		b := []byte(`{"metadata":{"feature_names":["` + key + `"`)
		for _, f := range req.Features {
			_, name, _ := bytes.Cut([]byte(f), []byte(":"))
			b = append(append(append(b, `,"`...), name...), '"')
		}
		b = append(b, `]},"results":[`...)
		col := func(vals func(i int) string) {
			b = append(b, `{"values":[`...)
			for i := range ids {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, vals(i)...)
			}
			b = append(b, `],"statuses":[`...)
			for i := range ids {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `"PRESENT"`...)
			}
			b = append(b, `],"event_timestamps":[`...)
			for i := range ids {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `"2026-01-01T00:00:00Z"`...)
			}
			b = append(b, "]}"...)
		}
		col(func(i int) string { return strconv.Itoa(ids[i]) })
		for range req.Features {
			b = append(b, ',')
			col(func(int) string { return "0.5" })
		}
		b = append(b, "]}\n"...)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
}
