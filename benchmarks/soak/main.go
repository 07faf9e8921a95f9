package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	if arg, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(helperMain(arg))
	}
	def := defaultSoakConfig()
	var (
		duration    = flag.Duration("duration", def.Duration, "how long the traffic runs (Kratos is stopped at 40% and restarted at 60%)")
		adapter     = flag.String("adapter", def.Adapter, "the adapter under soak: "+strings.Join(allAdapters, ", "))
		concurrency = flag.Int("concurrency", def.Concurrency, "requests in flight")
		ttl         = flag.Duration("ttl", def.TTL, "the verifier's session cache TTL")
		faultsOnly  = flag.Bool("faults", false, "print the fault matrix (every Ory failure mode × every adapter) instead of soaking")
	)
	flag.Parse()
	if *faultsOnly {
		os.Exit(runFaults(os.Stdout))
	}
	cfg := def
	cfg.Duration, cfg.Adapter, cfg.Concurrency, cfg.TTL = *duration, *adapter, *concurrency, *ttl
	cfg.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The setup (Kratos, users) and the restart come on top of the traffic time.
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+5*time.Minute)
	defer cancel()
	rep, err := runSoak(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	printReport(os.Stdout, rep)
	if ps := rep.problems(); len(ps) > 0 {
		fmt.Println("\nFAILED:")
		for _, p := range ps {
			fmt.Println("  -", p)
		}
		os.Exit(1)
	}
	fmt.Println("\nPASS: every invariant held")
}

// runFaults prints the fault matrix and returns the exit code.
func runFaults(w io.Writer) int {
	tb := &cleanupTB{}
	defer tb.close()
	start := time.Now()
	m, err := faultMatrix(tb, allAdapters)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	fmt.Fprintf(w, "Fault matrix: status of an API request (X-Session-Token) / a browser request (cookie) with a valid aal2 session; one status when both agree. The handler never ran, except where \"ran\" says so. (%v)\n\n",
		time.Since(start).Round(time.Millisecond))
	fmt.Fprint(w, matrixTable(m, allAdapters))
	fmt.Fprintln(w)
	for _, f := range faults {
		fmt.Fprintf(w, "- %s: %s\n", f.Name, f.What)
	}
	if ps := matrixProblems(m, allAdapters); len(ps) > 0 {
		fmt.Fprintln(w, "\nFAILED:")
		for _, p := range ps {
			fmt.Fprintln(w, "  -", p)
		}
		return 1
	}
	fmt.Fprintln(w, "\nPASS: without a fault the requests are let through; with each fault, every cell is a 5xx and no handler ran")
	return 0
}

// Flatness bounds, end against start. Both are sampled between requests (the traffic is
// held back for the sample) after a GC, so they differ only by what the process kept: a leak
// of one goroutine, descriptor or session per thousand requests, or per Ory failure, would
// exceed them many times over. The pool of idle connections to Kratos may have grown
// between the two (up to one per request in flight); each such connection is allowed its
// descriptor and its two goroutines (read and write loops).
const (
	maxExtraGoroutines = 8
	maxExtraFDs        = 4
	maxHeapGrowth      = 2 << 20 // bytes
)

// maxRecovery bounds the time from Kratos back to the first grant: the middleware keeps no
// memory of the outage (no backoff, no broken pooled connection), so the next request that
// misses the cache should get one.
const maxRecovery = 2 * time.Second

