package conformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// redirect asserts a 303 to want and that the handler did not run.
func (e *env) redirect(r response, want string) {
	e.t.Helper()
	if r.status != 303 || r.location != want {
		e.t.Fatalf("got %d Location %q, want 303 to %q (body %s)", r.status, r.location, want, r.body)
	}
	e.handlerDidNotRun()
}

// oryError asserts a JSON error in Ory's shape and that the handler did not run.
func (e *env) oryError(r response, status int, id, redirectTo string) {
	e.t.Helper()
	if r.status != status || r.oryErr.Error.ID != id || r.oryErr.Error.Code != status {
		e.t.Fatalf("got %d %s, want %d with error.id %q", r.status, r.body, status, id)
	}
	if r.oryErr.RedirectBrowserTo != redirectTo {
		e.t.Fatalf("redirect_browser_to = %q, want %q", r.oryErr.RedirectBrowserTo, redirectTo)
	}
	e.handlerDidNotRun()
}

// unavailable asserts a 5xx with the given status and that the handler did not run.
func (e *env) unavailable(r response, status int) {
	e.t.Helper()
	if r.status != status || r.oryErr.Error.Code != status {
		e.t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	e.handlerDidNotRun()
}

func (e *env) handlerDidNotRun() {
	e.t.Helper()
	if n := e.ran.Load(); n != 0 {
		e.t.Fatalf("the protected handler ran %d times on a denied request", n)
	}
}

// allowed asserts the handler ran with the identity and AAL Ory reports, and found the same
// session in the framework's accessor and the request's context.
func (e *env) allowed(r response, identityID, aal string) {
	e.t.Helper()
	if r.status != 200 || r.handler.Handler != "ran" {
		e.t.Fatalf("got %d %s, want the handler's 200", r.status, r.body)
	}
	if r.handler.IdentityID != identityID || r.handler.AAL != aal || !r.handler.SameContext {
		e.t.Fatalf("handler saw %+v, want identity %s at %s, same session in the context", r.handler, identityID, aal)
	}
	e.ran.Store(0)
}

// whoamiSession is what the test itself reads from Kratos to compare with the handler.
type whoamiSession struct {
	Identity struct {
		ID string `json:"id"`
	} `json:"identity"`
	AAL     string `json:"authenticator_assurance_level"`
	Methods []struct {
		AAL         string    `json:"aal"`
		CompletedAt time.Time `json:"completed_at"`
	} `json:"authentication_methods"`
}

// session asks Kratos directly (not through the app) for a token's session.
func session(t *testing.T, p *kratostest.Project, token string) whoamiSession {
	t.Helper()
	status, body, err := p.Whoami(ctx(t), token)
	if err != nil || status != 200 {
		t.Fatalf("whoami: %d %s %v", status, body, err)
	}
	var s whoamiSession
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// secondFactorAt is when the session last proved an aal2 method.
func (s whoamiSession) secondFactorAt() time.Time {
	var at time.Time
	for _, m := range s.Methods {
		if m.AAL == "aal2" && m.CompletedAt.After(at) {
			at = m.CompletedAt
		}
	}
	return at
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
