package core_test

import (
	"net/http"
	"sync"
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

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

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