// problems lists the invariants the report breaks.
func (r *Report) problems() []string {
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	if r.Violations > 0 {
		add("%d handler runs without a verified session of the client's own", r.Violations)
	}
	if r.FiveXXUp > 0 {
		add("%d 5xx answers while Kratos was up", r.FiveXXUp)
	}
	if r.Unexpected > 0 {
		add("%d answers outside what their phase allows", r.Unexpected)
	}
	if r.ClientErrors > 0 {
		add("%d requests could not reach the app", r.ClientErrors)
	}
	if r.DownFailClosed == 0 {
		add("no request failed closed while Kratos was down: the down phase was not exercised")
	}
	if !r.Recovered {
		add("no grant from Ory after the restart")
	} else if r.Recovery > maxRecovery {
		add("the first grant from Ory came %v after Kratos was back", r.Recovery)
	}
	if r.LogoutsDenied == 0 {
		add("no logged-out session was denied")
	}
	if r.HandlerRuns == 0 {
		add("the handler never ran")
	}
	for _, want := range []string{kindAAL2Token, kindAAL2Cookie, kindAAL1Token, kindAAL1Cookie, kindLogout, kindUnknown} {
		n := int64(0)
		for _, st := range r.Counts[phaseUp][want] {
			n += st
		}
		if n == 0 {
			add("no %s request while Kratos was up", want)
		}
	}
	pool := max(0, r.End.OryConns-r.Start.OryConns)
	if r.End.Goroutines > r.Start.Goroutines+maxExtraGoroutines+2*pool {
		add("goroutines grew from %d to %d", r.Start.Goroutines, r.End.Goroutines)
	}
	if r.End.FDs >= 0 && r.End.FDs > r.Start.FDs+maxExtraFDs+pool {
		add("open file descriptors grew from %d to %d", r.Start.FDs, r.End.FDs)
	}
	if r.End.HeapAlloc > r.Start.HeapAlloc+maxHeapGrowth {
		add("live heap grew from %s to %s", mib(r.Start.HeapAlloc), mib(r.End.HeapAlloc))
	}
	return ps
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// printReport writes the report as Markdown.
func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "Soak: %s adapter, %v of traffic, %d requests in flight, cache TTL %v, %s/%s, %d CPUs, %s\n\n",
		r.Adapter, r.Duration.Round(time.Millisecond), r.Concurrency, r.TTL, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "Setup %v (Kratos v1.3.1 TOTP project on an SQLite file, users: %v).\n", r.SetupTook.Round(time.Millisecond), r.Clients)
	fmt.Fprintf(w, "Timeline: logouts at %.1fs; Kratos stopped at %.1fs (exited in %v), down %.1fs, restart took %v.\n\n",
		r.RevokeAt.Seconds(), r.StopAt.Seconds(), r.StopTook.Round(time.Millisecond), r.DownFor.Seconds(), r.RestartTook.Round(time.Millisecond))

	fmt.Fprintln(w, "| figure | value |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| requests | %d (%.0f/s) |\n", r.Requests, r.RPS)
	for _, p := range phases {
		n := int64(0)
		for _, st := range r.Counts[p] {
			for _, c := range st {
				n += c
			}
		}
		rate := ""
		if t := r.PhaseTime[p]; t > 0 {
			rate = fmt.Sprintf(", %.0f/s", float64(n)/t.Seconds())
		}
		fmt.Fprintf(w, "| … %s (%.1fs) | %d%s, slowest %v |\n", p, r.PhaseTime[p].Seconds(), n, rate, r.MaxLatency[p].Round(time.Millisecond))
	}
	fmt.Fprintf(w, "| handler runs | %d |\n", r.HandlerRuns)
	fmt.Fprintf(w, "| handler runs without a verified session of the client's own | **%d** |\n", r.Violations)
	fmt.Fprintf(w, "| 5xx while Kratos was up | **%d** |\n", r.FiveXXUp)
	fmt.Fprintf(w, "| answers outside what their phase allows | **%d** |\n", r.Unexpected)
	fmt.Fprintf(w, "| load generator errors | %d |\n", r.ClientErrors)
	fmt.Fprintf(w, "| Kratos down: failed closed (503/504) | %d |\n", r.DownFailClosed)
	fmt.Fprintf(w, "| Kratos down: served from the cache (200) | %d, the last %v after the stop began (TTL %v) |\n", r.DownCached, r.LastCachedAfterStop.Round(time.Millisecond), r.TTL)
	fmt.Fprintf(w, "| Kratos down: anything else | %d |\n", r.DownOther)
	if r.Recovered {
		fmt.Fprintf(w, "| first grant from Ory after Kratos was back | **%v** (from the restart command: Kratos back %v, first whoami answered %v, first grant %v, kratostest saw it ready %v) |\n",
			r.Recovery.Round(100*time.Microsecond), r.Back.Round(time.Millisecond), r.FirstAnswer.Round(time.Millisecond), r.FirstGrant.Round(time.Millisecond), r.RestartTook.Round(time.Millisecond))
	} else {
		fmt.Fprintln(w, "| first grant from Ory after Kratos was back | **none** |")
	}
	fmt.Fprintf(w, "| logged-out sessions: granted from the cache / denied 401 | %d (the last %v after the logout) / %d |\n",
		r.GrantsAfterLogout, r.LatestAfterLogout.Round(time.Millisecond), r.LogoutsDenied)
	fmt.Fprintf(w, "| whoami calls (by Kratos's status; 0: no answer) | %d: %s |\n", r.Whoami, statusList(r.WhoamiByStatus))
	fmt.Fprintf(w, "| cache lookups hit / missed | %d / %d |\n", r.CacheHits, r.CacheMisses)
	fmt.Fprintf(w, "| Ory errors reported (by answer) | %s |\n", statusList(r.OryErrors))

	fmt.Fprintln(w, "\nResources (between requests: the traffic is held back for each sample, a few ms; after a GC):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| when | t | live heap | heap objects | goroutines | open fds | sockets | conns to Kratos | TIME_WAIT on Kratos's port |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	row := func(name string, s sample) {
		fmt.Fprintf(w, "| %s | %.1fs | %s | %d | %d | %d | %d | %d | %d |\n",
			name, s.At.Seconds(), mib(s.HeapAlloc), s.HeapObjs, s.Goroutines, s.FDs, s.Sockets, s.OryConns, s.TimeWait)
	}
	row("before traffic", r.Before)
	row("**start**", r.Start)
	for _, s := range r.Timeline {
		if s != r.Start && s != r.End {
			row("", s)
		}
	}
	row("**end**", r.End)
	row("after traffic", r.After)

	fmt.Fprintln(w, "\nAnswers by phase and client (status×count):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| client | "+strings.Join(phases, " | ")+" |")
	fmt.Fprintln(w, "|---|"+strings.Repeat("---|", len(phases)))
	for _, kw := range kindWeights {
		fmt.Fprintf(w, "| %s (%d%%) |", kw.kind, kw.weight)
		for _, p := range phases {
			fmt.Fprintf(w, " %s |", statusList(r.Counts[p][kw.kind]))
		}
		fmt.Fprintln(w)
	}
	if len(r.Examples) > 0 {
		fmt.Fprintln(w, "\nFirst problems seen:")
		for _, e := range r.Examples {
			fmt.Fprintln(w, "  -", e)
		}
	}
}

// statusList renders {200: 5, 401: 2} as "200×5 401×2".
func statusList(m map[int]int64) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " ")
}
