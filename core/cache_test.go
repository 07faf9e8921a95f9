package core_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// clock is a settable clock for the verifier.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestCacheGrantsWithoutAskingOryAgain(t *testing.T) {
	srv := orymfatest.NewServer(t)
	user := srv.NewIdentity()
	token := srv.SignIn(user, orymfatest.AAL2)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	for range 3 {
		if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() || d.Session.Identity.Id != user.ID {
			t.Fatalf("denied: %v", d.Err)
		}
	}
	if n := srv.Calls(); n != 1 {
		t.Fatalf("%d whoami calls for three requests, want 1", n)
	}
}

func TestCacheOffAsksEveryTime(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{Cache: core.CacheConfig{Disabled: true}})))
	for range 3 {
		if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() {
			t.Fatalf("denied: %v", d.Err)
		}
	}
	if n := srv.Calls(); n != 3 {
		t.Fatalf("%d whoami calls, want 3", n)
	}
}

// A token keeps its value when its session steps up: a cached aal1 session must not deny it.
func TestCachedSessionIsRecheckedBeforeDenial(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1) // no second factor yet
	v := newVerifier(t, srv.URL, core.Config{})
	session, aal2 := core.MustGuard(core.RequireSession, core.WithVerifier(v)), core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
	if d := session.Check(ctx(t), apiRequest(token)); !d.Allowed() {
		t.Fatal("aal1 session denied on RequireSession")
	}
	if d := aal2.Check(ctx(t), apiRequest(token)); d.Outcome != core.Enroll {
		t.Fatalf("aal1 on RequireAAL2: %v", d.Outcome)
	}
	srv.StepUp(token) // the user enrolled TOTP on the same session token
	if d := aal2.Check(ctx(t), apiRequest(token)); !d.Allowed() {
		t.Fatalf("stepped-up token still denied: %v", d.Outcome)
	}
	if n := srv.Calls(); n != 3 {
		t.Fatalf("%d whoami calls, want 3 (fill, re-check, re-check)", n)
	}
	if d := aal2.Check(ctx(t), apiRequest(token)); !d.Allowed() || srv.Calls() != 3 {
		t.Fatal("the stepped-up session was not cached")
	}
}

