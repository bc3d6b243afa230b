package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is a run's outcome: the latencies of the successful requests, the failed ones, the wall time and the
// generator's CPU time.
type result struct {
	lat          []time.Duration
	starts       []time.Duration // with -latfile: each successful request's start, from the run's start (lat's order)
	errs         int64
	errSummary   string
	elapsed, cpu time.Duration
	srvCPU       time.Duration // the server's CPU time over the run (-pid), -1 when unknown
}

// worker drives one connection.
type worker struct {
	c        *conn
	fresh    bool // the next response is the connection's first: it is checked
	errs     int64
	statuses map[int]int // non-200 answers by status
	ioErr    error       // the first transport error
	fatal    error
}

// run checks the first answer to every prepared body (firstAnswers), opens the connections and checks each
// one's first answer (untimed), then sends requests from all of them until the duration or the request count is reached, checking
// every 200 answer against the first one to its body (check).
func run(o *options) (result, error) {
	if err := firstAnswers(o); err != nil {
		return result{}, err
	}
	deadline := time.Now().Add(o.dur)
	connDeadline := deadline.Add(time.Minute) // set-up and the last answers, bounded
	ws := make([]worker, o.conc)
	for i := range ws {
		w := &ws[i]
		var err error
		if w.c, err = dial(o.addr, connDeadline); err != nil {
			return result{}, err
		}
		req := &o.reqs[i%len(o.reqs)]
		resp, err := w.c.do(req.wire)
		if err != nil {
			return result{}, fmt.Errorf("first request of connection %d: %w", i, err)
		}
		if err := check(o, req, resp); err != nil {
			return result{}, fmt.Errorf("first answer of connection %d: %w", i, err)
		}
	}
	lat := make([]time.Duration, o.maxReq)
	for i := range lat { // touched before timing; -1 marks a slot without a successful request
		lat[i] = -1
	}
	var starts []time.Duration
	if o.latFile != "" {
		starts = make([]time.Duration, o.maxReq)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	srv0 := time.Duration(-1)
	if o.serverPID > 0 {
		srv0 = procCPU(o.serverPID)
	}
	cpu0, start := cpuTime(), time.Now()
	deadline = start.Add(o.dur)
	for i := range ws {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			w.loop(o, lat, starts, start, &next, deadline, connDeadline)
		}(&ws[i])
	}
	wg.Wait()
	res := result{elapsed: time.Since(start), cpu: cpuTime() - cpu0, srvCPU: -1}
	if srv0 >= 0 {
		if srv1 := procCPU(o.serverPID); srv1 >= 0 {
			res.srvCPU = srv1 - srv0
		}
	}
	statuses := map[int]int{}
	var ioErr error
	for i := range ws {
		w := &ws[i]
		if w.c != nil {
			_ = w.c.Close()
		}
		if w.fatal != nil {
			return res, w.fatal
		}
		res.errs += w.errs
		for s, n := range w.statuses {
			statuses[s] += n
		}
		if ioErr == nil {
			ioErr = w.ioErr
		}
	}
	res.lat = lat[:0]
	for i, d := range lat {
		if d >= 0 {
			res.lat = append(res.lat, d)
			if starts != nil {
				res.starts = append(res.starts, starts[i])
			}
		}
	}
	if len(res.lat) == 0 {
		return res, fmt.Errorf("no request succeeded (%d failed: %s)", res.errs, summary(statuses, ioErr))
	}
	res.errSummary = summary(statuses, ioErr)
	return res, nil
}

// firstAnswers decodes and verifies the first answer to every prepared body (check), untimed, before the run's
// connections are opened (a server may close connections left idle meanwhile: Feast's after 5 s): at 100
// entities × 50 features a decode takes milliseconds, and 256 of them inside a timed run took the CPU the server
// being measured needs. A connection the server closes is dialled again, up to three tries per body.
func firstAnswers(o *options) error {
	var c *conn
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	for i := range o.reqs {
		req := &o.reqs[i]
		var resp response
		var err error
		for try := 0; try < 3; try++ {
			if c == nil {
				if c, err = dial(o.addr, time.Now().Add(10*time.Minute)); err != nil {
					continue
				}
			}
			if resp, err = c.do(req.wire); err == nil {
				break
			}
			_ = c.Close()
			c = nil
		}
		if err != nil {
			return fmt.Errorf("first request of body %d: %w", i, err)
		}
		if err := check(o, req, resp); err != nil {
			return fmt.Errorf("first answer to body %d: %w", i, err)
		}
		if c.closed {
			_ = c.Close()
			c = nil
		}
	}
	return nil
}

// loop sends requests until the deadline or the request count. Request i is the run's i-th: its latency
// goes to lat[i] (its start to starts[i] when asked), and its body is the i-th prepared one (round robin).
func (w *worker) loop(o *options, lat, starts []time.Duration, start time.Time, next *atomic.Int64, deadline, connDeadline time.Time) {
	for {
		i := next.Add(1) - 1
		if i >= int64(len(lat)) {
			return
		}
		t := time.Now()
		if !t.Before(deadline) {
			return
		}
		req := &o.reqs[int(i)%len(o.reqs)]
		if w.c == nil {
			c, err := dial(o.addr, connDeadline)
			if err != nil {
				w.failed(err)
				time.Sleep(10 * time.Millisecond) // a server refusing connections is not hammered
				continue
			}
			w.c, w.fresh = c, true
		}
		resp, err := w.c.do(req.wire)
		d := time.Since(t)
		if err != nil {
			w.failed(err)
			_ = w.c.Close()
			w.c = nil
			continue
		}
		if w.fresh || resp.status == 200 {
			if err := check(o, req, resp); err != nil {
				w.fatal = fmt.Errorf("request %d: %w", i, err)
				return
			}
			w.fresh = false
		}
		if resp.status != 200 {
			if w.statuses == nil {
				w.statuses = map[int]int{}
			}
			w.statuses[resp.status]++
			w.errs++
		} else {
			lat[i] = d
			if starts != nil {
				starts[i] = t.Sub(start)
			}
		}
		if w.c.closed {
			_ = w.c.Close()
			w.c = nil
		}
	}
}

func (w *worker) failed(err error) {
	w.errs++
	if w.ioErr == nil {
		w.ioErr = err
	}
}

func summary(statuses map[int]int, ioErr error) string {
	var parts []string
	for s, n := range statuses {
		parts = append(parts, fmt.Sprintf("%d× status %d", n, s))
	}
	sort.Strings(parts)
	if ioErr != nil {
		parts = append(parts, "first transport error: "+ioErr.Error())
	}
	return strings.Join(parts, "; ")
}
