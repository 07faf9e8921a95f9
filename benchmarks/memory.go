package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
	orymnethttp "github.com/orymfa/orymfa/nethttp"
)

// Targets of issue 12 at 100,000 cached sessions.
const (
	targetHitNs         = 1000 // a cache hit at most 1 µs
	targetBytesPerEntry = 1536 // at most 1.5 KB per cached session
)

// How long the memory figures time things (the tests shorten them).
var (
	opRound    = 300 * time.Millisecond // one of the 5 timed rounds of a hit-cost figure
	gcLoadTime = 3 * time.Second        // serving hits while the GC is watched
)

// runMemory prints the figures for k cached sessions shaped like body (a real Kratos aal2
// session document): bytes and heap objects per cached session, what a GC cycle costs with
// them, the cost of a hit among k sessions against a hit on one hot session (core alone and
// through the nethttp adapter), what the GC costs while serving hits, and where a session's
// bytes go. Cookie and token caches are filled and measured one after the other.
//
// Timings are CPU time of the measuring thread (CLOCK_THREAD_CPUTIME_ID on a locked
// thread), not wall time, so that other work on the machine does not inflate them; each is
// the median of 5 rounds.
func runMemory(ctx context.Context, out io.Writer, body []byte, k int, profile string) error {
	tmpl, err := newSessionTemplate(body)
	if err != nil {
		return err
	}
	fake := newFakeKratos(tmpl)
	defer fake.Close()
	cookieLen := kratosCookieLen
	fmt.Fprintf(out, "\n%d cached sessions: Kratos v1.3.1 aal2 session documents (%d B of JSON each, ids and email unique per session), "+
		"filled through a fake whoami on loopback into a cache with MaxEntries %d; credentials: %d-byte ory_kratos_session among five app cookies (%d-byte Cookie header), or 39-byte ory_st_ tokens (load average %s)\n",
		k, len(tmpl.body(0)), cacheRoom(k), cookieLen, len(browserCookies(kratostest.SessionCookieName, sessionCookie(0, cookieLen))), loadAvg())

	// Warm the code paths (json type caches, client connections) with a throwaway verifier.
	warm, err := fillVerifier(ctx, fake.URL, credCookie, 64, cookieLen)
	if err != nil {
		return err
	}
	runtime.KeepAlive(warm) // and dropped before the baseline

	type row struct {
		kind            string
		heap            heapDelta
		gcEmpty, gcFull time.Duration
		hit             hitCosts
		gcLoad          gcLoad
	}
	var (
		rows  []row
		where bytes.Buffer // where the cookie cache's bytes go, printed last
	)
	for _, kind := range []string{credCookie, credToken} {
		r := row{kind: kind}
		before := readHeap()
		r.gcEmpty = forcedGC(3)
		v, err := fillVerifier(ctx, fake.URL, kind, k, cookieLen)
		if err != nil {
			return err
		}
		r.heap = readHeap().minus(before)
		if got := v.CachedSessions(); got != k {
			return fmt.Errorf("%s cache holds %d sessions, want %d", kind, got, k)
		}
		r.gcFull = forcedGC(3)
		if profile != "" && kind == credCookie {
			if err := writeHeapProfile(profile); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "  %s: %d sessions cached, %.0f B and %.1f heap objects each; a full GC cycle: %v of CPU (%v with the cache empty)\n",
			kind, k, r.heap.perEntry(k), r.heap.objectsPerEntry(k), r.gcFull.Round(100*time.Microsecond), r.gcEmpty.Round(100*time.Microsecond))

		calls := fake.calls.Load()
		r.hit = measureHits(ctx, v, kind, k, cookieLen)
		if got := fake.calls.Load() - calls; got != 0 {
			return fmt.Errorf("%s: %d whoami calls while measuring hits: some hits missed the cache", kind, got)
		}
		// GC while serving hits: each request's credential header is built anew, as net/http
		// allocates a request's header values.
		guarded := orymnethttp.RequireAAL2(orymnethttp.WithVerifier(v))(okHandler)
		req := hitRequest(kind)
		w := &discardWriter{h: http.Header{}}
		r.gcLoad = measureGCLoad(gcLoadTime, r.gcFull, func(int) {
			setCredential(req, kind, credentialHeader(kind, rand.IntN(k), cookieLen))
			guarded.ServeHTTP(w, req)
		})
		fmt.Fprintf(out, "  %s: %s; serving hits: %s\n", kind, r.hit, r.gcLoad)
		rows = append(rows, r)
		if kind == credCookie {
			// Keep the cached sessions themselves and drop the cache (v is not used after
			// this): what is left is what the sessions cost, the rest was the cache's entry.
			if err := collectSessions(ctx, v, kind, k, cookieLen); err != nil {
				return err
			}
			v = nil //nolint:ineffassign // dropped here, before the heap is read
			if err := sessionProfile(&where, tmpl, r.heap.minus(readHeap().minus(before))); err != nil {
				return err
			}
		}
		runtime.KeepAlive(v)
	}
	// The same GC measurement with one cached session: what serving costs without the k.
	v, err := fillVerifier(ctx, fake.URL, credCookie, 1, cookieLen)
	if err != nil {
		return err
	}
	baseGC := forcedGC(3)
	guarded := orymnethttp.RequireAAL2(orymnethttp.WithVerifier(v))(okHandler)
	req := hitRequest(credCookie)
	w := &discardWriter{h: http.Header{}}
	base := measureGCLoad(gcLoadTime, baseGC, func(int) {
		setCredential(req, credCookie, credentialHeader(credCookie, 0, cookieLen))
		guarded.ServeHTTP(w, req)
	})
	runtime.KeepAlive(v)

	fmt.Fprintf(out, "\n| %d sessions | B per cached session (≤ %d) | heap objects per session | hit, core Check (≤ %d ns): among %d / one hot session | hit, nethttp added over bare: among %d / one hot | allocs added per hit (nethttp) | one GC cycle, CPU | serving hits through nethttp: requests per GC cycle, GC workers' CPU per request, share of the process's CPU |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
		k, targetBytesPerEntry, targetHitNs, k, k)
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %.0f %s | %.1f | %.0f ns %s / %.0f ns | %.0f / %.0f ns | %.1f | %v (empty cache: %v) | %s |\n",
			r.kind, r.heap.perEntry(k), mark(r.heap.perEntry(k) <= targetBytesPerEntry), r.heap.objectsPerEntry(k),
			r.hit.core, mark(r.hit.core <= targetHitNs), r.hit.coreHot, r.hit.added, r.hit.addedHot, r.hit.allocs,
			r.gcFull.Round(time.Millisecond), r.gcEmpty.Round(100*time.Microsecond), r.gcLoad)
	}
	fmt.Fprintf(out, "| one cached session (cookie) | - | - | - | - | - | %v | %s |\n", baseGC.Round(100*time.Microsecond), base)
	clock := "CPU time of the measuring thread"
	if !threadCPUMeasured {
		clock = "wall time"
	}
	fmt.Fprintf(out, "\nhits: %s per hit, median of 5 rounds, a random one of the %d sessions each time (one hot session: the same each time), the credential copied into a reused buffer first "+
		"as a server reads it off the socket (that copy is subtracted), the GC off while timing; GC: a cycle is runtime.GC() (full mark and sweep), the process's CPU (getrusage), median of 3; "+
		"\"serving hits\" runs hits through the nethttp adapter for %v of CPU on one locked thread at GOGC=%s, each request's Cookie or token header allocated anew; "+
		"the GC workers' CPU is the process's CPU minus that thread's (mark assists stay in the thread and are not counted)\n", clock, k, gcLoadTime, gogc())

	_, err = where.WriteTo(out)
	return err
}

