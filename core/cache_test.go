package core_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	ory "github.com/ory/client-go"

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

// A handler that writes through its session's pointers (it should not: sessions are
// read-only, but nothing stops it) changes its own session only: no cached session shares
// anything writable with another, and the policy reads what Ory said, not what a handler
// wrote afterwards.
func TestCachedSessionsShareNothingWritable(t *testing.T) {
	srv := orymfatest.NewServer(t)
	v := newVerifier(t, srv.URL, core.Config{})
	session, aal2 := core.MustGuard(core.RequireSession, core.WithVerifier(v)), core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
	careless := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	d := session.Check(ctx(t), apiRequest(careless))
	if !d.Allowed() {
		t.Fatalf("aal1 on RequireSession: %v", d.Err)
	}
	s := d.Session
	aal1, method := *s.AuthenticatorAssuranceLevel, *s.AuthenticationMethods[0].Method
	var device *string // the kit sends a device, as Kratos does
	var userAgent string
	if len(s.Devices) > 0 && s.Devices[0].UserAgent != nil {
		device, userAgent = s.Devices[0].UserAgent, *s.Devices[0].UserAgent
	}
	t.Cleanup(func() { // writes back what Ory said, should the writes have reached anything shared
		*s.AuthenticatorAssuranceLevel, *s.AuthenticationMethods[0].Aal = aal1, aal1
		*s.AuthenticationMethods[0].Method, *s.Identity.State = method, "active"
		if device != nil {
			*device = userAgent
		}
	})
	*s.AuthenticatorAssuranceLevel = ory.AUTHENTICATORASSURANCELEVEL_AAL2
	*s.AuthenticationMethods[0].Aal = ory.AUTHENTICATORASSURANCELEVEL_AAL2
	*s.AuthenticationMethods[0].Method = "totp"
	*s.Identity.State = "inactive"
	if device != nil {
		*device = "written by a handler"
	}

	// The careless user's own session is still what Ory said to the policy.
	if d := aal2.Check(ctx(t), apiRequest(careless)); d.Allowed() {
		t.Fatal("a handler's write to its session's aal made that session pass RequireAAL2")
	}
	// Another user's session shares none of it.
	other := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	d = aal2.Check(ctx(t), apiRequest(other))
	if d.Allowed() || d.Outcome != core.Enroll {
		t.Fatalf("another user's aal1 session: %v, want enroll: a handler's write reached every session", d.Outcome)
	}
	o := d.Session
	if *o.AuthenticatorAssuranceLevel != aal1 || *o.AuthenticationMethods[0].Aal != aal1 ||
		*o.AuthenticationMethods[0].Method != method || *o.Identity.State != "active" {
		t.Fatalf("another user's session reads what a handler wrote into its own: %+v", o)
	}
	if len(o.Devices) > 0 && o.Devices[0].UserAgent != nil && *o.Devices[0].UserAgent == "written by a handler" {
		t.Fatal("another user's device reads what a handler wrote into its own")
	}
}

// A logout is seen within the TTL counted from when the whoami call was sent, not from when
// Ory's answer arrived: with a slow Ory the window was the TTL plus Ory's latency.
func TestCacheTTLCountsFromWhenWhoamiWasSent(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	clk := &clock{now: time.Now()}
	doc := sessionJSON(t, srv, token)
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		clk.Add(3 * time.Second) // Ory takes 3 s to answer
		writeJSON(w, 200, doc)
	})
	v := newVerifier(t, srv.URL, core.Config{Now: clk.Now, Cache: core.CacheConfig{TTL: 10 * time.Second}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() {
		t.Fatalf("first request: %v", d.Err)
	}
	srv.ClearFault()
	srv.Revoke(token) // the user logs out as the answer arrives
	clk.Add(7 * time.Second)
	if d := g.Check(ctx(t), apiRequest(token)); d.Outcome != core.Login {
		t.Fatalf("10 s after the call was sent (TTL 10 s), a logged-out session: %v, want login: the TTL counted from the answer", d.Outcome)
	}
}
