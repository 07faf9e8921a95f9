package conformance

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// scenario is one row of the table: the kind of project it needs, the verifier's settings,
// and what to do. kitOnly rows stage what Kratos cannot be made to do (Ory down, slow,
// failing, lying, a broken transport): they run against the kit alone.
type scenario struct {
	name    string
	kind    project
	kitOnly bool
	// needs, when set, says which adapters the row is for; the others skip it.
	needs func(Adapter) bool
	cfg   core.Config
	run   func(t *testing.T, e *env)
}

// Run runs every scenario against the adapter, each with a fresh app and verifier, against a
// real Kratos and against the test kit (only the kit under -short). Scenarios run one after
// another, on a Kratos set no other adapter uses meanwhile (see kratosSets); adapters may run
// in parallel. [SetupPanics] is apart: it sets the environment, which a parallel test cannot.
func Run(t *testing.T, a Adapter) {
	kratos := takeKratos(t)
	if a.FastHTTP != nil {
		t.Run("fasthttp", func(t *testing.T) { RunFastHTTP(t, a) })
	}
	for _, sc := range scenarios {
		for _, backend := range []string{"kratos", "kit"} {
			if backend == "kratos" && (sc.kitOnly || testing.Short()) {
				continue
			}
			t.Run(sc.name+"/"+backend, func(t *testing.T) {
				if sc.needs != nil && !sc.needs(a) {
					t.Skipf("not for %s", a.Name)
				}
				o, other := backends(t, kratos, backend, sc.kind)
				sc.run(t, newEnv(t, a, o, other, sc.cfg))
			})
		}
	}
}

// SetupPanics checks that without ORY_SDK_URL the adapter's zero-config constructors fail at
// setup, never first at request time, with a configuration error that names the setting.
func SetupPanics(t *testing.T, a Adapter) {
	t.Setenv(core.EnvSDKURL, "")
	for _, aal2 := range []bool{false, true} {
		func() {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, core.ErrConfig) || !strings.Contains(err.Error(), core.EnvSDKURL) {
					t.Errorf("aal2 %v: recovered %v, want a configuration error naming %s", aal2, err, core.EnvSDKURL)
				}
			}()
			a.ZeroConfig(aal2)
		}()
	}
}

// backends returns the scenario's Ory and another project's, for /two/aal2.
func backends(t *testing.T, kratos kratosSet, backend string, kind project) (oryBackend, oryBackend) {
	if backend == "kit" {
		return newKitBackend(t, kind), newKitBackend(t, totp)
	}
	other := codeMFA
	if kind == codeMFA {
		other = totp
	}
	return kratosBackend{kratos.kratosProject(t, kind), kind}, kratosBackend{kratos.kratosProject(t, other), other}
}

// kit is the scenario's test kit, for kitOnly rows.
func (e *env) kit() *orymfatest.Server { return e.ory.(kitBackend).srv }

var browser = true

const (
	challengeAAL2    = `Bearer error="insufficient_user_authentication", error_description="A second factor is required", acr_values="aal2"`
	challengeRefresh = `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", acr_values="aal2", max_age=300`
)