// collectSessions puts into profiled the sessions v's cache holds for the k credentials of
// kind, as handlers get them.
func collectSessions(ctx context.Context, v *core.Verifier, kind string, k, cookieLen int) error {
	g, err := core.NewGuard(core.RequireAAL2, core.WithVerifier(v))
	if err != nil {
		return err
	}
	profiled = make([]*ory.Session, k)
	for i := range profiled {
		req := core.Request{}
		if kind == credCookie {
			req.Cookie = credentialHeader(kind, i, cookieLen)
		} else {
			req.SessionToken = credentialHeader(kind, i, cookieLen)
		}
		d := g.Check(ctx, &req)
		if !d.Allowed() || d.Session == nil {
			profiled = nil
			return fmt.Errorf("cached session %d: status %d", i, d.Status)
		}
		profiled[i] = d.Session
	}
	return nil
}

// hitCosts is what a cache hit costs, in ns: in the core's Check and added by the nethttp
// adapter over a bare handler, for a random session of all k and for one hot session.
type hitCosts struct {
	core, coreHot, added, addedHot, allocs float64
}

func (h hitCosts) String() string {
	return fmt.Sprintf("hit %.0f ns in core (one hot session: %.0f ns), %.0f ns added over bare through nethttp (hot: %.0f ns), %.1f allocs",
		h.core, h.coreHot, h.added, h.addedHot, h.allocs)
}

