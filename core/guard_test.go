package core_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// stack runs an outer and an inner guard as nested middleware would: the inner one sees the
// context the outer one's decision made.
func stack(t *testing.T, outer, inner *core.Guard, r *core.Request) (core.Decision, core.Decision) {
	t.Helper()
	d1 := outer.Check(ctx(t), r)
	if !d1.Allowed() {
		return d1, core.Decision{}
	}
	return d1, inner.Check(d1.Context(ctx(t)), r)
}

// Stacked guards: a RequireSession group whose session came from the cache must not make a
// RequireAAL2 route deny without asking Ory: the user may have just enrolled TOTP on the same
// session token.
func TestStackedGuardRechecksACachedContextSessionBeforeDenying(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1) // no second factor yet
	v := newVerifier(t, srv.URL, core.Config{})
	group, route := core.MustGuard(core.RequireSession, core.WithVerifier(v)), core.MustGuard(core.RequireAAL2, core.WithVerifier(v))

	// The first request fills the cache with the aal1 session; the route sends the user to
	// set up a second factor.
	if _, d := stack(t, group, route, apiRequest(token)); d.Outcome != core.Enroll {
		t.Fatalf("aal1 on the stacked route: %v, want enroll", d.Outcome)
	}
	srv.StepUp(token) // TOTP enrolled: the same session is aal2 now
	calls := srv.Calls()
	d1, d2 := stack(t, group, route, apiRequest(token))
	if d1.FromContext || !d1.Allowed() {
		t.Fatalf("outer guard: %+v", d1)
	}
	if !d2.Allowed() || string(d2.Session.GetAuthenticatorAssuranceLevel()) != "aal2" {
		t.Fatalf("after enrolling on the same token the stacked route says %v (%v): a denial rested on the cached session", d2.Outcome, d2.Err)
	}
	if n := srv.Calls() - calls; n != 1 {
		t.Fatalf("%d whoami calls, want 1 (the re-check)", n)
	}
	// Now the fresh aal2 session is cached: both guards pass without Ory.
	calls = srv.Calls()
	if _, d := stack(t, group, route, apiRequest(token)); !d.Allowed() || srv.Calls() != calls {
		t.Fatalf("cached aal2: %v with %d calls", d.Outcome, srv.Calls()-calls)
	}
}

// The same for freshness: a refresh on the same token must pass at once.
func TestStackedGuardRechecksBeforeARefreshDenial(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	srv.Backdate(token, 10*time.Minute)
	v := newVerifier(t, srv.URL, core.Config{})
	group, route := core.MustGuard(core.RequireSession, core.WithVerifier(v)), core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMaxAge(5*time.Minute))
	if _, d := stack(t, group, route, apiRequest(token)); d.Outcome != core.Refresh {
		t.Fatalf("stale second factor: %v, want refresh", d.Outcome)
	}
	srv.StepUp(token) // a refresh: the second factor is proven now
	if _, d := stack(t, group, route, apiRequest(token)); !d.Allowed() {
		t.Fatalf("after the refresh on the same token: %v: a denial rested on the cached session", d.Outcome)
	}
}

