package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamplesPerWorker bounds the memory one worker spends on latencies (and so the request
// count of a cell): a worker stops early when it has this many samples.
const maxSamplesPerWorker = 1 << 20

// result is one measured cell.
type result struct {
	Requests int           // completed in the measured window
	Total    int           // completed in all, warm-up included
	Errors   int           // non-200 answers or transport errors (all phases)
	Elapsed  time.Duration // measured window
	CPU      time.Duration // CPU time of this process (load generator and app) over all phases
	P50, P99 time.Duration
	FirstErr string
}

// CPUPerRequest is this process's CPU time per completed request: the load generator's and
// the app's work together, Kratos excluded. Unlike req/s it is hardly affected by other
// processes competing for the cores.
func (r result) CPUPerRequest() time.Duration {
	if r.Total == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Total)
}

func (r result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// newClient returns a client for the load: one transport shared by all workers, with enough
// idle connections per host that every worker keeps its own keep-alive connection.
func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, never through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 10 * time.Second,
	}
}

// checkLoopback refuses any target that is not a loopback address.
func checkLoopback(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback target %q", target)
	}
	return nil
}

// load drives GET target from c workers, worker i presenting creds[i%len(creds)] (nothing
// when creds is empty) on every request and expecting 200: warm-up for warm (not recorded),
// then dur measured. It stops by itself when dur is over (or ctx ends).
func load(ctx context.Context, client *http.Client, target string, creds []credential, c int, warm, dur time.Duration) (result, error) {
	return drive(ctx, client, target, c, warm, dur, 0, http.StatusOK, func(worker int, h http.Header) func() {
		if len(creds) > 0 {
			creds[worker%len(creds)].set(h)
		}
		return nil
	})
}

// loadUnknown sends n requests from c workers, each with a session token no session has (a
// new one per request, Kratos-shaped), so that every request misses the cache and asks Ory;
// every answer must be 401. Measured from the first request, no warm-up.
func loadUnknown(ctx context.Context, client *http.Client, target string, n, c int) (result, error) {
	return drive(ctx, client, target, c, 0, 30*time.Minute, n, http.StatusUnauthorized, func(_ int, h http.Header) func() {
		h.Set("Accept", acceptAPI)
		return func() { h.Set("X-Session-Token", randomToken()) }
	})
}

// drive runs the load: c workers each send GET target over and over, with the headers prep
// sets once per worker and, if prep returns one, a function run before every request to
// change them. Requests started before warm are not recorded; workers stop once dur has
// passed after the warm-up or, when limit > 0, once limit requests were started in all.
// Any answer other than want counts as an error.
func drive(ctx context.Context, client *http.Client, target string, c int, warm, dur time.Duration, limit int, want int, prep func(worker int, h http.Header) func()) (result, error) {
	if err := checkLoopback(target); err != nil {
		return result{}, err
	}
	cpu0 := cpuTime()
	start := time.Now()
	measureFrom := start.Add(warm)
	end := measureFrom.Add(dur)
	ctx, cancel := context.WithDeadline(ctx, end.Add(15*time.Second))
	defer cancel()

	type worker struct {
		samples []time.Duration
		total   int
		errors  int
		lastEnd time.Time
		err     string
	}
	ws := make([]worker, c)
	var (
		wg      sync.WaitGroup
		started atomic.Int64
	)
	for i := range ws {
		wg.Go(func() {
			w := &ws[i]
			w.samples = make([]time.Duration, 0, 4096)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err != nil {
				w.err = err.Error()
				return
			}
			each := prep(i, req.Header)
			for len(w.samples) < maxSamplesPerWorker && ctx.Err() == nil {
				if limit > 0 && started.Add(1) > int64(limit) {
					return
				}
				if each != nil {
					each()
				}
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != want {
						err = fmt.Errorf("status %d, want %d", resp.StatusCode, want)
					}
				}
				t1 := time.Now()
				if err != nil {
					w.errors++
					if w.err == "" {
						w.err = err.Error()
					}
					continue
				}
				w.total++
				if !t0.Before(measureFrom) {
					w.samples = append(w.samples, t1.Sub(t0))
					w.lastEnd = t1
				}
			}
		})
	}
	wg.Wait()

	res := result{CPU: cpuTime() - cpu0}
	var all []time.Duration
	last := measureFrom
	if limit == 0 {
		last = end
	}
	for _, w := range ws {
		all = append(all, w.samples...)
		res.Errors += w.errors
		res.Total += w.total + w.errors
		if w.lastEnd.After(last) {
			last = w.lastEnd
		}
		if res.FirstErr == "" {
			res.FirstErr = w.err
		}
	}
	res.Requests = len(all)
	res.Elapsed = last.Sub(measureFrom)
	if len(all) > 0 {
		slices.Sort(all)
		res.P50 = all[len(all)*50/100]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return res, nil
}