// measureHits times cache hits on v's k cached sessions of kind. The credentials are built
// once; before each request the one used is copied into a reused buffer, as a server reads a
// request off the socket, so that reading it from memory that is not in the CPU's caches does
// not count against the middleware (the copy is timed alone and subtracted).
func measureHits(ctx context.Context, v *core.Verifier, kind string, k, cookieLen int) hitCosts {
	creds := make([]string, k)
	longest := 0
	for i := range creds {
		creds[i] = credentialHeader(kind, i, cookieLen)
		longest = max(longest, len(creds[i]))
	}
	perm := rand.Perm(k)
	buf := make([]byte, longest)
	// read copies session i's credential into buf and returns it as a string over buf: the
	// middleware keeps nothing of it on a hit, and buf is only written again afterwards.
	read := func(i int) string {
		n := copy(buf, creds[i])
		return unsafe.String(&buf[0], n)
	}
	random := func(i int) int { return perm[i%k] }
	hot := func(int) int { return perm[0] }

	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
	check := func(cred string) {
		req := core.Request{}
		if kind == credCookie {
			req.Cookie = cred
		} else {
			req.SessionToken = cred
		}
		if d := g.Check(ctx, &req); !d.Allowed() {
			panic(fmt.Sprintf("cached session denied: %d %s", d.Status, d.Body))
		}
	}
	guarded := orymnethttp.RequireAAL2(orymnethttp.WithVerifier(v))(okHandler)
	req := hitRequest(kind)
	w := &discardWriter{h: http.Header{}}
	serve := func(h http.Handler, cred string) {
		setCredential(req, kind, cred)
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != http.StatusOK {
			panic(fmt.Sprintf("status %d", w.code))
		}
	}
	// The GC is off while hits are timed (its cost is measured on its own), and run between
	// two timings to drop their garbage.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	measure := func(op func(int)) opCost {
		c := measureOps(op)
		runtime.GC()
		return c
	}
	var h hitCosts
	for _, pick := range []func(int) int{random, hot} {
		copyOnly := measure(func(i int) { read(pick(i)) })
		core := measure(func(i int) { check(read(pick(i))) })
		bare := measure(func(i int) { serve(okHandler, read(pick(i))) })
		guard := measure(func(i int) { serve(guarded, read(pick(i))) })
		if h.core == 0 {
			h.core, h.added, h.allocs = core.ns-copyOnly.ns, guard.ns-bare.ns, guard.allocs-bare.allocs
		} else {
			h.coreHot, h.addedHot = core.ns-copyOnly.ns, guard.ns-bare.ns
		}
	}
	return h
}

// credentialHeader is session i's Cookie header (cookie) or token (token).
func credentialHeader(kind string, i, cookieLen int) string {
	if kind == credCookie {
		return browserCookies(kratostest.SessionCookieName, sessionCookie(i, cookieLen))
	}
	return sessionToken(i)
}

