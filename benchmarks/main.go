package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// Targets (issues 8 and 12).
const (
	targetCachedOverBare  = 0.95 // cached ≥ 0.95 × bare, by req/s and by CPU per request
	targetCachedOverNoCac = 20   // cached ≥ 20 × no-cache
	connsPerWorker        = 3    // new connections to Ory < 3 × concurrency
)

// appURL is the verifiers' AppURL (used only to build return_to on a denial); setting it
// keeps the core from logging at setup that it is unset.
const appURL = "http://127.0.0.1"

// quietLogger receives the verifiers' errors talking to Ory: warnings and errors only, on
// stderr, so a failing cell says why without the core's setup notices.
var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// options are the command's flags.
type options struct {
	duration, warmup time.Duration
	rounds           int
	concurrency      int
	adapters         []string
	credential       string // credCookie or credToken
	cold             int    // concurrent first requests of one session (0 skips)
	unknown          int    // requests with unknown tokens (0 skips)
	memEntries       int    // sessions for the memory and hit-cost figures (0 skips)
	memProfile       string // heap profile of the filled cache, written here when set
	inprocess        int    // rounds of the in-process benchmarks (0 skips)
	benchtime        string // -test.benchtime of the in-process benchmarks
	anchors          bool
	loopback         bool // the adapters' loopback table (Kratos needed for everything above but memory and in-process)
}

func defaultOptions() options {
	return options{
		duration: 2 * time.Second, warmup: 500 * time.Millisecond, rounds: 3, concurrency: 32,
		adapters: allAdapters, credential: credCookie, cold: 200, unknown: 20_000,
		memEntries: 100_000, benchtime: "1s", loopback: true,
	}
}

