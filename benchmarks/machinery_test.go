package benchmarks

import (
	"net/http"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/orymfatest"
)

// The benchmarks' own machinery, checked quickly and without Kratos: the loopback load against
// the test kit, and the cache fill of BenchmarkCachedSessions.

func TestLoadCountsRequestsCallsAndConnections(t *testing.T) {
	kit := orymfatest.NewServer(t)
	var cookies []string
	for range 4 {
		c := kit.Cookie(kit.SignIn(kit.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2))
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	for _, name := range []string{"nethttp", "fiber"} {
		a, _ := conformance.AdapterNamed(name)
		app := serveApp(t, a, kit.URL, core.CacheConfig{TTL: time.Hour}) // no entry expires on a slow machine
		kit.ResetCalls()
		calls := &whoamiCount{count: func() int64 { return int64(kit.Calls()) }}
		r := testing.Benchmark(func(b *testing.B) {
			load(b, app.url+"/aal2", cookies, calls)
		})
		if r.N == 0 {
			t.Fatalf("%s: the load failed (a request errored or was not answered 200)", name)
		}
		if r.Extra["req/s"] <= 0 || r.Extra["p99-ns"] < r.Extra["p50-ns"] || r.Extra["cpu-ns/op"] <= 0 {
			t.Fatalf("%s: metrics %v", name, r.Extra)
		}
		// The cached guard asks Ory once per session, whatever the load; the verifier reaches
		// the kit through the forwarder, on at most one connection per concurrent first call.
		if n := kit.Calls(); n < 1 || n > len(cookies) || r.Extra["whoami/Mreq"] != float64(n)*1e6/float64(calls.requests) {
			t.Fatalf("%s: %d whoami calls for %d sessions, %v per million requests", name, n, len(cookies), r.Extra["whoami/Mreq"])
		}
		if n := app.conns.Load(); n < 1 || n > int64(len(cookies)) {
			t.Fatalf("%s: %d connections to Ory for %d sessions", name, n, len(cookies))
		}
	}
}

func TestFillCachesEverySessionOnce(t *testing.T) {
	for _, cred := range []string{"cookie", "token"} {
		f := fillCache(t, cred, 2000)
		if n := f.ory.calls.Load(); n != 2000 {
			t.Fatalf("%s: %d whoami calls to fill 2000 sessions", cred, n)
		}
		w := &discard{h: http.Header{}}
		for i := range 2000 {
			f.h.ServeHTTP(w, sessionRequest(cred, i))
		}
		if n := f.ory.calls.Load(); n != 2000 || w.code != http.StatusNoContent {
			t.Fatalf("%s: the second pass answered %d and made %d calls in all, want 204 from the cache", cred, w.code, n)
		}
		if f.bytes <= 0 || f.objects <= 0 {
			t.Fatalf("%s: %v B and %v objects per session", cred, f.bytes, f.objects)
		}
	}
}