// cacheRoom is the MaxEntries that holds n sessions without evicting any: the sharded LRU
// splits its capacity evenly over its shards (16 per CPU) but the sessions fall unevenly into
// them, so with MaxEntries = n a few shards would evict before n are cached. cacheRoom
// leaves five standard deviations per shard. The LRU's table has 1.25 × MaxEntries slots
// rounded up to a power of two (about 60 B each): for 100,000 sessions 262,144 slots, where
// MaxEntries = 100,000 would have 131,072 (and evicted about 1 % of them).
func cacheRoom(n int) int {
	shards := float64(16 * runtime.GOMAXPROCS(0))
	return n + int(5*math.Sqrt(shards*float64(n))) + 64
}

// fillVerifier returns a verifier for the fake at url with n sessions of kind cached, asked
// for by 8 workers through a guard, with room for them (cacheRoom) and a TTL that outlasts
// the measurement.
func fillVerifier(ctx context.Context, url, kind string, n, cookieLen int) (*core.Verifier, error) {
	v, err := core.New(core.Config{SDKURL: url, AppURL: appURL, Logger: quietLogger, Timeout: time.Minute,
		Cache: core.CacheConfig{TTL: time.Hour, MaxEntries: cacheRoom(n)}})
	if err != nil {
		return nil, err
	}
	g, err := core.NewGuard(core.RequireAAL2, core.WithVerifier(v))
	if err != nil {
		return nil, err
	}
	const workers = 8
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				req := core.Request{Method: http.MethodGet, URI: "/r", Host: "app.test"}
				if kind == credCookie {
					req.Cookie = credentialHeader(kind, i, cookieLen)
				} else {
					req.SessionToken = credentialHeader(kind, i, cookieLen)
				}
				if d := g.Check(ctx, &req); !d.Allowed() {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("filling the cache: session %d not allowed (status %d: %s)", i, d.Status, d.Body)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return v, firstErr
}

// hitRequest is a GET /r with the headers of kind (the credential is set per request).
func hitRequest(kind string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	credential{kind: kind, value: "x"}.set(req.Header)
	return req
}

// setCredential replaces req's credential header value in place (no allocation).
func setCredential(req *http.Request, kind, cred string) {
	if kind == credCookie {
		req.Header["Cookie"][0] = cred
	} else {
		req.Header["X-Session-Token"][0] = cred
	}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) })

// discardWriter is a ResponseWriter that keeps nothing, as in the adapters' benchmarks.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// opCost is the cost of one operation: the median of 5 timed rounds.
type opCost struct {
	ns, allocs float64
}

// measureOps runs op(i) for i = 0, 1, 2, … in 5 rounds of opRound of this thread's CPU time
// (the goroutine locked to it) and returns the median round's time per op and the
// allocations per op.
func measureOps(op func(i int)) opCost {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rounds = 5
	var costs []opCost
	i := 0
	for range rounds {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := threadCPU()
		n := 0
		for threadCPU()-start < opRound {
			for range 1000 {
				op(i)
				i++
			}
			n += 1000
		}
		elapsed := threadCPU() - start
		runtime.ReadMemStats(&m1)
		costs = append(costs, opCost{ns: float64(elapsed.Nanoseconds()) / float64(n), allocs: float64(m1.Mallocs-m0.Mallocs) / float64(n)})
	}
	slices.SortFunc(costs, func(a, b opCost) int { return cmp.Compare(a.ns, b.ns) })
	return costs[rounds/2]
}

// heapDelta is the change of the live heap (after GC).
type heapDelta struct{ bytes, objects int64 }

func readHeap() heapDelta {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heapDelta{int64(m.HeapAlloc), int64(m.HeapObjects)}
}

func (h heapDelta) minus(o heapDelta) heapDelta {
	return heapDelta{h.bytes - o.bytes, h.objects - o.objects}
}

func (h heapDelta) perEntry(n int) float64        { return float64(h.bytes) / float64(n) }
func (h heapDelta) objectsPerEntry(n int) float64 { return float64(h.objects) / float64(n) }

