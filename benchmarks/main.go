package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/fakeory"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// cell is one (adapter, case) measured over several rounds.
type cell struct {
	adapter, name string
	rounds        []result
	whoami        int64 // whoami calls made during the measured rounds (warm-ups included)
}

// median returns the round with the median throughput.
func (c *cell) median() result {
	rs := slices.Clone(c.rounds)
	slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.RPS(), b.RPS()) })
	return rs[len(rs)/2]
}

// cpuPerRequest is this process's CPU time per request over all rounds.
func (c *cell) cpuPerRequest() time.Duration {
	var cpu time.Duration
	n, _ := c.requests()
	for _, r := range c.rounds {
		cpu += r.CPU
	}
	if n == 0 {
		return 0
	}
	return cpu / time.Duration(n)
}

func (c *cell) requests() (n, errs int) {
	for _, r := range c.rounds {
		n += r.Total
		errs += r.Errors
	}
	return n, errs
}

func main() {
	var (
		duration    = flag.Duration("duration", 2*time.Second, "measured duration of each cell")
		warmup      = flag.Duration("warmup", 500*time.Millisecond, "unrecorded warm-up before each cell")
		rounds      = flag.Int("rounds", 3, "rounds per cell; the table shows the median round (cells are interleaved to spread background load)")
		concurrency = flag.Int("concurrency", 32, "concurrent load workers (one keep-alive connection each)")
		adapters    = flag.String("adapters", strings.Join(allAdapters, ","), "comma-separated adapters to measure")
		cold        = flag.Int("cold", 200, "concurrent first requests of one session for the whoami-count test (0 skips)")
		memEntries  = flag.Int("mem-entries", 10_000, "sessions to cache for the memory measurement (0 skips)")
	)
	flag.Parse()
	if err := run(*duration, *warmup, *rounds, *concurrency, *adapters, *cold, *memEntries, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
}

func run(duration, warmup time.Duration, rounds, conc int, adapterList string, coldN, memEntries int, out io.Writer) error {
	if duration <= 0 || duration > 10*time.Minute || warmup < 0 || warmup > time.Minute {
		return fmt.Errorf("-duration must be in (0, 10m] and -warmup in [0, 1m]")
	}
	if rounds < 1 || rounds > 100 {
		return fmt.Errorf("-rounds must be in [1, 100]")
	}
	if conc < 1 || conc > 4096 || coldN < 0 || coldN > 10_000 || memEntries < 0 || memEntries > 1_000_000 {
		return fmt.Errorf("-concurrency must be in [1, 4096], -cold in [0, 10000], -mem-entries in [0, 1e6]")
	}
	var adapters []string
	for a := range strings.SplitSeq(adapterList, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !slices.Contains(allAdapters, a) {
			return fmt.Errorf("unknown adapter %q (known: %s)", a, strings.Join(allAdapters, ", "))
		}
		adapters = append(adapters, a)
	}

	ctx := context.Background()
	setupCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	fmt.Fprintf(out, "orymfa loopback benchmark: %d CPUs (GOMAXPROCS %d), %s, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), cpuModel())
	fmt.Fprintf(out, "starting Kratos (TOTP project)...\n")
	p, err := kratostest.Start(setupCtx, kratostest.TOTP)
	if err != nil {
		return err
	}
	defer p.Close()
	// One aal2 session per worker: the middleware coalesces concurrent whoami calls for the
	// same credential even with the cache off, so with a single shared token the no-cache cell
	// would not ask Ory on every request (Ory's snippet does). Kratos hashes each password, so
	// registering users one by one takes a few seconds.
	tokens := make([]string, conc)
	var sessionBody []byte
	for i := range tokens {
		token, err := p.RegisterAPI(setupCtx, kratostest.NewEmail(), kratostest.Password)
		if err != nil {
			return err
		}
		if _, err := p.EnrollTOTPAPI(setupCtx, token); err != nil {
			return err
		}
		status, body, err := p.Whoami(setupCtx, token)
		if err != nil {
			return err
		}
		if aal := kratostest.AAL(body); status != 200 || aal != "aal2" {
			return fmt.Errorf("session after TOTP enrollment: whoami %d, aal %q; want 200 aal2", status, aal)
		}
		tokens[i], sessionBody = token, body
	}
	token := tokens[0]
	fmt.Fprintf(out, "Kratos %s, %d aal2 session tokens ready; %d workers, %v warm-up + %v per cell\n\n", p.PublicURL, len(tokens), conc, warmup, duration)

	// Both guarded cells ask Kratos directly (not through the counting proxy) with a client
	// that keeps a connection per worker. The apps live for the whole run; each round measures
	// every cell once, so background load on the machine hits all cells alike.
	type target struct {
		cell    *cell
		app     *app
		counter *countingTransport
		client  *http.Client // kept across rounds, so its connections stay open
	}
	var targets []target
	var cells []*cell
	for _, adapter := range adapters {
		for _, name := range []string{"bare", "cached", "no-cache"} {
			var v *core.Verifier
			api, counter := oryClient(p.PublicURL, conc*2)
			if name != "bare" {
				if v, err = core.New(core.Config{APIClient: api, Cache: core.CacheConfig{Disabled: name == "no-cache"}}); err != nil {
					return err
				}
			}
			a, err := startApp(adapter, v)
			if err != nil {
				return err
			}
			defer a.close()
			c := &cell{adapter: adapter, name: name}
			cells = append(cells, c)
			client := newClient(conc)
			defer client.CloseIdleConnections()
			targets = append(targets, target{c, a, counter, client})
		}
	}
	for round := 1; round <= rounds; round++ {
		fmt.Fprintf(out, "round %d/%d\n", round, rounds)
		for _, t := range targets {
			warm := warmup
			if round > 1 {
				warm = min(warmup, 100*time.Millisecond) // connections and cache are warm already
			}
			res, err := load(ctx, t.client, t.app.URL+"/r", tokens, conc, warm, duration)
			if err != nil {
				return err
			}
			t.cell.rounds = append(t.cell.rounds, res)
			t.cell.whoami = t.counter.calls.Load()
			fmt.Fprintf(out, "  %-8s %-9s %9.0f req/s  p50 %-9v p99 %-9v CPU/req %-8v errors %d %s\n", t.cell.adapter, t.cell.name, res.RPS(), res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.CPUPerRequest().Round(100*time.Nanosecond), res.Errors, res.FirstErr)
		}
	}
	colds := map[string]coldResult{}
	if coldN > 0 {
		for _, adapter := range adapters {
			cr, err := coldStart(ctx, p, adapter, token, coldN)
			if err != nil {
				return fmt.Errorf("%s cold start: %w", adapter, err)
			}
			colds[adapter] = cr
			fmt.Fprintf(out, "  %-8s %d concurrent first requests: %d answered 200, whoami calls %d (proxy saw %d), %v\n", adapter, cr.N, cr.OK, cr.Calls, cr.ProxyCalls, cr.Elapsed.Round(time.Millisecond))
		}
	}

	fmt.Fprintf(out, "\nmedian of %d rounds (%v each, %d workers); whoami calls / request counted over all requests of all rounds, warm-ups included\n\n", rounds, duration, conc)
	fmt.Fprintf(out, "| adapter | case | req/s | p50 | p99 | req/s of each round | CPU µs / request | errors | whoami calls / request |\n|---|---|---:|---:|---:|---|---:|---:|---:|\n")
	for _, c := range cells {
		m := c.median()
		var each []string
		for _, r := range c.rounds {
			each = append(each, fmt.Sprintf("%.0f", r.RPS()))
		}
		n, errs := c.requests()
		perReq := "-"
		if c.name != "bare" {
			perReq = fmt.Sprintf("%.5f (%d)", float64(c.whoami)/float64(n), c.whoami)
		}
		fmt.Fprintf(out, "| %s | %s | %.0f | %v | %v | %s | %.1f | %d | %s |\n", c.adapter, c.name, m.RPS(), m.P50.Round(time.Microsecond), m.P99.Round(time.Microsecond), strings.Join(each, ", "), float64(c.cpuPerRequest())/1e3, errs, perReq)
	}
	fmt.Fprintf(out, "\n| adapter | cached / bare (target ≥ 0.9), median of per-round ratios | cached / no-cache (target ≥ 20), median of per-round ratios | bare / cached CPU per request (throughput ratio when CPU-bound) | whoami calls for %d concurrent first requests (target 1) |\n|---|---:|---:|---:|---:|\n", coldN)
	allMet := true
	for _, adapter := range adapters {
		// Ratios are taken within each round (the cells of a round run back to back, so they
		// see the same background load) and the median round's ratio is shown.
		byName := map[string]*cell{}
		for _, c := range cells {
			if c.adapter == adapter {
				byName[c.name] = c
			}
		}
		ab := medianRatio(byName["cached"], byName["bare"])
		bc := medianRatio(byName["cached"], byName["no-cache"])
		coldCol := "skipped"
		if cr, ok := colds[adapter]; ok {
			coldCol = fmt.Sprintf("%d (%d/%d answered 200) %s", cr.Calls, cr.OK, cr.N, mark(cr.Calls == 1 && cr.ProxyCalls == 1 && cr.OK == cr.N))
			allMet = allMet && cr.Calls == 1 && cr.OK == cr.N
		}
		cpuRatio := float64(byName["bare"].cpuPerRequest()) / float64(byName["cached"].cpuPerRequest())
		fmt.Fprintf(out, "| %s | %.2f %s | %.1f %s | %.2f %s | %s |\n", adapter, ab, mark(ab >= 0.9), bc, mark(bc >= 20), cpuRatio, mark(cpuRatio >= 0.9), coldCol)
		allMet = allMet && ab >= 0.9 && bc >= 20
	}
	fmt.Fprintf(out, "\nall loopback targets met: %v\n", allMet)

	if memEntries > 0 {
		fake, _ := json.Marshal(fakeory.Session("aal2", time.Now()))
		fmt.Fprintf(out, "\nmemory per cached session (%d distinct sessions, HeapAlloc after GC, before vs after):\n", memEntries)
		for _, m := range []struct {
			name string
			body []byte
		}{{"fakeory session", fake}, {"this Kratos v1.3.1 session", sessionBody}} {
			r, err := cacheMemory(ctx, m.body, memEntries)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  %-27s (%5d B of JSON): %6.0f B/entry, %6.1f MiB for %d entries (10,000 entries: %.1f MiB)\n",
				m.name, r.BodySize, r.PerEntry(), float64(r.Bytes)/(1<<20), r.Entries, r.PerEntry()*10_000/(1<<20))
		}
	}
	return nil
}

// medianRatio is the median over rounds of num's throughput over den's in the same round.
func medianRatio(num, den *cell) float64 {
	var rs []float64
	for i := range num.rounds {
		rs = append(rs, num.rounds[i].RPS()/den.rounds[i].RPS())
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// cpuModel reads the CPU model name from /proc/cpuinfo (Linux), or "" elsewhere.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
