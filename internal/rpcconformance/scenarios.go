package rpcconformance

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// scenario is one row of the table (see package conformance): kitOnly rows stage what Kratos
// cannot be made to do and run against the kit alone.
type scenario struct {
	name    string
	kind    project
	kitOnly bool
	cfg     core.Config
	run     func(t *testing.T, e *env)
}

// Run runs every scenario through the transport, each with a fresh app and verifier, against
// a real Kratos and against the test kit (only the kit under -short). Scenarios run one after
// another, as in package conformance: Kratos on in-memory SQLite answers overlapping writes
// with transient errors.
func Run(t *testing.T, tr Transport) {
	for _, sc := range scenarios {
		for _, backend := range []string{"kratos", "kit"} {
			if backend == "kratos" && (sc.kitOnly || testing.Short()) {
				continue
			}
			t.Run(sc.name+"/"+backend, func(t *testing.T) {
				o, other := backends(t, backend, sc.kind)
				sc.run(t, newEnv(t, tr, o, other, sc.cfg))
			})
		}
	}
}

func backends(t *testing.T, backend string, kind project) (oryBackend, oryBackend) {
	if backend == "kit" {
		return newKitBackend(t, kind), newKitBackend(t, totp)
	}
	other := codeMFA
	if kind == codeMFA {
		other = totp
	}
	return kratosBackend{kratosProject(t, kind), kind}, kratosBackend{kratosProject(t, other), other}
}

func (e *env) kit() *orymfatest.Server { return e.ory.(kitBackend).srv }