// gcMetrics are the runtime/metrics the GC figures read (counts only: the runtime's
// /cpu/classes estimates are wall time × GOMAXPROCS, which a busy machine inflates).
var gcMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/allocs:bytes",
}

type gcSample struct{ cycles, allocs uint64 }

func readGC() gcSample {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, name := range gcMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	var out gcSample
	if v := s[0].Value; v.Kind() == metrics.KindUint64 {
		out.cycles = v.Uint64()
	}
	if v := s[1].Value; v.Kind() == metrics.KindUint64 {
		out.allocs = v.Uint64()
	}
	return out
}

// forcedGC runs n forced GC cycles (runtime.GC: a full mark and sweep) and returns the
// median of the process's CPU time each took; nothing else runs meanwhile.
func forcedGC(n int) time.Duration {
	runtime.GC()
	var cpus []float64
	for range n {
		c := cpuTime()
		runtime.GC()
		cpus = append(cpus, float64(cpuTime()-c))
	}
	return time.Duration(median(cpus))
}

// gcLoad is what the GC cost while serving requests.
type gcLoad struct {
	requests        int
	cycles          uint64
	process, thread time.Duration // CPU of the process, and of the serving thread
	allocated       uint64
	cycleCPU        time.Duration // one forced cycle's CPU, for comparison
}

func (g gcLoad) String() string {
	if g.requests == 0 {
		return "-"
	}
	perCycle := "no cycle"
	if g.cycles > 0 {
		perCycle = fmt.Sprintf("%.0f requests per GC cycle", float64(g.requests)/float64(g.cycles))
	}
	workers := max(0, g.process-g.thread)
	return fmt.Sprintf("%s, GC workers %.0f ns per request (%.1f %% of the process's CPU; estimate from a forced cycle's CPU × cycles: %.0f ns), %.0f B allocated per request",
		perCycle, float64(workers.Nanoseconds())/float64(g.requests), 100*float64(workers)/float64(g.process),
		float64(g.cycleCPU.Nanoseconds())*float64(g.cycles)/float64(g.requests), float64(g.allocated)/float64(g.requests))
}

// measureGCLoad runs op on a locked thread until the thread has used d of CPU, and reads how
// many GC cycles ran, what was allocated and how much CPU the process used besides the
// thread (the GC's background workers: nothing else in the process is busy meanwhile).
func measureGCLoad(d, cycleCPU time.Duration, op func(i int)) gcLoad {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	g0, p0, t0 := readGC(), cpuTime(), threadCPU()
	n := 0
	for threadCPU()-t0 < d {
		for range 1000 {
			op(n)
			n++
		}
	}
	t1, p1, g1 := threadCPU(), cpuTime(), readGC()
	return gcLoad{requests: n, cycles: g1.cycles - g0.cycles, process: p1 - p0, thread: t1 - t0, allocated: g1.allocs - g0.allocs, cycleCPU: cycleCPU}
}