var scenarios = []scenario{
	{name: "anonymous browser goes to login and back to the same URL", kind: codeMFA, run: func(t *testing.T, e *env) {
		for _, path := range []string{"/session?tab=2&next=%2Fx", "/aal2", "/fresh", "/group/aal2"} {
			e.redirect(e.do(request{path: path, browser: browser}), e.loginURL("login", "", path))
		}
		e.calls(0, "no credentials")
	}},
	{name: "anonymous API request gets 401 session_inactive", kind: codeMFA, run: func(t *testing.T, e *env) {
		r := e.do(request{path: "/aal2"})
		e.oryError(r, 401, "session_inactive", e.loginURL("login", "", "/aal2"))
		if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Fatalf("WWW-Authenticate = %q, want Bearer", got)
		}
		e.calls(0, "no credentials")
	}},
	{name: "aal1 token of a user with a second factor steps up", kind: codeMFA, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		for _, path := range []string{"/session", "/aal2"} {
			// Ory's 403 means "step up", never "logged out": no plain login, no loop.
			r := e.do(request{path: path, token: u.token})
			e.oryError(r, 403, "session_aal2_required", e.loginURL("login", "aal=aal2", path))
			if got := r.header.Get("WWW-Authenticate"); got != challengeAAL2 {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
		}
		e.oryError(e.do(request{path: "/aal2", bearer: u.token}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/aal2"))
		// A session token means an API client, whatever its Accept header says.
		e.oryError(e.do(request{path: "/aal2", token: u.token, browser: browser}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/aal2"))
		e.oryError(e.do(request{path: "/aal2", bearer: u.token, accept: "text/html"}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/aal2"))

		e.ory.stepUp(t, u, u.token)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.do(request{path: "/aal2", token: u.token}), id, "aal2")
		e.allowed(e.do(request{path: "/session", bearer: u.token}), id, "aal2")
	}},
	{name: "aal1 browser session steps up and gets back in", kind: codeMFA, run: func(t *testing.T, e *env) {
		b := e.ory.newBrowser(t)
		aal1 := b.cookie(t)
		e.redirect(e.do(request{path: "/session", browser: browser, cookie: aal1}), e.loginURL("login", "aal=aal2", "/session"))
		e.redirect(e.do(request{path: "/aal2?amount=10", browser: browser, cookie: aal1}), e.loginURL("login", "aal=aal2", "/aal2?amount=10"))

		b.stepUp(t)
		aal2 := b.cookie(t)
		r := e.do(request{path: "/aal2?amount=10", browser: browser, cookie: "theme=dark; " + aal2 + "; app_csrf=secret"})
		if r.status != 200 || r.handler.AAL != "aal2" {
			t.Fatalf("after step-up: %d %s", r.status, r.body)
		}
		if got := e.whoami.lastCookie(); got != aal2 {
			t.Fatalf("Ory received Cookie %q, want only the Ory session cookie %q", got, aal2)
		}
	}},
	{name: "every credential form, the deny handler only on denial", kind: totp, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.enroll(t, u, u.token) // aal2 now
		id := e.ory.session(t, u.token).Identity.ID
		b := e.ory.newBrowser(t)
		b.enroll(t)
		c := b.cookie(t)
		for _, r := range []request{
			{path: "/aal2", token: u.token},
			{path: "/aal2", bearer: u.token},
			{path: "/custom/aal2", token: u.token}, // the deny handler is for denials only
		} {
			e.allowed(e.do(r), id, "aal2")
		}
		for _, r := range []request{
			{path: "/aal2", browser: browser, cookie: "app=1; " + c + "; theme=dark"},
			{path: "/aal2", browser: browser, cookies: []string{"app=1", c}}, // one header per cookie, as HTTP/2 sends them
		} {
			if got := e.do(r); got.status != 200 || got.handler.AAL != "aal2" || !got.handler.SameContext {
				t.Fatalf("cookie %v: %d %s", r, got.status, got.body)
			}
			if got := e.whoami.lastCookie(); got != c {
				t.Fatalf("Ory received Cookie %q, want only %q", got, c)
			}
		}
		e.ran.Store(0)
		aal1 := e.ory.signUp(t) // no second factor
		e.oryError(e.do(request{path: "/aal2", token: aal1.token}), 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
		if r := e.do(request{path: "/custom/aal2", token: aal1.token}); r.status != http.StatusTeapot || !strings.Contains(string(r.body), `"custom":"enroll"`) {
			t.Fatalf("deny handler: %d %s", r.status, r.body)
		}
		e.handlerDidNotRun()
	}},
	{name: "stacked guards ask Ory once per request", kind: codeMFA, cfg: core.Config{Cache: core.CacheConfig{Disabled: true}}, run: func(t *testing.T, e *env) {
		// Without a cache, only the session the first guard put in the context can spare the
		// second guard its own whoami call.
		u := e.ory.signUp(t)
		e.oryError(e.do(request{path: "/group/aal2", token: u.token}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/group/aal2"))
		e.calls(1, "denied stacked request")
		e.ory.stepUp(t, u, u.token)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.do(request{path: "/group/aal2", token: u.token}), id, "aal2")
		e.calls(1, "allowed stacked request")
		// The same with a browser's cookie, whose value changes with the step-up.
		b := e.ory.newBrowser(t)
		e.redirect(e.do(request{path: "/group/aal2", browser: browser, cookie: b.cookie(t)}), e.loginURL("login", "aal=aal2", "/group/aal2"))
		e.calls(1, "denied stacked browser request")
		b.stepUp(t)
		if r := e.do(request{path: "/group/aal2", browser: browser, cookie: b.cookie(t)}); r.status != 200 || r.handler.AAL != "aal2" || !r.handler.SameContext {
			t.Fatalf("stacked browser request after the step-up: %d %s", r.status, r.body)
		}
		e.calls(1, "allowed stacked browser request")
	}},
	{name: "stacked guards: a user without a second factor is sent to set one up, then gets through at once", kind: totp, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.do(request{path: "/session", token: u.token}), id, "aal1") // caches the aal1 session
		r := e.do(request{path: "/group/aal2", token: u.token})
		e.oryError(r, 403, "session_aal2_required", e.loginURL("settings", "", "/group/aal2"))
		if r.oryErr.Error.Details["setup_second_factor"] != true {
			t.Fatalf("details = %v, want setup_second_factor", r.oryErr.Error.Details)
		}
		e.ory.enroll(t, u, u.token) // the same token is aal2 now
		// The group's guard still finds the cached aal1 session; the route must ask Ory
		// before denying, and so lets the user in at once.
		e.whoami.calls.Store(0)
		e.allowed(e.do(request{path: "/group/aal2", token: u.token}), id, "aal2")
		e.calls(1, "stacked request after enrolling")
	}},
	{name: "stacked guards: a refreshed second factor gets through at once", kind: codeMFA, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.stepUp(t, u, u.token)
		s := e.ory.session(t, u.token)
		e.allowed(e.do(request{path: "/group/fresh", token: u.token}), s.Identity.ID, "aal2") // cached
		e.freezeClock(s.secondFactorAt().Add(maxAge + time.Millisecond))
		r := e.do(request{path: "/group/fresh", token: u.token})
		e.oryError(r, 403, "session_refresh_required", e.loginURL("login", "refresh=true&aal=aal2", "/group/fresh"))
		if got := r.header.Get("WWW-Authenticate"); got != challengeRefresh {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
		e.ory.refresh(t, u, u.token)
		// The clock goes on to just after the refresh, however fast the refresh was.
		e.freezeClock(e.ory.session(t, u.token).secondFactorAt().Add(time.Millisecond))
		e.allowed(e.do(request{path: "/group/fresh", token: u.token}), s.Identity.ID, "aal2")
	}},
	{name: "stacked guards of two Ory projects: the inner one asks its own", kind: totp, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t) // an aal2 session of this project only
		e.ory.enroll(t, u, u.token)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.do(request{path: "/aal2", token: u.token}), id, "aal2")
		e.oryError(e.do(request{path: "/two/aal2", token: u.token}), 401, "session_inactive",
			flowURL(e.other.url(), "login", "", e.base+"/two/aal2"))
		if n := e.otherWh.calls.Load(); n != 1 {
			t.Fatalf("the other project was asked %d times, want 1", n)
		}
	}},
	{name: "stale second factor must be refreshed, then passes", kind: codeMFA, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.stepUp(t, u, u.token)
		s := e.ory.session(t, u.token)
		e.allowed(e.do(request{path: "/fresh", token: u.token}), s.Identity.ID, "aal2")

		// Stop the clock just past the allowed age of this second factor.
		e.freezeClock(s.secondFactorAt().Add(maxAge + time.Millisecond))
		r := e.do(request{path: "/fresh", token: u.token})
		e.oryError(r, 403, "session_refresh_required", e.loginURL("login", "refresh=true&aal=aal2", "/fresh"))
		if got := r.header.Get("WWW-Authenticate"); got != challengeRefresh {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
		e.allowed(e.do(request{path: "/aal2", token: u.token}), s.Identity.ID, "aal2") // no max age there

		e.ory.refresh(t, u, u.token)
		refreshed := e.ory.session(t, u.token).secondFactorAt()
		if !refreshed.After(s.secondFactorAt()) {
			t.Fatal("Ory did not record a newer second factor after the refresh")
		}
		e.freezeClock(refreshed.Add(time.Millisecond)) // just after the refresh
		e.allowed(e.do(request{path: "/fresh", token: u.token}), s.Identity.ID, "aal2")
	}},
	{name: "user without a second factor is sent to set one up, then gets through", kind: totp, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		id := e.ory.session(t, u.token).Identity.ID
		e.allowed(e.do(request{path: "/session", token: u.token}), id, "aal1") // also caches the aal1 session
		r := e.do(request{path: "/aal2", token: u.token})
		e.oryError(r, 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
		if r.oryErr.Error.Details["setup_second_factor"] != true {
			t.Fatalf("details = %v, want setup_second_factor", r.oryErr.Error.Details)
		}

		e.ory.enroll(t, u, u.token)
		// The same token is aal2 now; the cached aal1 session must not deny it.
		e.allowed(e.do(request{path: "/aal2", token: u.token}), id, "aal2")

		// Signing in again: Strict Ory demands the TOTP code it now knows about.
		token2 := e.ory.login(t, u)
		e.oryError(e.do(request{path: "/session", token: token2}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/session"))
		e.ory.stepUp(t, u, token2)
		e.allowed(e.do(request{path: "/aal2", token: token2}), id, "aal2")
	}},
	{name: "browser without a second factor enrolls TOTP in settings and gets through", kind: totp, run: func(t *testing.T, e *env) {
		b := e.ory.newBrowser(t)
		aal1 := b.cookie(t)
		if r := e.do(request{path: "/session", browser: browser, cookie: aal1}); r.status != 200 || r.handler.AAL != "aal1" {
			t.Fatalf("aal1 session on RequireSession: %d %s", r.status, r.body)
		}
		e.ran.Store(0)
		e.redirect(e.do(request{path: "/aal2", browser: browser, cookie: aal1}), e.loginURL("settings", "", "/aal2"))
		b.enroll(t)
		if r := e.do(request{path: "/aal2", browser: browser, cookie: b.cookie(t)}); r.status != 200 || r.handler.AAL != "aal2" {
			t.Fatalf("after enrolling TOTP: %d %s", r.status, r.body)
		}
	}},
	{name: "Lax project, LaxStepUp: aal1 passes RequireSession, RequireAAL2 sends to the step-up", kind: lax, cfg: core.Config{Enforcement: core.LaxStepUp}, run: laxScenario("login", "aal=aal2")},
	{name: "Lax project, LaxEnroll: RequireAAL2 sends aal1 to settings", kind: lax, cfg: core.Config{Enforcement: core.LaxEnroll}, run: laxScenario("settings", "")},
	{name: "garbage, malformed and oversized credentials are a login, not an error", kind: codeMFA, run: func(t *testing.T, e *env) {
		e.redirect(e.do(request{path: "/session", browser: browser, cookie: "theme=dark; ory_kratos_session=garbage"}), e.loginURL("login", "", "/session"))
		if got := e.whoami.lastCookie(); got != "ory_kratos_session=garbage" {
			t.Fatalf("Ory received Cookie %q, want only the Ory session cookie", got)
		}
		e.calls(1, "an unknown cookie")
		e.redirect(e.do(request{path: "/session", browser: browser, cookie: `ory_kratos_session="not valid"; ory_kratos_session=a\b`}), e.loginURL("login", "", "/session"))
		e.oryError(e.do(request{path: "/session", token: strings.Repeat("x", 8<<10)}), 401, "session_inactive", e.loginURL("login", "", "/session"))
		e.calls(0, "malformed credentials")
	}},
	{name: "forced modes and the deny handler", kind: codeMFA, run: func(t *testing.T, e *env) {
		e.oryError(e.do(request{path: "/api/aal2", browser: browser}), 401, "session_inactive", e.loginURL("login", "", "/api/aal2"))
		e.redirect(e.do(request{path: "/browser/session"}), e.loginURL("login", "", "/browser/session"))
		r := e.do(request{path: "/custom/aal2"})
		if r.status != http.StatusTeapot || !strings.Contains(string(r.body), `"custom":"login"`) {
			t.Fatalf("deny handler not used: %d %s", r.status, r.body)
		}
		e.handlerDidNotRun()
		if r := e.do(request{path: "/public"}); r.status != 200 || r.handler.IdentityID != "" {
			t.Fatalf("/public: %d %s", r.status, r.body)
		}
	}},
	{name: "Ory down: 503, a page for browsers, the handler never runs", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		c := e.kit().Cookie(u.token)
		e.kit().SetFault(orymfatest.Down)
		e.unavailable(e.do(request{path: "/session", token: u.token}), 503)
		e.unavailable(e.do(request{path: "/session", token: u.token, browser: browser}), 503) // a token: JSON
		e.unavailablePage(e.do(request{path: "/aal2", browser: browser, cookie: c.Name + "=" + c.Value}), 503)
	}},
	{name: "Ory slow: 504 and the handler never runs", kind: totp, kitOnly: true, cfg: core.Config{Timeout: 200 * time.Millisecond}, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.kit().SetFault(orymfatest.Slow(time.Minute))
		e.unavailable(e.do(request{path: "/aal2", token: u.token}), 504)
	}},
	{name: "Ory failing or lying: 502 and the handler never runs", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.enroll(t, u, u.token)
		inactive := e.kit().Session(u.token)
		inactive.Active = new(bool) // false
		for _, fault := range []func(){
			func() { e.kit().SetFault(orymfatest.Status(500)) },
			func() { e.kit().SetFault(orymfatest.Malformed) },
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
			e.unavailable(e.do(request{path: "/aal2", token: u.token}), 502)
		}
	}},
	{name: "a panic in the HTTP client fails closed and the app keeps serving", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		id := e.ory.session(t, u.token).Identity.ID
		e.whoami.panics.Store(true)
		e.unavailable(e.do(request{path: "/session", token: u.token}), 502)
		e.whoami.panics.Store(false)
		e.allowed(e.do(request{path: "/session", token: u.token}), id, "aal1")
	}},
	{name: "a redirect from Ory is not followed", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		var elsewhere atomic.Int64
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			elsewhere.Add(1)
			writeJSON(w, 200, e.kit().Session(u.token))
		}))
		t.Cleanup(evil.Close)
		e.kit().Respond(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, evil.URL+"/sessions/whoami", http.StatusTemporaryRedirect)
		})
		e.unavailable(e.do(request{path: "/session", token: u.token}), 502)
		if n := elsewhere.Load(); n != 0 {
			t.Fatalf("the session token was sent to the redirect's target %d times", n)
		}
	}},
}

// laxScenario: on a Lax project whoami says 200 aal1 even for a user with a second factor;
// RequireSession lets such a session in, RequireAAL2 enforces aal2 locally and sends the user
// where the app's Enforcement says; after the step-up the same token passes.
func laxScenario(flow, query string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		u := e.ory.signUp(t)
		e.ory.enroll(t, u, u.token)
		token := e.ory.login(t, u) // the password only: aal1, although the user has TOTP
		id := e.ory.session(t, token).Identity.ID
		e.allowed(e.do(request{path: "/session", token: token}), id, "aal1")
		e.oryError(e.do(request{path: "/aal2", token: token}), 403, "session_aal2_required", e.loginURL(flow, query, "/aal2"))
		e.ory.stepUp(t, u, token)
		e.allowed(e.do(request{path: "/aal2", token: token}), id, "aal2")
	}
}