func main() {
	o := defaultOptions()
	adapters := flag.String("adapters", strings.Join(allAdapters, ","), "comma-separated adapters to measure")
	flag.DurationVar(&o.duration, "duration", o.duration, "measured duration of each loopback cell")
	flag.DurationVar(&o.warmup, "warmup", o.warmup, "unrecorded warm-up before each cell (100ms after the first round)")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds per cell; tables show medians over rounds (cells are interleaved to spread background load)")
	flag.IntVar(&o.concurrency, "concurrency", o.concurrency, "concurrent load workers (one keep-alive connection and one session each)")
	flag.StringVar(&o.credential, "credential", o.credential, "what the load presents: cookie (a browser's real ory_kratos_session among five app cookies) or token (an ory_st_ session token)")
	flag.IntVar(&o.cold, "cold", o.cold, "concurrent first requests of one session for the whoami-count test (0 skips)")
	flag.IntVar(&o.unknown, "unknown", o.unknown, "requests with unknown session tokens (every one asks Ory) for the new-connections cell (0 skips; issue 8 uses 200000)")
	flag.IntVar(&o.memEntries, "mem-entries", o.memEntries, "cached sessions for the memory, hit-cost and GC figures (0 skips)")
	flag.StringVar(&o.memProfile, "mem-profile", "", "write a heap profile of the filled cache to this file")
	flag.IntVar(&o.inprocess, "inprocess", o.inprocess, "rounds of every adapter's in-process benchmarks (go test -bench in each module, interleaved; 0 skips)")
	flag.StringVar(&o.benchtime, "benchtime", o.benchtime, "-test.benchtime of each in-process benchmark")
	flag.BoolVar(&o.loopback, "loopback", o.loopback, "run the loopback load against Kratos (false: only the memory and in-process parts)")
	flag.BoolVar(&o.anchors, "anchors", false, anchorsUsage) // anchors.go
	flag.Parse()
	o.adapters = splitList(*adapters)
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for a := range strings.SplitSeq(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (o options) check() error {
	if o.duration <= 0 || o.duration > 10*time.Minute || o.warmup < 0 || o.warmup > time.Minute {
		return fmt.Errorf("-duration must be in (0, 10m] and -warmup in [0, 1m]")
	}
	if o.rounds < 1 || o.rounds > 100 || o.inprocess < 0 || o.inprocess > 100 {
		return fmt.Errorf("-rounds must be in [1, 100] and -inprocess in [0, 100]")
	}
	if o.concurrency < 1 || o.concurrency > 4096 || o.cold < 0 || o.cold > 10_000 {
		return fmt.Errorf("-concurrency must be in [1, 4096] and -cold in [0, 10000]")
	}
	if o.unknown < 0 || o.unknown > 10_000_000 || o.memEntries < 0 || o.memEntries > 2_000_000 {
		return fmt.Errorf("-unknown must be in [0, 1e7] and -mem-entries in [0, 2e6]")
	}
	if _, err := time.ParseDuration(o.benchtime); err != nil && !strings.HasSuffix(o.benchtime, "x") {
		return fmt.Errorf("-benchtime %q is neither a duration nor a count like 100000x", o.benchtime)
	}
	for _, a := range o.adapters {
		if !slices.Contains(allAdapters, a) {
			return fmt.Errorf("unknown adapter %q (known: %s)", a, strings.Join(allAdapters, ", "))
		}
	}
	if len(o.adapters) == 0 {
		return fmt.Errorf("-adapters is empty")
	}
	return checkKind(o.credential)
}

func run(ctx context.Context, o options, out io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	fmt.Fprintf(out, "orymfa benchmarks: %d CPUs (GOMAXPROCS %d), %s, %s, load average %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), cpuModel(), loadAvg())
	var sessionBody []byte // a real Kratos aal2 session document, for the memory figures
	if o.loopback {
		body, err := runLoopback(ctx, o, out)
		if err != nil {
			return err
		}
		sessionBody = body
	}
	if o.memEntries > 0 {
		if sessionBody == nil {
			sessionBody = []byte(recordedKratosSession)
			fmt.Fprintf(out, "\n(no Kratos started: the memory figures use the Kratos v1.3.1 session document recorded in memory.go)\n")
		}
		if err := runMemory(ctx, out, sessionBody, o.memEntries, o.memProfile); err != nil {
			return err
		}
	}
	if o.inprocess > 0 {
		if err := runInProcess(ctx, out, o.adapters, o.inprocess, o.benchtime); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nload average at the end: %s\n", loadAvg())
	return nil
}

// cell is one (adapter, case) measured over several rounds.
type cell struct {
	adapter, name string
	rounds        []result
	whoami        int64 // whoami calls Kratos served during this cell's loads (warm-ups included)
	conns         *connCounter
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

// newVerifier builds a verifier as users do (core.Config with the Ory URL, the core's own
// transport) that reaches Kratos through a connection-counting forwarder.
func newVerifier(kratosURL string, cache core.CacheConfig) (*core.Verifier, *connCounter, error) {
	u, err := url.Parse(kratosURL)
	if err != nil {
		return nil, nil, err
	}
	cc, err := newConnCounter(u.Host)
	if err != nil {
		return nil, nil, err
	}
	v, err := core.New(core.Config{SDKURL: cc.URL, AppURL: appURL, Logger: quietLogger, Cache: cache})
	if err != nil {
		cc.Close()
		return nil, nil, err
	}
	return v, cc, nil
}

// runLoopback starts Kratos and measures the adapters over loopback HTTP; it returns the
// whoami body of one of the load's sessions.
func runLoopback(ctx context.Context, o options, out io.Writer) ([]byte, error) {
	conc := o.concurrency
	setupCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	fmt.Fprintf(out, "starting Kratos (TOTP project)...\n")
	p, err := kratostest.Start(setupCtx, kratostest.TOTP)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	// One aal2 session per worker: the middleware coalesces concurrent whoami calls for the
	// same credential even with the cache off, so with a single shared session the no-cache
	// cell would not ask Ory on every request (Ory's snippet does). Kratos hashes each
	// password, so registering users one by one takes a few seconds.
	creds, sessionBody, err := newSessions(setupCtx, p, o.credential, conc)
	if err != nil {
		return nil, err
	}
	credSize := len(creds[0].value)
	if o.credential == credCookie {
		credSize = len(browserCookies(kratostest.SessionCookieName, creds[0].value))
	}
	fmt.Fprintf(out, "Kratos %s; %d aal2 sessions as %ss (%d-byte %s, %d-byte header); whoami body %d B; %d workers, %v warm-up + %v per cell, %d rounds\n\n",
		p.PublicURL, len(creds), o.credential, len(creds[0].value), map[string]string{credCookie: "ory_kratos_session value", credToken: "token"}[o.credential],
		credSize, len(sessionBody), conc, o.warmup, o.duration, o.rounds)

	// The apps live for the whole run; each round measures every cell once, adapters in turn
	// and the three cases of an adapter back to back, so background load hits them alike.
	type target struct {
		cell   *cell
		app    *app
		client *http.Client // kept across rounds, so its connections stay open
	}
	var targets []target
	var cells []*cell
	for _, adapter := range o.adapters {
		for _, name := range []string{"bare", "cached", "no-cache"} {
			c := &cell{adapter: adapter, name: name}
			var v *core.Verifier
			if name != "bare" {
				if v, c.conns, err = newVerifier(p.PublicURL, core.CacheConfig{Disabled: name == "no-cache"}); err != nil {
					return nil, err
				}
				defer c.conns.Close()
			}
			a, err := startApp(adapter, v)
			if err != nil {
				return nil, err
			}
			defer a.close()
			cells = append(cells, c)
			client := newClient(conc)
			defer client.CloseIdleConnections()
			targets = append(targets, target{c, a, client})
		}
	}
	_, counted := kratosWhoamiCalls(ctx, p.AdminURL)
	for round := 1; round <= o.rounds; round++ {
		fmt.Fprintf(out, "round %d/%d (load average %s)\n", round, o.rounds, loadAvg())
		for _, t := range targets {
			warm := o.warmup
			if round > 1 {
				warm = min(o.warmup, 100*time.Millisecond) // connections are warm already
			}
			before, ok1 := kratosWhoamiCalls(ctx, p.AdminURL)
			res, err := load(ctx, t.client, t.app.URL+"/r", creds, conc, warm, o.duration)
			if err != nil {
				return nil, err
			}
			after, ok2 := kratosWhoamiCalls(ctx, p.AdminURL)
			counted = counted && ok1 && ok2
			t.cell.whoami += after - before
			t.cell.rounds = append(t.cell.rounds, res)
			fmt.Fprintf(out, "  %-8s %-9s %9.0f req/s  p50 %-9v p99 %-9v CPU/req %-8v errors %d %s\n", t.cell.adapter, t.cell.name, res.RPS(), res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.CPUPerRequest().Round(100*time.Nanosecond), res.Errors, res.FirstErr)
		}
	}

	var unknown *cell
	if o.unknown > 0 {
		if unknown, err = runUnknown(ctx, p, o.unknown, conc, out); err != nil {
			return nil, err
		}
		defer unknown.conns.Close()
	}

	colds := map[string]coldResult{}
	if o.cold > 0 {
		for _, adapter := range o.adapters {
			cr, err := coldStart(ctx, p, adapter, creds[0], o.cold)
			if err != nil {
				return nil, fmt.Errorf("%s cold start: %w", adapter, err)
			}
			colds[adapter] = cr
			fmt.Fprintf(out, "  %-8s %d concurrent first requests: %d answered 200, whoami calls %d (proxy saw %d), %v\n", adapter, cr.N, cr.OK, cr.Calls, cr.ProxyCalls, cr.Elapsed.Round(time.Millisecond))
		}
	}

	printLoopback(out, o, cells, unknown, colds, counted)

	// -anchors (anchors.go): Oathkeeper, Heimdall and Ory's snippet, against the same Kratos.
	if o.anchors {
		if err := runAnchors(ctx, p, creds, o.rounds, conc, o.warmup, o.duration, out); err != nil {
			return nil, err
		}
	}
	return sessionBody, nil
}

// runUnknown measures the unknown-tokens cell: n requests, each with a token no session has,
// through the nethttp adapter with the default cache, so every one misses the cache and asks
// Ory.
func runUnknown(ctx context.Context, p *kratostest.Project, n, conc int, out io.Writer) (*cell, error) {
	c := &cell{adapter: "nethttp", name: fmt.Sprintf("unknown tokens (%d)", n)}
	v, cc, err := newVerifier(p.PublicURL, core.CacheConfig{})
	if err != nil {
		return nil, err
	}
	c.conns = cc
	a, err := startApp("nethttp", v)
	if err != nil {
		cc.Close()
		return nil, err
	}
	defer a.close()
	client := newClient(conc)
	defer client.CloseIdleConnections()
	fmt.Fprintf(out, "unknown tokens: %d requests from %d workers, each with a new unknown ory_st_ token (load average %s)...\n", n, conc, loadAvg())
	before, ok1 := kratosWhoamiCalls(ctx, p.AdminURL)
	res, err := loadUnknown(ctx, client, a.URL+"/r", n, conc)
	if err != nil {
		cc.Close()
		return nil, err
	}
	after, ok2 := kratosWhoamiCalls(ctx, p.AdminURL)
	if ok1 && ok2 {
		c.whoami = after - before
	} else {
		c.whoami = -1
	}
	c.rounds = append(c.rounds, res)
	fmt.Fprintf(out, "  %-8s %-9s %9.0f req/s  p50 %-9v p99 %-9v CPU/req %-8v answered 401: %d, errors %d %s; new connections to Ory %d (peak open %d), in %v\n", c.adapter, "unknown", res.RPS(), res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.CPUPerRequest().Round(100*time.Nanosecond), res.Total-res.Errors, res.Errors, res.FirstErr, cc.Accepted(), cc.Peak(), res.Elapsed.Round(time.Millisecond))
	return c, nil
}

// printLoopback prints the loopback tables.
func printLoopback(out io.Writer, o options, cells []*cell, unknown *cell, colds map[string]coldResult, counted bool) {
	conc := o.concurrency
	maxConns := int64(connsPerWorker * conc)
	fmt.Fprintf(out, "\nloopback, %s credentials: median of %d rounds (%v each, %d workers, one session each); CPU µs / request is this process (load generator + app, Kratos excluded) over all rounds; "+
		"whoami calls counted by Kratos over all requests of all rounds, warm-ups included; new connections: TCP connections the verifier opened to Ory over the whole run\n\n", o.credential, o.rounds, o.duration, conc)
	fmt.Fprintf(out, "| adapter | case | req/s | p50 | p99 | req/s of each round | CPU µs / request | errors | whoami calls / request | new connections to Ory (peak open) |\n|---|---|---:|---:|---:|---|---:|---:|---:|---:|\n")
	rows := cells
	if unknown != nil {
		rows = append(slices.Clone(cells), unknown)
	}
	for _, c := range rows {
		m := c.median()
		var each []string
		for _, r := range c.rounds {
			each = append(each, fmt.Sprintf("%.0f", r.RPS()))
		}
		n, errs := c.requests()
		perReq, conns := "-", "-"
		if c.conns != nil {
			if counted && c.whoami >= 0 {
				perReq = fmt.Sprintf("%.5f (%d)", float64(c.whoami)/float64(n), c.whoami)
			}
			conns = fmt.Sprintf("%d (%d) %s", c.conns.Accepted(), c.conns.Peak(), mark(c.conns.Accepted() < maxConns))
		}
		fmt.Fprintf(out, "| %s | %s | %.0f | %v | %v | %s | %.1f | %d | %s | %s |\n", c.adapter, c.name, m.RPS(), m.P50.Round(time.Microsecond), m.P99.Round(time.Microsecond), strings.Join(each, ", "), float64(c.cpuPerRequest())/1e3, errs, perReq, conns)
	}
	if !counted {
		fmt.Fprintf(out, "\n(whoami calls not counted: Kratos's metrics endpoint did not answer)\n")
	}

	fmt.Fprintf(out, "\n| adapter | cached ÷ bare req/s (≥ %.2f), median of per-round ratios | bare ÷ cached CPU per request (≥ %.2f), median of per-round ratios | cached ÷ no-cache req/s (≥ %d) | new connections to Ory, cached + no-cache (< %d each) | whoami calls for %d concurrent first requests (1) |\n|---|---:|---:|---:|---:|---:|\n",
		targetCachedOverBare, targetCachedOverBare, targetCachedOverNoCac, maxConns, o.cold)
	allMet := true
	for _, adapter := range o.adapters {
		byName := map[string]*cell{}
		for _, c := range cells {
			if c.adapter == adapter {
				byName[c.name] = c
			}
		}
		bare, cached, noCache := byName["bare"], byName["cached"], byName["no-cache"]
		ab := medianRatio(cached, bare)
		cpu := medianCPURatio(bare, cached)
		bc := medianRatio(cached, noCache)
		conns := fmt.Sprintf("%d + %d %s", cached.conns.Accepted(), noCache.conns.Accepted(), mark(cached.conns.Accepted() < maxConns && noCache.conns.Accepted() < maxConns))
		coldCol := "skipped"
		if cr, ok := colds[adapter]; ok {
			coldCol = fmt.Sprintf("%d (%d/%d answered 200) %s", cr.Calls, cr.OK, cr.N, mark(cr.Calls == 1 && cr.ProxyCalls == 1 && cr.OK == cr.N))
			allMet = allMet && cr.Calls == 1 && cr.OK == cr.N
		}
		fmt.Fprintf(out, "| %s | %.3f %s | %.3f %s | %.1f %s | %s | %s |\n", adapter, ab, mark(ab >= targetCachedOverBare), cpu, mark(cpu >= targetCachedOverBare), bc, mark(bc >= targetCachedOverNoCac), conns, coldCol)
		allMet = allMet && ab >= targetCachedOverBare && cpu >= targetCachedOverBare && bc >= targetCachedOverNoCac &&
			cached.conns.Accepted() < maxConns && noCache.conns.Accepted() < maxConns
	}
	if unknown != nil {
		ok := unknown.conns.Accepted() < maxConns && unknown.rounds[0].Errors == 0
		fmt.Fprintf(out, "\nunknown tokens: %d requests at concurrency %d, every one a cache miss answered 401 after asking Ory: %d new connections to Ory (peak %d open) %s (target < %d)\n",
			unknown.rounds[0].Total, conc, unknown.conns.Accepted(), unknown.conns.Peak(), mark(ok), maxConns)
		allMet = allMet && ok
	}
	fmt.Fprintf(out, "\nall loopback targets met: %v\n", allMet)
}

// medianRatio is the median over rounds of num's throughput over den's in the same round.
func medianRatio(num, den *cell) float64 {
	var rs []float64
	for i := range num.rounds {
		rs = append(rs, num.rounds[i].RPS()/den.rounds[i].RPS())
	}
	return median(rs)
}

// medianCPURatio is the median over rounds of num's CPU per request over den's in the same
// round (bare ÷ cached: the throughput ratio a CPU-bound machine would show).
func medianCPURatio(num, den *cell) float64 {
	var rs []float64
	for i := range num.rounds {
		rs = append(rs, float64(num.rounds[i].CPUPerRequest())/float64(den.rounds[i].CPUPerRequest()))
	}
	return median(rs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
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

// loadAvg is the 1, 5 and 15 minute load averages (Linux), or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