func gogc() string {
	if v := os.Getenv("GOGC"); v != "" {
		return v
	}
	return "100"
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profiled holds the sessions sessionProfile takes apart: a package variable, so that nothing
// but it keeps them alive (a local or an argument may be kept or dropped by the compiler's
// liveness analysis).
var profiled []*ory.Session

// sessionProfile takes the cached sessions (in profiled) apart piece by piece, reading the
// live heap after each step: what each part of a cached *ory.Session costs, after the
// cache's own entry (measured by the caller). For comparison it also decodes as many
// documents as client-go hands them to the core, before the core compacts them.
func sessionProfile(out io.Writer, tmpl *sessionTemplate, entry heapDelta) error {
	n := len(profiled)
	if n == 0 {
		return nil
	}
	owned := readHeap() // the sessions alone; their parts are freed step by step
	strs, strBytes, times, maps := countParts(reflect.ValueOf(profiled[0]))

	type step struct {
		what string
		drop func(s *ory.Session)
	}
	steps := []step{
		{"AdditionalProperties maps (session, identity, each method and device)", func(s *ory.Session) { clearFields(reflect.ValueOf(s), "AdditionalProperties") }},
		{"identity.traits (map[string]any) and metadata", func(s *ory.Session) {
			if s.Identity != nil {
				s.Identity.Traits, s.Identity.MetadataPublic, s.Identity.MetadataAdmin = nil, nil, nil
			}
		}},
		{"devices (id, ip_address, user_agent, location)", func(s *ory.Session) { s.Devices = nil }},
		{"authentication_methods (method, aal, completed_at per factor)", func(s *ory.Session) { s.AuthenticationMethods = nil }},
		{"the rest of identity (id, schema_id, schema_url, state, timestamps)", func(s *ory.Session) { s.Identity = nil }},
		{"the Session struct with its id, aal and times", nil},
	}
	fmt.Fprintf(out, "\nwhere a cached session's bytes go: the %d sessions of the cookie cache as handlers get them, the cache dropped, then each part removed in turn, live heap after GC each time "+
		"(one session reaches %d strings of %d B, %d *time.Time, %d maps)\n\n", n, strs, strBytes, times, maps)
	fmt.Fprintf(out, "| part | B per session | heap objects per session |\n|---|---:|---:|\n")
	fmt.Fprintf(out, "| the cache's own entry: grant, LRU slot (table sized for MaxEntries), key | %.0f | %.1f |\n", entry.perEntry(n), entry.objectsPerEntry(n))
	prev := owned
	total := entry
	for _, st := range steps {
		if st.drop == nil {
			profiled = nil
		} else {
			for _, s := range profiled {
				st.drop(s)
			}
		}
		now := readHeap()
		d := prev.minus(now)
		total = heapDelta{total.bytes + d.bytes, total.objects + d.objects}
		fmt.Fprintf(out, "| %s | %.0f | %.1f |\n", st.what, noNegZero(d.perEntry(n)), noNegZero(d.objectsPerEntry(n)))
		prev = now
	}
	fmt.Fprintf(out, "| **cached session, total** | **%.0f** | **%.1f** |\n", total.perEntry(n), total.objectsPerEntry(n))

	// The same documents as client-go decodes them (before the core's compaction).
	m := min(n, 20_000)
	before := readHeap()
	profiled = make([]*ory.Session, m)
	for i := range profiled {
		var s ory.Session
		if err := json.Unmarshal(tmpl.body(i), &s); err != nil {
			return fmt.Errorf("decoding a session document: %w", err)
		}
		profiled[i] = &s
	}
	raw := readHeap().minus(before)
	profiled = nil
	fmt.Fprintf(out, "| for comparison: the document as client-go's UnmarshalJSON returns it (%d decoded) | %.0f | %.1f |\n", m, raw.perEntry(m), raw.objectsPerEntry(m))
	return nil
}

// noNegZero turns a slightly negative measurement (noise around nothing) into 0, so that it
// does not print as -0.
func noNegZero(x float64) float64 {
	if x < 0 && x > -0.5 {
		return 0
	}
	return x
}

// clearFields sets every struct field called name reachable from v to its zero value.
func clearFields(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearFields(v.Elem(), name)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			if v.Type().Field(i).Name == name && f.CanSet() {
				f.Set(reflect.Zero(f.Type()))
				continue
			}
			if f.CanSet() {
				clearFields(f, name)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearFields(v.Index(i), name)
		}
	}
}

// countParts counts the strings (and their bytes), *time.Time pointers and maps reachable
// from v.
func countParts(v reflect.Value) (strs, strBytes, times, maps int) {
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if v.Len() > 0 {
				strs++
				strBytes += v.Len()
			}
		case reflect.Pointer:
			if v.IsNil() {
				return
			}
			if v.Type().Elem() == reflect.TypeFor[time.Time]() {
				times++
				return
			}
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			if v.IsNil() {
				return
			}
			maps++
			it := v.MapRange()
			for it.Next() {
				walk(it.Key())
				walk(it.Value())
			}
		}
	}
	walk(v)
	return
}
