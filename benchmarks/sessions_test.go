package benchmarks

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
)

var sessionCount = flag.Int("sessions", 100_000, "distinct sessions BenchmarkCachedSessions fills one verifier's cache with")

// BenchmarkCachedSessions fills one verifier's cache with -sessions distinct aal2 sessions
// (Kratos's session document, each with its own session, identity and device ids and email,
// answered in memory: no network) through the nethttp guard, by cookie and by token, and
// reports:
//
//   - B/session and objects/session: the live heap the filled cache adds, after a GC,
//     divided by the sessions (the cache's own table and entries included);
//   - sec/op and allocs/op: a cache hit through RequireAAL2 for a random one of the sessions
//     (a handler answering nothing, a ResponseWriter keeping nothing);
//   - gc-cpu-ns/cycle: the process's CPU for one full GC cycle (runtime.GC) with the cache
//     full, median of three: what every cycle of the app pays to mark the cached sessions.
//
// core/compact_test.go's BenchmarkSessionMemory measures one decoded session before and after
// compaction, without the cache.
func BenchmarkCachedSessions(b *testing.B) {
	for _, cred := range []string{"cookie", "token"} {
		f := fillCache(b, cred, *sessionCount)
		gc := gcCPU()
		reqs := make([]*http.Request, 4096)
		for i := range reqs {
			reqs[i] = sessionRequest(cred, rand.IntN(f.n))
		}
		b.Run("cred="+cred, func(b *testing.B) {
			w := &discard{h: http.Header{}}
			calls := f.ory.calls.Load()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.h.ServeHTTP(w, reqs[i%len(reqs)])
				i++
			}
			if w.code != http.StatusNoContent || f.ory.calls.Load() != calls {
				b.Fatalf("a hit answered %d after %d calls to Ory, want 204 and none", w.code, f.ory.calls.Load()-calls)
			}
			b.ReportMetric(f.bytes, "B/session")
			b.ReportMetric(f.objects, "objects/session")
			b.ReportMetric(float64(gc.Nanoseconds()), "gc-cpu-ns/cycle")
		})
	}
}

// filled is a verifier's nethttp guard with n sessions in its cache, and what they cost.
type filled struct {
	h              http.Handler
	ory            *memoryOry
	n              int
	bytes, objects float64 // per session
}

// fillCache builds a verifier whose cache holds n sessions (TTL an hour, so none expires
// while measured) and sends one request per session through its RequireAAL2 guard; the live
// heap is read after a GC before the verifier exists and after the fill. The sharded LRU
// splits MaxEntries evenly over its shards (16 per CPU) but sessions fall into them unevenly,
// so MaxEntries leaves five standard deviations per shard: with MaxEntries = n a few shards
// would evict before n are cached.
func fillCache(tb testing.TB, cred string, n int) filled {
	f := filled{ory: &memoryOry{}, n: n}
	oc := ory.NewConfiguration()
	oc.Servers = ory.ServerConfigurations{{URL: "http://ory.invalid"}}
	oc.HTTPClient = &http.Client{Transport: f.ory}
	before := liveHeap()
	v, err := core.New(core.Config{
		SDKURL: "http://ory.invalid", APIClient: ory.NewAPIClient(oc), AppURL: "http://127.0.0.1",
		Cache:  core.CacheConfig{MaxEntries: n + int(5*math.Sqrt(float64(16*runtime.GOMAXPROCS(0)*n))) + 64, TTL: time.Hour},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.h = orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	w := &discard{h: http.Header{}}
	for i := range n {
		f.h.ServeHTTP(w, sessionRequest(cred, i))
		if w.code != http.StatusNoContent {
			tb.Fatalf("session %d: status %d", i, w.code)
		}
	}
	after := liveHeap()
	f.bytes = float64(after.bytes-before.bytes) / float64(n)
	f.objects = float64(after.objects-before.objects) / float64(n)
	return f
}

type heap struct{ bytes, objects uint64 }

func liveHeap() heap {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heap{m.HeapAlloc, m.HeapObjects}
}

// gcCPU is the median CPU time of three full GC cycles of this process.
func gcCPU() time.Duration {
	var d []time.Duration
	for range 3 {
		t := cpuTime(nil)
		runtime.GC()
		d = append(d, cpuTime(nil)-t)
	}
	slices.Sort(d)
	return d[1]
}

// sessionRequest is a GET / with session i's credential: Kratos's ory_kratos_session cookie
// (428 bytes, the index in its first ten) among the app's cookies, or an ory_st_ token.
func sessionRequest(cred string, i int) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cred == "cookie" {
		r.Header.Set("Cookie", browserCookie(fmt.Sprintf("ory_kratos_session=%010d%s", i, cookieFiller)))
		r.Header.Set("Accept", acceptHTML)
	} else {
		r.Header.Set("X-Session-Token", fmt.Sprintf("ory_st_%032d", i))
		r.Header.Set("Accept", "application/json")
	}
	return r
}

var cookieFiller = strings.Repeat("MTczMjQ1MTIzNHxHd3dBR0RFNE5qQXlNVFl6TXpNd05ERTJOREV5TlRVME9URXhNZz09fA", 6)[:418]

// memoryOry answers whoami in memory with session i's document for session i's credential,
// as Kratos v1.3.1 writes it (an aal2 session after a password and TOTP, one device: the
// fields of the document core/compact_test.go keeps, a browser's full user agent).
type memoryOry struct{ calls atomic.Int64 }

func (m *memoryOry) RoundTrip(r *http.Request) (*http.Response, error) {
	m.calls.Add(1)
	cred := strings.TrimPrefix(r.Header.Get("X-Session-Token"), "ory_st_")
	if c := r.Header.Get("Cookie"); c != "" {
		cred = strings.TrimPrefix(c, "ory_kratos_session=")[:10]
	}
	i, err := strconv.Atoi(cred)
	if err != nil {
		return nil, fmt.Errorf("memoryOry: no session for %q", cred)
	}
	now := time.Now().UTC()
	at := now.Add(-time.Minute).Format(time.RFC3339Nano)        // the password, the identity
	totp := now.Add(-30 * time.Second).Format(time.RFC3339Nano) // the second factor: authenticated_at
	body := fmt.Appendf(nil, kratosSession, i, now.Add(24*time.Hour).Format(time.RFC3339Nano), totp, at, totp, at, i, at, i, at, at, i)
	return &http.Response{
		StatusCode: http.StatusOK, Request: r, ContentLength: int64(len(body)),
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(body)),
	}, nil
}

const kratosSession = `{"id":"e523a4b8-006f-4067-97fc-%012d","active":true,"expires_at":"%s","authenticated_at":"%s","authenticator_assurance_level":"aal2",` +
	`"authentication_methods":[{"method":"password","aal":"aal1","completed_at":"%s"},{"method":"totp","aal":"aal2","completed_at":"%s"}],` +
	`"issued_at":"%s","identity":{"id":"c34b1d5a-5be0-422a-9e0d-%012d","schema_id":"default","schema_url":"http://127.0.0.1:4433/schemas/ZGVmYXVsdA",` +
	`"state":"active","state_changed_at":"%s","traits":{"email":"user-%d@example.com"},"metadata_public":null,"created_at":"%s","updated_at":"%s",` +
	`"organization_id":null},"devices":[{"id":"3a89653e-2e65-43fa-ac76-%012d","ip_address":"127.0.0.1:51234",` +
	`"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","location":""}]}`

// discard is a ResponseWriter that keeps and allocates nothing.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }
