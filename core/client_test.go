package core_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/core/internal/wait"
	"github.com/orymfa/orymfa/orymfatest"
)

// A user's own client keeps its transport but loses its dangerous habits: it
// never follows a redirect (the session token must not travel to wherever it points), never
// reads an unbounded body, and every call is bounded by the verifier's timeout. The user's
// client itself is not changed.
func TestUserClientIsHardened(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	var elsewhere atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.Header.Get("X-Session-Token") != "" {
			t.Errorf("the session token reached another host")
		}
		writeJSON(w, 200, sessionJSON(t, srv, token))
	}))
	t.Cleanup(evil.Close)
	userClient := &http.Client{} // follows redirects, no timeout, DefaultTransport
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: srv.URL}}
	cfg.HTTPClient = userClient
	api := ory.NewAPIClient(cfg)
	v := newVerifier(t, srv.URL, core.Config{APIClient: api, Timeout: 200 * time.Millisecond, Cache: core.CacheConfig{Disabled: true}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))

	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/sessions/whoami", http.StatusTemporaryRedirect)
	})
	if d := g.Check(ctx(t), apiRequest(token)); d.Allowed() || d.Status != 502 || elsewhere.Load() != 0 {
		t.Fatalf("redirect: %v %d, %d requests elsewhere", d.Outcome, d.Status, elsewhere.Load())
	}

	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"`))
		chunk := []byte(strings.Repeat("a", 1<<20))
		for range 256 { // 256 MiB, if anyone read it all
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := g.Check(ctx(t), apiRequest(token))
	runtime.ReadMemStats(&after)
	if d.Allowed() || d.Status != 502 {
		t.Fatalf("huge body: %v %d", d.Outcome, d.Status)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Fatalf("a 256 MiB answer made the verifier allocate %d MiB", grew>>20)
	}

	srv.SetFault(orymfatest.Slow(time.Minute))
	if d := g.Check(ctx(t), apiRequest(token)); d.Status != 504 {
		t.Fatalf("slow Ory with a client without timeout: %d, want 504 after the verifier's timeout", d.Status)
	}
	if cfg.HTTPClient != userClient || userClient.CheckRedirect != nil || userClient.Transport != nil || userClient.Timeout != 0 {
		t.Fatal("the user's client was changed")
	}
}

// The default client keeps connections for concurrent use: cache misses at concurrency 32
// (unknown tokens, every request asks Ory) open at most a few connections per worker in
// all, not one per request as http.DefaultTransport's two idle connections per host would.
func TestConnectionsToOryAreReused(t *testing.T) {
	var dials atomic.Int64
	counting := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401, "status": "Unauthorized", "message": "x"}})
	})}
	counting.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	ln := listen(t)
	go counting.Serve(ln)
	t.Cleanup(func() { counting.Close() })
	g := core.MustGuard(core.RequireSession, core.WithVerifier(newVerifier(t, "http://"+ln.Addr().String(), core.Config{})))
	const workers, perWorker = 32, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if d := g.Check(ctx(t), apiRequest("ory_st_unknown_"+strconv.Itoa(w)+"_"+strconv.Itoa(i))); d.Outcome != core.Login {
					t.Errorf("unknown token: %v", d.Outcome)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := dials.Load(); n > 3*workers {
		t.Fatalf("%d new connections to Ory for %d requests at concurrency %d, want at most %d", n, workers*perWorker, workers, 3*workers)
	}
	t.Logf("%d new connections for %d cache misses at concurrency %d", dials.Load(), workers*perWorker, workers)
}

// A Verifier that is dropped leaks nothing: no goroutine per verifier, and the
// idle connections of its own transport are closed once it is collected.
func TestDroppedVerifiersLeakNothing(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	settle := func() (int, uint64) {
		var m runtime.MemStats
		for range 5 {
			runtime.GC()
			runtime.Gosched()
		}
		runtime.ReadMemStats(&m)
		return runtime.NumGoroutine(), m.HeapAlloc
	}
	// Warm up what stays for the process (the kit's own goroutines, http internals).
	v := newVerifier(t, srv.URL, core.Config{})
	core.MustGuard(core.RequireSession, core.WithVerifier(v)).Check(ctx(t), apiRequest(token))
	v = nil
	goroutines, heap := settle()

	for i := range 10_000 {
		v := newVerifier(t, srv.URL, core.Config{})
		g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
		if i%100 == 0 { // every hundredth one talks to Ory: a connection and a cache table
			if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() {
				t.Fatalf("denied: %v", d.Err)
			}
		}
	}
	var g int
	var h uint64
	defer func() {
		if t.Failed() {
			t.Logf("after dropping 10,000 verifiers: %d goroutines (was %d), heap %d MiB (was %d MiB)", g, goroutines, h>>20, heap>>20)
		}
	}()
	wait.For(t, "the dropped verifiers' goroutines and memory to be released", func() bool {
		g, h = settle()
		return g <= goroutines+2 && h < heap+8<<20
	})
}
