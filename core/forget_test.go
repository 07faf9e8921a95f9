package core_test

import (
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// ForgetSession drops every cached grant of one Ory session at once, whatever credential it
// was cached under (a browser's cookie and an API client's session token), and nothing else:
// the next request with any of them asks Ory, and sees the logout.
func TestForgetSessionDropsEveryCredential(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token, other := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2), srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	c := srv.Cookie(token)
	cookie := c.Name + "=" + c.Value
	v := newVerifier(t, srv.URL, core.Config{})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	for _, r := range []*core.Request{apiRequest(token), browserRequest(cookie), apiRequest(other)} {
		if d := g.Check(ctx(t), r); !d.Allowed() {
			t.Fatalf("signing in: %v", d.Err)
		}
	}
	if n := v.CachedSessions(); n != 3 {
		t.Fatalf("%d cached sessions, want 3 (one session under two credentials, and another)", n)
	}
	srv.Revoke(token) // the app runs the logout itself ...
	v.ForgetSession(srv.Session(token).Id)
	if n := v.CachedSessions(); n != 1 {
		t.Fatalf("%d cached sessions after ForgetSession, want 1: the other user's", n)
	}
	calls := srv.Calls()
	if d := g.Check(ctx(t), apiRequest(token)); d.Outcome != core.Login {
		t.Fatalf("the forgotten session's token: %v, want login", d.Outcome)
	}
	if d := g.Check(ctx(t), browserRequest(cookie)); d.Outcome != core.Login {
		t.Fatalf("the forgotten session's cookie: %v, want login", d.Outcome)
	}
	if d := g.Check(ctx(t), apiRequest(other)); !d.Allowed() {
		t.Fatalf("another session: %v", d.Err)
	}
	if n := srv.Calls() - calls; n != 2 {
		t.Fatalf("%d whoami calls, want 2: the forgotten credentials ask Ory, the other session is still cached", n)
	}
	v.ForgetSession("no-such-session") // nothing to forget is fine
	core.MustNew(core.Config{SDKURL: srv.URL, Cache: core.CacheConfig{Disabled: true}}).ForgetSession("x")
}

// A whoami call sent before ForgetSession does not cache the session it brings back: the
// request that waited on it is decided with it, the next one asks Ory again.
func TestForgetSessionDuringAWhoamiCall(t *testing.T) {
	srv, token, arrived, release := blockingOry(t)
	v := newVerifier(t, srv.URL, core.Config{})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	first := make(chan core.Decision, 1)
	go func() { first <- g.Check(ctx(t), apiRequest(token)) }()
	<-arrived // the call is at Ory
	v.ForgetSession(srv.Session(token).Id)
	close(release)
	if d := <-first; !d.Allowed() {
		t.Fatalf("the request under way: %v", d.Err)
	}
	if n := v.CachedSessions(); n != 0 {
		t.Fatalf("%d cached sessions: the call sent before ForgetSession cached its answer", n)
	}
	if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() || srv.Calls() != 2 {
		t.Fatalf("the next request: %v after %d whoami calls, want allowed after 2", d.Outcome, srv.Calls())
	}
	if n := v.CachedSessions(); n != 1 {
		t.Fatalf("%d cached sessions: a call sent after ForgetSession caches as usual", n)
	}
}
