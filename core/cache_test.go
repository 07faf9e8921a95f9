package core

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/fakeory"
)

// clock is a settable clock for the verifier.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestCacheGrantsWithoutAskingOryAgain(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	g := MustGuard(RequireAAL2, WithVerifier(newTestVerifier(t, fake, Config{})))
	for range 3 {
		if d := g.Check(context.Background(), apiRequest(fakeory.TokenAAL2)); !d.Allowed() {
			t.Fatalf("denied: %v", d.Err)
		}
	}
	if n := fake.Calls(); n != 1 {
		t.Fatalf("%d whoami calls for three requests, want 1", n)
	}
}

func TestCacheOffAsksEveryTime(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	g := MustGuard(RequireAAL2, WithVerifier(newTestVerifier(t, fake, Config{Cache: CacheConfig{Disabled: true}})))
	for range 3 {
		if d := g.Check(context.Background(), apiRequest(fakeory.TokenAAL2)); !d.Allowed() {
			t.Fatalf("denied: %v", d.Err)
		}
	}
	if n := fake.Calls(); n != 3 {
		t.Fatalf("%d whoami calls, want 3", n)
	}
}

// A token keeps its value when its session steps up: a cached aal1 session must not deny it.
func TestCachedSessionIsRecheckedBeforeDenial(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	var aal atomic.Value
	aal.Store("aal1")
	fake.Respond(func(w http.ResponseWriter, r *http.Request) {
		fakeory.WriteSession(w, fakeory.Session(aal.Load().(string), time.Now()))
	})
	v := newTestVerifier(t, fake, Config{})
	session, aal2 := MustGuard(RequireSession, WithVerifier(v)), MustGuard(RequireAAL2, WithVerifier(v))
	if d := session.Check(context.Background(), apiRequest("tok")); !d.Allowed() {
		t.Fatal("aal1 session denied on RequireSession")
	}
	if d := aal2.Check(context.Background(), apiRequest("tok")); d.Outcome != Enroll {
		t.Fatalf("aal1 on RequireAAL2: %v", d.Outcome)
	}
	aal.Store("aal2") // the user completed the second factor on the same token
	if d := aal2.Check(context.Background(), apiRequest("tok")); !d.Allowed() {
		t.Fatalf("stepped-up token still denied: %v", d.Outcome)
	}
	if n := fake.Calls(); n != 3 {
		t.Fatalf("%d whoami calls, want 3 (fill, re-check, re-check)", n)
	}
	if d := aal2.Check(context.Background(), apiRequest("tok")); !d.Allowed() || fake.Calls() != 3 {
		t.Fatal("the stepped-up session was not cached")
	}
}

func TestCacheEntryEndsAtTTLAndExpiresAt(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	clk := &clock{now: time.Now()}
	expires := clk.Now().Add(30 * time.Second)
	fake.Respond(func(w http.ResponseWriter, r *http.Request) {
		s := fakeory.Session("aal2", time.Now())
		s["expires_at"] = expires.Format(time.RFC3339Nano)
		fakeory.WriteSession(w, s)
	})
	v := newTestVerifier(t, fake, Config{Now: clk.Now, Cache: CacheConfig{TTL: 20 * time.Second}})
	g := MustGuard(RequireSession, WithVerifier(v))
	check := func(wantCalls int64, wantAllowed bool) {
		t.Helper()
		d := g.Check(context.Background(), apiRequest("tok"))
		if d.Allowed() != wantAllowed || fake.Calls() != wantCalls {
			t.Fatalf("allowed=%v calls=%d, want %v %d (%v)", d.Allowed(), fake.Calls(), wantAllowed, wantCalls, d.Err)
		}
	}
	check(1, true)
	clk.Add(19 * time.Second)
	check(1, true) // within TTL
	clk.Add(2 * time.Second)
	check(2, true) // TTL passed: asked again; the new entry ends at expires_at (9 s away)
	clk.Add(8 * time.Second)
	check(2, true)
	clk.Add(2 * time.Second) // past expires_at: never served from the cache
	check(3, false)          // and Ory's answer (expired) is refused
}

func TestCacheIsBounded(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	fake.Respond(func(w http.ResponseWriter, r *http.Request) {
		fakeory.WriteSession(w, fakeory.Session("aal2", time.Now()))
	})
	v := newTestVerifier(t, fake, Config{Cache: CacheConfig{MaxEntries: 3}})
	g := MustGuard(RequireSession, WithVerifier(v))
	for i := range 10 {
		if d := g.Check(context.Background(), apiRequest("tok-"+strconv.Itoa(i))); !d.Allowed() {
			t.Fatal("denied")
		}
	}
	if n := v.CachedSessions(); n != 3 {
		t.Fatalf("%d cached sessions, want the bound 3", n)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	g := MustGuard(RequireSession, WithVerifier(newTestVerifier(t, fake, Config{})))
	for _, tok := range []string{fakeory.TokenStepUp, fakeory.TokenStepUp, "unknown", "unknown"} {
		g.Check(context.Background(), apiRequest(tok))
	}
	fake.Respond(func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 500, "") })
	g.Check(context.Background(), apiRequest(fakeory.TokenAAL2))
	fake.Respond(nil)
	if d := g.Check(context.Background(), apiRequest(fakeory.TokenAAL2)); !d.Allowed() {
		t.Fatal("a failed call was cached")
	}
	if n := fake.Calls(); n != 6 {
		t.Fatalf("%d calls, want 6: denials and errors always go back to Ory", n)
	}
}

// blockingFake answers whoami only when release is closed, counting calls.
func blockingFake(t *testing.T) (*fakeory.Server, chan struct{}, chan struct{}) {
	fake := fakeory.New()
	t.Cleanup(fake.Close)
	arrived, release := make(chan struct{}, 1000), make(chan struct{})
	fake.Respond(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		fakeory.WriteSession(w, fakeory.Session("aal2", time.Now()))
	})
	return fake, arrived, release
}

func TestConcurrentFirstRequestsShareOneCall(t *testing.T) {
	fake, arrived, release := blockingFake(t)
	v := newTestVerifier(t, fake, Config{})
	g := MustGuard(RequireAAL2, WithVerifier(v))
	const n = 200
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := g.Check(context.Background(), apiRequest(fakeory.TokenAAL2)); d.Allowed() {
				allowed.Add(1)
			}
		}()
	}
	<-arrived // the one call is in flight; the others join it or hit the cache afterwards
	close(release)
	wg.Wait()
	if allowed.Load() != n || fake.Calls() != 1 {
		t.Fatalf("allowed %d of %d with %d whoami calls, want all with 1", allowed.Load(), n, fake.Calls())
	}
}

func TestCancelledCallerDoesNotFailTheOthers(t *testing.T) {
	fake, arrived, release := blockingFake(t)
	g := MustGuard(RequireAAL2, WithVerifier(newTestVerifier(t, fake, Config{})))
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan Decision)
	go func() { first <- g.Check(ctx, apiRequest(fakeory.TokenAAL2)) }()
	<-arrived // the shared call started under the first caller's context
	second := make(chan Decision)
	go func() { second <- g.Check(context.Background(), apiRequest(fakeory.TokenAAL2)) }()
	cancel()
	if d := <-first; d.Outcome != Unavailable || d.Allowed() {
		t.Fatalf("cancelled caller: %v", d.Outcome)
	}
	close(release)
	if d := <-second; !d.Allowed() {
		t.Fatalf("the other caller failed with the first one's cancellation: %v", d.Err)
	}
	if fake.Calls() != 1 {
		t.Fatalf("%d calls, want 1", fake.Calls())
	}
}