var scenarios = []scenario{
	{name: "no session: Unauthenticated with the login flow, public methods stay public", kind: codeMFA, run: func(t *testing.T, e *env) {
		login := flowURL(e.ory.url(), "login", "")
		for _, m := range []string{Session, AAL2, Fresh, StackedAAL2, AdminPing} {
			e.denied(e.unary(m, Call{}), codes.Unauthenticated, "SESSION_INACTIVE", login, challengeLogin, false)
		}
		e.denied(e.stream(Call{}), codes.Unauthenticated, "SESSION_INACTIVE", login, challengeLogin, false)
		e.calls(0, "no credentials")
		if r := e.unary(Public, Call{}); r.Code != 0 || len(r.Replies) != 1 || r.Replies[0].Handler != "ran" || r.Replies[0].IdentityID != "" {
			t.Fatalf("public method: code %d %+v", r.Code, r.Replies)
		}
		e.calls(0, "a public method")
	}},
	{name: "aal1 token of a user with a second factor: PermissionDenied step-up, then allowed", kind: codeMFA, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		stepUp := flowURL(e.ory.url(), "login", "aal=aal2")
		// Kratos's own 403 means "step up", never "logged out", and never reaches the client
		// as it is (its gRPC code is OK).
		for _, m := range []string{Session, AAL2, AdminPing} {
			e.denied(e.unary(m, Call{Token: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", stepUp, challengeAAL2, false)
		}
		e.denied(e.unary(AAL2, Call{Bearer: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", stepUp, challengeAAL2, false)
		e.denied(e.stream(Call{Token: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", stepUp, challengeAAL2, false)

		e.ory.stepUp(t, u, u.token)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.unary(AAL2, Call{Token: u.token}), 1, id, "aal2")
		e.allowed(e.unary(Session, Call{Bearer: u.token}), 1, id, "aal2")
		e.allowed(e.unary(AdminPing, Call{Token: u.token}), 1, id, "aal2")
		e.allowed(e.stream(Call{Token: u.token}), 2, id, "aal2")
	}},
	{name: "no second factor yet: PermissionDenied with setupSecondFactor and the settings flow, then allowed", kind: totp, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.unary(Session, Call{Token: u.token}), 1, id, "aal1") // also caches the aal1 session
		settings := flowURL(e.ory.url(), "settings", "")
		e.denied(e.unary(AAL2, Call{Token: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", settings, challengeAAL2, true)
		e.denied(e.unary(StackedAAL2, Call{Token: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", settings, challengeAAL2, true)
		e.denied(e.stream(Call{Token: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", settings, challengeAAL2, true)

		e.ory.enroll(t, u, u.token) // the same token is aal2 now; the cached aal1 must not deny it
		e.allowed(e.unary(AAL2, Call{Token: u.token}), 1, id, "aal2")
		e.allowed(e.stream(Call{Token: u.token}), 2, id, "aal2")
	}},
	{name: "stale second factor: PermissionDenied refresh, then allowed", kind: codeMFA, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.stepUp(t, u, u.token)
		s := e.ory.session(t, u.token)
		e.allowed(e.unary(Fresh, Call{Token: u.token}), 1, s.Identity.ID, "aal2")

		e.freezeClock(s.secondFactorAt().Add(MaxAge + time.Millisecond))
		refresh := flowURL(e.ory.url(), "login", "refresh=true&aal=aal2")
		for _, m := range []string{Fresh, StackedFresh} {
			r := e.unary(m, Call{Token: u.token})
			e.denied(r, codes.PermissionDenied, "SESSION_REFRESH_REQUIRED", refresh, challengeRefresh, false)
			if got := r.Info.Metadata["maxAge"]; got != "300" {
				t.Fatalf("maxAge = %q, want 300", got)
			}
		}
		e.allowed(e.unary(AAL2, Call{Token: u.token}), 1, s.Identity.ID, "aal2") // no max age there

		e.ory.refresh(t, u, u.token)
		e.freezeClock(e.ory.session(t, u.token).secondFactorAt().Add(time.Millisecond))
		e.allowed(e.unary(Fresh, Call{Token: u.token}), 1, s.Identity.ID, "aal2")
		e.allowed(e.unary(StackedFresh, Call{Token: u.token}), 1, s.Identity.ID, "aal2")
	}},
	{name: "stacked rules ask Ory once per call", kind: codeMFA, cfg: core.Config{Cache: core.CacheConfig{Disabled: true}}, run: func(t *testing.T, e *env) {
		// Without a cache, only the session the first rule put in the context can spare the
		// second rule its own whoami call.
		u := e.ory.signUp(t)
		e.denied(e.unary(StackedAAL2, Call{Token: u.token}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", flowURL(e.ory.url(), "login", "aal=aal2"), challengeAAL2, false)
		e.calls(1, "denied stacked call")
		e.ory.stepUp(t, u, u.token)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.unary(StackedAAL2, Call{Token: u.token}), 1, id, "aal2")
		e.calls(1, "allowed stacked call")
		e.allowed(e.unary(StackedFresh, Call{Token: u.token}), 1, id, "aal2")
		e.calls(1, "allowed call under three rules")
		e.allowed(e.stream(Call{Token: u.token}), 2, id, "aal2")
		e.calls(1, "stream")
	}},
	{name: "stacked rules of two Ory projects: the inner one asks its own", kind: totp, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.enroll(t, u, u.token)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.unary(AAL2, Call{Token: u.token}), 1, id, "aal2")
		e.denied(e.unary(Two, Call{Token: u.token}), codes.Unauthenticated, "SESSION_INACTIVE", flowURL(e.other.url(), "login", ""), challengeLogin, false)
		if n := e.otherWh.calls.Load(); n != 1 {
			t.Fatalf("the other project was asked %d times, want 1", n)
		}
	}},
	{name: "every credential form; only the Ory session cookie goes to Ory", kind: codeMFA, run: func(t *testing.T, e *env) {
		c, id := e.ory.browserCookie(t)
		for _, call := range []Call{
			{Cookie: "theme=dark; " + c + "; app_csrf=secret"},
			{Cookies: []string{"app=1", c}},
			{GatewayCookie: "theme=dark; " + c},
		} {
			e.allowed(e.unary(AAL2, call), 1, id, "aal2")
			if got := e.whoami.lastCookie(); got != c {
				t.Fatalf("%+v: Ory received Cookie %q, want only %q", call, got, c)
			}
			e.allowed(e.stream(call), 2, id, "aal2")
		}
	}},
	{name: "x-session-token wins over the cookie, the cookie over Bearer, as in Kratos", kind: codeMFA, run: func(t *testing.T, e *env) {
		// The core's order, Kratos v1.3.1's: a bearer token of one user (aal1, must step up)
		// beside another user's aal2 cookie gets the cookie's user.
		c, id := e.ory.browserCookie(t)
		u := e.ory.signUp(t)
		e.allowed(e.unary(AAL2, Call{Bearer: u.token, Cookie: c}), 1, id, "aal2")
		e.allowed(e.stream(Call{Bearer: u.token, GatewayCookie: c}), 2, id, "aal2")
		e.denied(e.unary(AAL2, Call{Token: u.token, Cookie: c}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", flowURL(e.ory.url(), "login", "aal=aal2"), challengeAAL2, false)
	}},
	{name: "garbage, malformed and oversized credentials are Unauthenticated, not an error", kind: codeMFA, run: func(t *testing.T, e *env) {
		login := flowURL(e.ory.url(), "login", "")
		e.denied(e.unary(Session, Call{Cookie: "ory_kratos_session=garbage"}), codes.Unauthenticated, "SESSION_INACTIVE", login, challengeLogin, false)
		e.calls(1, "an unknown cookie")
		e.denied(e.unary(Session, Call{Token: strings.Repeat("x", 8<<10)}), codes.Unauthenticated, "SESSION_INACTIVE", login, challengeLogin, false)
		e.denied(e.unary(Session, Call{Cookie: `ory_kratos_session="not valid"`}), codes.Unauthenticated, "SESSION_INACTIVE", login, challengeLogin, false)
		e.calls(0, "malformed credentials")
	}},
	{name: "Ory down: Unavailable with a retry delay, the handler never runs", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.kit().SetFault(orymfatest.Down)
		e.unavailable(e.unary(Session, Call{Token: u.token}), "503")
		e.unavailable(e.stream(Call{Token: u.token}), "503")
	}},
	{name: "Ory rate-limiting the app (429): Unavailable with Ory's retry delay, then the same session passes", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.kit().Respond(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "17")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": 429, "message": "rate limit exceeded"}})
		})
		e.unavailableAfter(e.unary(Session, Call{Token: u.token}), "503", 17*time.Second)
		e.unavailableAfter(e.stream(Call{Token: u.token}), "503", 17*time.Second)
		e.kit().ClearFault()
		e.allowed(e.unary(Session, Call{Token: u.token}), 1, e.ory.session(t, u.token).Identity.ID, "aal1")
	}},
	{name: "Ory slow: Unavailable, the handler never runs", kind: totp, kitOnly: true, cfg: core.Config{Timeout: 200 * time.Millisecond}, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.kit().SetFault(orymfatest.Slow(time.Minute))
		e.unavailable(e.unary(AAL2, Call{Token: u.token}), "504")
	}},
	{name: "Ory failing or lying: Unavailable, then the same session passes", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.enroll(t, u, u.token)
		inactive := e.kit().Session(u.token)
		inactive.Active = new(bool) // false
		for _, fault := range []func(){
			func() { e.kit().SetFault(orymfatest.Status(500)) },
			func() { e.kit().SetFault(orymfatest.Malformed) },
			func() { e.kit().SetFault(orymfatest.Status(http.StatusNotFound)) },
			func() {
				e.kit().Respond(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, inactive) })
			},
			func() {
				e.kit().Respond(func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 403, map[string]any{"error": map[string]any{"id": "some_other_error", "code": 403}})
				})
			},
		} {
			fault()
			e.unavailable(e.unary(AAL2, Call{Token: u.token}), "502")
		}
		e.kit().ClearFault()
		e.allowed(e.unary(AAL2, Call{Token: u.token}), 1, e.ory.session(t, u.token).Identity.ID, "aal2")
	}},
	{name: "a panic in the HTTP client fails closed and the server keeps serving", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		id := e.ory.session(t, u.token).Identity.ID
		e.whoami.panics.Store(true)
		e.unavailable(e.unary(Session, Call{Token: u.token}), "502")
		e.unavailable(e.stream(Call{Token: u.token}), "502")
		e.whoami.panics.Store(false)
		e.allowed(e.unary(Session, Call{Token: u.token}), 1, id, "aal1")
	}},
}
