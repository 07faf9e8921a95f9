package conformance

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// redirect asserts a 303 to want and that the handler did not run.
func (e *env) redirect(r response, want string) {
	e.t.Helper()
	if r.status != 303 || r.location != want {
		e.t.Fatalf("got %d Location %q, want 303 to %q (body %s)", r.status, r.location, want, r.body)
	}
	e.handlerDidNotRun()
}

// oryError asserts a JSON error in Ory's shape and that the handler did not run. Adapters that
// write the core's bytes must write them as Ory does: "&" in redirect_browser_to, not
// "\u0026".
func (e *env) oryError(r response, status int, id, redirectTo string) {
	e.t.Helper()
	if r.status != status || r.oryErr.Error.ID != id || r.oryErr.Error.Code != status {
		e.t.Fatalf("got %d %s, want %d with error.id %q", r.status, r.body, status, id)
	}
	if r.oryErr.RedirectBrowserTo != redirectTo {
		e.t.Fatalf("redirect_browser_to = %q, want %q", r.oryErr.RedirectBrowserTo, redirectTo)
	}
	if r.location != "" {
		e.t.Fatalf("a JSON denial with Location %q", r.location)
	}
	if e.json && strings.Contains(string(r.body), `\u0026`) {
		e.t.Fatalf("redirect_browser_to escaped: %s", r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		e.t.Fatalf("denial with Cache-Control %q, want no-store", got)
	}
	e.handlerDidNotRun()
}

// unavailable asserts a 5xx in Ory's shape (ory_unavailable) with the given status, a
// Retry-After on 503, and that the handler did not run.
func (e *env) unavailable(r response, status int) {
	e.t.Helper()
	if r.status != status || r.oryErr.Error.Code != status || r.oryErr.Error.ID != "ory_unavailable" {
		e.t.Fatalf("got %d %s, want %d ory_unavailable", r.status, r.body, status)
	}
	if (status == 503) != (r.header.Get("Retry-After") != "") {
		e.t.Fatalf("status %d with Retry-After %q", status, r.header.Get("Retry-After"))
	}
	e.handlerDidNotRun()
}

// unavailablePage asserts a browser's 5xx: an HTML page, not JSON, and no handler.
func (e *env) unavailablePage(r response, status int) {
	e.t.Helper()
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "<html") {
		e.t.Fatalf("got %d %q %.80s, want a %d HTML page", r.status, r.header.Get("Content-Type"), r.body, status)
	}
	if (status == 503) != (r.header.Get("Retry-After") != "") {
		e.t.Fatalf("status %d with Retry-After %q", status, r.header.Get("Retry-After"))
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

// calls asserts how many whoami calls were made since the last check.
func (e *env) calls(want int64, what string) {
	e.t.Helper()
	if n := e.whoami.calls.Swap(0); n != want {
		e.t.Fatalf("%s: %d whoami calls, want %d", what, n, want)
	}
}

// whoamiSession is what the test itself reads from Ory to compare with the handler.
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

func decodeSession(t *testing.T, body []byte) whoamiSession {
	t.Helper()
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