// A fresh context session that falls short is denied at once, with the right outcome, and
// without asking Ory again (the mutation audit's "allowed without evaluating" survivor).
func TestStackedGuardEvaluatesAFreshContextSession(t *testing.T) {
	srv := orymfatest.NewServer(t)
	noFactor := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	stale := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	srv.Backdate(stale, time.Hour)
	v := newVerifier(t, srv.URL, core.Config{Cache: core.CacheConfig{Disabled: true}})
	group := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	for _, tc := range []struct {
		token string
		route *core.Guard
		want  core.Outcome
	}{
		{noFactor, core.MustGuard(core.RequireAAL2, core.WithVerifier(v)), core.Enroll},
		{stale, core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMaxAge(5*time.Minute)), core.Refresh},
		{stale, core.MustGuard(core.RequireSession, core.WithVerifier(v), core.WithMaxAge(5*time.Minute)), core.Refresh},
	} {
		calls := srv.Calls()
		d1, d2 := stack(t, group, tc.route, apiRequest(tc.token))
		if !d1.Allowed() || d2.Outcome != tc.want || !d2.FromContext && d2.Allowed() {
			t.Fatalf("stacked: outer %v, inner %v, want inner %v", d1.Outcome, d2.Outcome, tc.want)
		}
		if n := srv.Calls() - calls; n != 1 {
			t.Fatalf("%d whoami calls, want 1: the outer guard's answer is fresh", n)
		}
		e := decodeError(t, d2)
		if tc.want == core.Enroll && e.Error.Details["setup_second_factor"] != true {
			t.Fatalf("enroll without setup_second_factor: %s", d2.Body)
		}
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

// BenchmarkCheck measures Guard.Check on the paths most requests take: a session token and a
// browser's Cookie header (Kratos's cookie among the app's own) served from the cache, and a
// second guard on the same request reusing the session the first one put in the context.
func BenchmarkCheck(b *testing.B) {
	srv := orymfatest.NewServer(b)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	c := srv.Cookie(token)
	cookie := "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; " +
		c.Name + "=" + c.Value + "; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB"
	// A TTL longer than the run: every iteration is a cache hit.
	v := core.MustNew(core.Config{SDKURL: srv.URL, AppURL: "https://app.example", Cache: core.CacheConfig{TTL: time.Hour},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
	for _, tc := range []struct {
		name string
		r    core.Request
	}{
		{"cached/token", core.Request{SessionToken: token}},
		{"cached/cookie", core.Request{Cookie: cookie}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := tc.r
			if d := g.Check(context.Background(), &r); !d.Allowed() { // the warm-up asks Ory
				b.Fatalf("warm-up: %v", d.Err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := tc.r
				if d := g.Check(context.Background(), &r); !d.Allowed() {
					b.Fatal(d.Err)
				}
			}
		})
	}
	b.Run("context", func(b *testing.B) {
		r := core.Request{SessionToken: token}
		d := g.Check(context.Background(), &r)
		if !d.Allowed() {
			b.Fatalf("warm-up: %v", d.Err)
		}
		ctx := d.Context(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			r := core.Request{SessionToken: token}
			if d := g.Check(ctx, &r); !d.Allowed() || !d.FromContext {
				b.Fatal("the context session was not reused")
			}
		}
	})
	if n := srv.Calls(); n > 2 {
		b.Errorf("%d whoami calls, want one per credential (the warm-ups)", n)
	}
}

// A session an earlier guard put in the request's context is reused only for the credential
// it was verified for, and only while its grant is valid (within the cache's TTL and before
// expires_at): a long-lived request (a websocket, a stream) that checks again later, or an
// in-process sub-request with other credentials or none, is decided on its own.
func TestContextSessionOnlyForItsCredentialWhileValid(t *testing.T) {
	srv := orymfatest.NewServer(t)
	alice, bob := srv.NewIdentity(), srv.NewIdentity()
	aliceToken, bobToken := srv.SignIn(alice, orymfatest.AAL2), srv.SignIn(bob, orymfatest.AAL2)
	clk := &clock{now: time.Now()}
	for _, cache := range []core.CacheConfig{{TTL: 10 * time.Second}, {Disabled: true}} {
		v := newVerifier(t, srv.URL, core.Config{Now: clk.Now, Cache: cache})
		g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
		d := g.Check(ctx(t), apiRequest(aliceToken))
		if !d.Allowed() {
			t.Fatalf("alice: %v", d.Err)
		}
		c := d.Context(ctx(t))
		if d := g.Check(c, apiRequest(aliceToken)); !d.Allowed() || !d.FromContext {
			t.Fatalf("the same credential at once: %v, from the context %v, want it reused", d.Outcome, d.FromContext)
		}
		if d := g.Check(c, apiRequest("")); d.Outcome != core.Login {
			t.Fatalf("no credential on alice's context: %v, want login", d.Outcome)
		}
		if d := g.Check(c, apiRequest(bobToken)); !d.Allowed() || d.FromContext || d.Session.Identity.Id != bob.ID {
			t.Fatalf("bob's token on alice's context: %v as %s, want bob's own session", d.Outcome, d.Session.Identity.Id)
		}
	}

	// Past the TTL, a logged-out session is not reused from the context.
	v := newVerifier(t, srv.URL, core.Config{Now: clk.Now, Cache: core.CacheConfig{TTL: 10 * time.Second}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	d := g.Check(ctx(t), apiRequest(aliceToken))
	c := d.Context(ctx(t))
	srv.Revoke(aliceToken)
	clk.Add(11 * time.Second)
	if d := g.Check(c, apiRequest(aliceToken)); d.Outcome != core.Login {
		t.Fatalf("11 s later (TTL 10 s), alice logged out: %v, want login", d.Outcome)
	}

	// Past expires_at, neither (the cache is off: only expires_at bounds the grant).
	carol := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	v = newVerifier(t, srv.URL, core.Config{Now: clk.Now, Cache: core.CacheConfig{Disabled: true}})
	g = core.MustGuard(core.RequireSession, core.WithVerifier(v))
	d = g.Check(ctx(t), apiRequest(carol))
	c = d.Context(ctx(t))
	srv.Expire(carol)
	clk.Add(orymfatest.Lifespan)
	if d := g.Check(c, apiRequest(carol)); d.Outcome != core.Login {
		t.Fatalf("after expires_at: %v, want login", d.Outcome)
	}
}
