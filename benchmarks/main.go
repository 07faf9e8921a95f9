// Command benchmarks measures orymfa over loopback HTTP against a real Ory Kratos v1.3.1
// (started by internal/kratostest): requests/s and p50/p99 latency of a bare handler, of
// RequireAAL2 with the session cache, and of RequireAAL2 with the cache off (every request asks
// whoami, as Ory's own middleware snippet does), for each adapter; the number of whoami calls
// caused by N concurrent first requests of one session; and the heap cost of a cached session.
//
//	cd benchmarks && go run .            (or `go run ./benchmarks` from the root with go.work)
//	go run . -duration 5s -concurrency 64 -adapters nethttp,gin
//
// Everything runs in this process and on 127.0.0.1: the load generator, the apps, the whoami
// counting proxy; Kratos is a child process. They share the machine's cores, so the absolute
// numbers understate what a server alone would do; the ratios are what the targets are about.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/fakeory"
	"github.com/orymfa/orymfa/internal/kratostest"
)

type cell struct {
	adapter, name string
	res           result
}

func main() {
	var (
		duration    = flag.Duration("duration", 2*time.Second, "measured duration of each cell")
		warmup      = flag.Duration("warmup", 500*time.Millisecond, "unrecorded warm-up before each cell")
		concurrency = flag.Int("concurrency", 32, "concurrent load workers (one keep-alive connection each)")
		adapters    = flag.String("adapters", strings.Join(allAdapters, ","), "comma-separated adapters to measure")
		cold        = flag.Int("cold", 200, "concurrent first requests of one session for the whoami-count test (0 skips)")
		memEntries  = flag.Int("mem-entries", 10_000, "sessions to cache for the memory measurement (0 skips)")
	)
	flag.Parse()
	if err := run(*duration, *warmup, *concurrency, *adapters, *cold, *memEntries, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
}

func run(duration, warmup time.Duration, conc int, adapterList string, coldN, memEntries int, out io.Writer) error {
	if duration <= 0 || duration > 10*time.Minute || warmup < 0 || warmup > time.Minute {
		return fmt.Errorf("-duration must be in (0, 10m] and -warmup in [0, 1m]")
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
	token, err := p.RegisterAPI(setupCtx, kratostest.NewEmail(), kratostest.Password)
	if err != nil {
		return err
	}
	if _, err := p.EnrollTOTPAPI(setupCtx, token); err != nil {
		return err
	}
	status, sessionBody, err := p.Whoami(setupCtx, token)
	if err != nil {
		return err
	}
	if aal := kratostest.AAL(sessionBody); status != 200 || aal != "aal2" {
		return fmt.Errorf("session after TOTP enrollment: whoami %d, aal %q; want 200 aal2", status, aal)
	}
	fmt.Fprintf(out, "Kratos %s, aal2 session token ready; %d workers, %v warm-up + %v per cell\n\n", p.PublicURL, conc, warmup, duration)

	// Both guarded cells ask Kratos directly (not through the counting proxy) with a client
	// that keeps a connection per worker.
	var cells []cell
	colds := map[string]coldResult{}
	for _, adapter := range adapters {
		api, _ := oryClient(p.PublicURL, conc*2)
		cachedV, err := core.New(core.Config{APIClient: api})
		if err != nil {
			return err
		}
		noCacheV, err := core.New(core.Config{APIClient: api, Cache: core.CacheConfig{Disabled: true}})
		if err != nil {
			return err
		}
		for _, c := range []struct {
			name string
			v    *core.Verifier
		}{{"bare", nil}, {"cached", cachedV}, {"no-cache", noCacheV}} {
			a, err := startApp(adapter, c.v)
			if err != nil {
				return err
			}
			client := newClient(conc)
			res, err := load(ctx, client, a.URL+"/r", token, conc, warmup, duration)
			client.CloseIdleConnections()
			a.close()
			if err != nil {
				return err
			}
			cells = append(cells, cell{adapter, c.name, res})
			fmt.Fprintf(out, "  %-8s %-9s %9.0f req/s  p50 %-9v p99 %-9v errors %d %s\n", adapter, c.name, res.RPS(), res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.Errors, res.FirstErr)
		}
		if coldN > 0 {
			cr, err := coldStart(ctx, p, adapter, token, coldN)
			if err != nil {
				return fmt.Errorf("%s cold start: %w", adapter, err)
			}
			colds[adapter] = cr
			fmt.Fprintf(out, "  %-8s %d concurrent first requests: %d answered 200, whoami calls %d (proxy saw %d), %v\n", adapter, cr.N, cr.OK, cr.Calls, cr.ProxyCalls, cr.Elapsed.Round(time.Millisecond))
		}
	}

	fmt.Fprintf(out, "\n| adapter | case | req/s | p50 | p99 | errors |\n|---|---|---:|---:|---:|---:|\n")
	for _, c := range cells {
		fmt.Fprintf(out, "| %s | %s | %.0f | %v | %v | %d |\n", c.adapter, c.name, c.res.RPS(), c.res.P50.Round(time.Microsecond), c.res.P99.Round(time.Microsecond), c.res.Errors)
	}
	fmt.Fprintf(out, "\n| adapter | cached / bare (target ≥ 0.9) | cached / no-cache (target ≥ 20) | whoami calls for %d concurrent first requests (target 1) |\n|---|---:|---:|---:|\n", coldN)
	allMet := true
	for _, adapter := range adapters {
		rps := map[string]float64{}
		for _, c := range cells {
			if c.adapter == adapter {
				rps[c.name] = c.res.RPS()
			}
		}
		ab, bc := rps["cached"]/rps["bare"], rps["cached"]/rps["no-cache"]
		coldCol := "skipped"
		if cr, ok := colds[adapter]; ok {
			coldCol = fmt.Sprintf("%d (%d/%d answered 200) %s", cr.Calls, cr.OK, cr.N, mark(cr.Calls == 1 && cr.ProxyCalls == 1 && cr.OK == cr.N))
			allMet = allMet && cr.Calls == 1 && cr.OK == cr.N
		}
		fmt.Fprintf(out, "| %s | %.2f %s | %.1f %s | %s |\n", adapter, ab, mark(ab >= 0.9), bc, mark(bc >= 20), coldCol)
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
