package core_test

import (
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// A session in the context is reused only by the verifier that verified it: an inner guard
// for another Ory project asks its own project, and a session put there by
// ContextWithSession (a test, a custom middleware) is never trusted.
func TestContextSessionIsTiedToItsVerifier(t *testing.T) {
	customers, staff := orymfatest.NewServer(t), orymfatest.NewServer(t)
	token := customers.SignIn(customers.NewIdentity(), orymfatest.AAL2) // valid only for customers
	a := newVerifier(t, customers.URL, core.Config{})
	b := newVerifier(t, staff.URL, core.Config{})
	outer := core.MustGuard(core.RequireSession, core.WithVerifier(a))
	inner := core.MustGuard(core.RequireAAL2, core.WithVerifier(b))
	d1, d2 := stack(t, outer, inner, apiRequest(token))
	if !d1.Allowed() {
		t.Fatalf("outer: %v", d1.Outcome)
	}
	if d2.Allowed() || d2.Outcome != core.Login {
		t.Fatalf("the staff guard accepted a customer session: %v", d2.Outcome)
	}
	if n := staff.Calls(); n != 1 {
		t.Fatalf("the staff project was asked %d times, want 1", n)
	}

	planted := core.ContextWithSession(ctx(t), orymfatest.NewSession(orymfatest.AAL2))
	if d := inner.Check(planted, apiRequest("ory_st_unknown")); d.Allowed() || d.Outcome != core.Login {
		t.Fatalf("a planted session passed the guard: %v", d.Outcome)
	}
	if s, ok := core.SessionFromContext(planted); !ok || s == nil {
		t.Fatal("handlers cannot read a session put there with ContextWithSession")
	}
}