func TestCacheEntryEndsAtTTLAndExpiresAt(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	clk := &clock{now: time.Now()}
	expires := clk.Now().Add(30 * time.Second)
	doc := sessionJSON(t, srv, token)
	doc["expires_at"] = expires.Format(time.RFC3339Nano)
	srv.Respond(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, doc) })
	v := newVerifier(t, srv.URL, core.Config{Now: clk.Now, Cache: core.CacheConfig{TTL: 20 * time.Second}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	check := func(wantCalls int, want core.Outcome, wantStatus int) {
		t.Helper()
		d := g.Check(ctx(t), apiRequest(token))
		if d.Outcome != want || d.Status != wantStatus || srv.Calls() != wantCalls {
			t.Fatalf("%v %d after %d calls, want %v %d after %d (%v)", d.Outcome, d.Status, srv.Calls(), want, wantStatus, wantCalls, d.Err)
		}
	}
	check(1, core.Allow, 0)
	clk.Add(19 * time.Second)
	check(1, core.Allow, 0) // within TTL
	clk.Add(2 * time.Second)
	check(2, core.Allow, 0) // TTL passed: asked again; the new entry ends at expires_at (9 s away)
	clk.Add(8 * time.Second)
	check(2, core.Allow, 0)
	clk.Add(2 * time.Second)        // past expires_at: never served from the cache
	check(3, core.Unavailable, 502) // and Ory's answer (an expired session) is refused
}

func TestCacheIsBounded(t *testing.T) {
	srv := orymfatest.NewServer(t)
	v := newVerifier(t, srv.URL, core.Config{Cache: core.CacheConfig{MaxEntries: 3}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	for i := range 10 {
		token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
		if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() {
			t.Fatalf("denied %d", i)
		}
	}
	// freelru shards the bound; with 3 entries it keeps at most 3.
	if n := v.CachedSessions(); n < 1 || n > 3 {
		t.Fatalf("%d cached sessions, want at most the bound 3", n)
	}
}

// Denials and errors are never cached: each goes back to Ory, and each answer is the one
// Ory gives now (not a remembered one).
func TestErrorsAreNotCached(t *testing.T) {
	srv := orymfatest.NewServer(t)
	stepUp := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	ok := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	g := core.MustGuard(core.RequireSession, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	for _, tc := range []struct {
		token  string
		want   core.Outcome
		status int
	}{
		{stepUp, core.StepUp, 403}, {stepUp, core.StepUp, 403},
		{"ory_st_unknown", core.Login, 401}, {"ory_st_unknown", core.Login, 401},
	} {
		if d := g.Check(ctx(t), apiRequest(tc.token)); d.Outcome != tc.want || d.Status != tc.status {
			t.Fatalf("%s: %v %d, want %v %d", tc.token, d.Outcome, d.Status, tc.want, tc.status)
		}
	}
	srv.SetFault(orymfatest.Status(500))
	if d := g.Check(ctx(t), apiRequest(ok)); d.Outcome != core.Unavailable || d.Status != 502 {
		t.Fatalf("Ory failing: %v %d", d.Outcome, d.Status)
	}
	srv.ClearFault()
	if d := g.Check(ctx(t), apiRequest(ok)); !d.Allowed() {
		t.Fatalf("a failed call was cached: %v", d.Err)
	}
	srv.StepUp(stepUp)
	if d := g.Check(ctx(t), apiRequest(stepUp)); !d.Allowed() {
		t.Fatalf("a step-up denial was cached: %v", d.Err)
	}
	if n := srv.Calls(); n != 7 {
		t.Fatalf("%d calls, want 7: denials and errors always go back to Ory", n)
	}
}

// blockingOry answers whoami only once release is closed.
func blockingOry(t *testing.T) (srv *orymfatest.Server, token string, arrived chan struct{}, release chan struct{}) {
	srv = orymfatest.NewServer(t)
	token = srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	doc := sessionJSON(t, srv, token)
	arrived, release = make(chan struct{}, 1000), make(chan struct{})
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		writeJSON(w, 200, doc)
	})
	return srv, token, arrived, release
}

func TestConcurrentFirstRequestsShareOneCall(t *testing.T) {
	srv, token, arrived, release := blockingOry(t)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	const n = 200
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for range n {
		wg.Go(func() {
			if d := g.Check(ctx(t), apiRequest(token)); d.Allowed() {
				allowed.Add(1)
			}
		})
	}
	<-arrived // the one call is in flight; the others join it or hit the cache afterwards
	close(release)
	wg.Wait()
	if allowed.Load() != n || srv.Calls() != 1 {
		t.Fatalf("allowed %d of %d with %d whoami calls, want all with 1", allowed.Load(), n, srv.Calls())
	}
}

func TestCancelledCallerDoesNotFailTheOthers(t *testing.T) {
	srv, token, arrived, release := blockingOry(t)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	leaving, cancel := context.WithCancel(context.Background())
	first := make(chan core.Decision)
	go func() { first <- g.Check(leaving, apiRequest(token)) }()
	<-arrived // the shared call started under the first caller's context
	others := make(chan core.Decision, 5)
	for range 5 {
		go func() { others <- g.Check(ctx(t), apiRequest(token)) }()
	}
	cancel()
	if d := <-first; d.Outcome != core.Unavailable || d.Allowed() {
		t.Fatalf("cancelled caller: %v", d.Outcome)
	}
	close(release)
	for range 5 {
		if d := <-others; !d.Allowed() {
			t.Fatalf("another caller failed with the first one's cancellation: %v", d.Err)
		}
	}
	// The others may have joined after the first left and the call was abandoned: then one
	// more call, never more.
	if n := srv.Calls(); n < 1 || n > 2 {
		t.Fatalf("%d calls, want 1 (or 2 if every waiter had left the first)", n)
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
