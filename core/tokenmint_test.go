package core_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// SessionJWT gets a JWT of a browser session from Ory once and hands it out until shortly
// before it expires; a step-up (a new cookie) gets a new one; a session token is minted for
// on every call, since the same token may have stepped up.
func TestSessionJWT(t *testing.T) {
	srv := orymfatest.NewServer(t)
	tok := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	v := tokenVerifier(t, srv, core.Config{})
	g := guard(t, v, core.RequireSession)
	cookie := func() *core.Request {
		c := srv.Cookie(tok)
		return &core.Request{Cookie: "theme=dark; " + c.Name + "=" + c.Value}
	}
	jwt, err := v.SessionJWT(ctx(t), cookie())
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Check(ctx(t), bearer(jwt)); !d.Allowed() || d.Session.GetAuthenticatorAssuranceLevel() != "aal1" {
		t.Fatalf("the minted JWT: %v", d.Err)
	}
	again, err := v.SessionJWT(ctx(t), cookie())
	if err != nil || again != jwt || srv.Calls() != 1 {
		t.Fatalf("a second call: %v, same %v, %d whoami calls", err, again == jwt, srv.Calls())
	}
	srv.StepUp(tok) // enrolls: aal2 at once, and a new cookie
	stepped, err := v.SessionJWT(ctx(t), cookie())
	if err != nil || srv.Calls() != 2 {
		t.Fatalf("after the step-up: %v, %d calls", err, srv.Calls())
	}
	if d := guard(t, v, core.RequireAAL2).Check(ctx(t), bearer(stepped)); !d.Allowed() {
		t.Fatalf("the new JWT: %v", d.Err)
	}
	for range 2 {
		if _, err := v.SessionJWT(ctx(t), apiRequest(tok)); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Calls() != 4 {
		t.Fatalf("%d calls: a session token's JWT was cached", srv.Calls())
	}
	// A request that carries a JWT already gets it back, verified, without Ory.
	if got, err := v.SessionJWT(ctx(t), bearer(stepped)); err != nil || got != stepped || srv.Calls() != 4 {
		t.Fatalf("a JWT credential: %v, same %v, %d calls", err, got == stepped, srv.Calls())
	}
}

// Ory's refusals come back as a guard's errors; a template Ory does not have is Ory-side
// trouble, and an app may mint without verifying (Template alone).
func TestSessionJWTErrors(t *testing.T) {
	srv := orymfatest.NewServer(t)
	v := newVerifier(t, srv.URL, core.Config{Tokens: core.TokenConfig{Template: orymfatest.TokenTemplate}})
	stepUp := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	revoked := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	srv.Revoke(revoked)
	for _, tc := range []struct {
		name string
		r    *core.Request
		want error
	}{
		{"no credential", &core.Request{}, core.ErrNoSession},
		{"revoked", apiRequest(revoked), core.ErrNoSession},
		{"aal1 with a second factor (Strict)", apiRequest(stepUp), core.ErrAAL2Required},
		{"a JWT outside JWT mode", bearer("a.b.c"), core.ErrNoSession},
	} {
		if _, err := v.SessionJWT(ctx(t), tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if jwt, err := v.SessionJWT(ctx(t), apiRequest(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))); err != nil || jwt == "" {
		t.Fatalf("Template alone: %v", err)
	}
	other := newVerifier(t, srv.URL, core.Config{Tokens: core.TokenConfig{Template: "nope"}})
	_, err := other.SessionJWT(ctx(t), apiRequest(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)))
	var ue *core.UnavailableError
	if !errors.As(err, &ue) || ue.Status != http.StatusBadGateway {
		t.Fatalf("an unknown template: %v", err)
	}
}
