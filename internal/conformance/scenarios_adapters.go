package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// The rows every adapter once repeated in its own tests: the accessors and the request's
// context, a deny handler that calls the framework's "next", the credential order, the
// forwarded headers, a deadline on the request, and many users at once.
func init() {
	scenarios = append(scenarios,
		scenario{name: "a session put into the request's context: the accessor finds it, a guard does not trust it", kind: codeMFA, run: func(t *testing.T, e *env) {
			// As a handler unit test (orymfatest.WithSession, core.ContextWithSession) or a guard
			// outside the framework leaves it: the accessor and the context hold the same session.
			inCtx := http.Header{"X-Context-Session": {"1"}}
			e.allowed(e.do(request{path: "/public", header: inCtx}), contextSession.Identity.Id, "aal2")
			if r := e.do(request{path: "/public"}); r.status != 200 || r.handler.IdentityID != "" {
				t.Fatalf("/public without a session: %d %s", r.status, r.body)
			}
			e.ran.Store(0)
			// A guard asks Ory about the request's own credential: this one is unknown.
			e.oryError(e.do(request{path: "/session", header: inCtx, token: "ory_st_unknown"}), 401, "session_inactive", e.loginURL("login", "", "/session"))
			e.calls(1, "a session only the context carries")
		}},
		scenario{name: "a deny handler that calls the framework's next runs nothing, and WriteDecision writes the core's answer", kind: codeMFA, run: func(t *testing.T, e *env) {
			// gin's and fiber's deny handlers can reach c.Next(); the chain must be stopped
			// before they run. WriteDecision writes the core's bytes, past any error handler.
			u := e.ory.signUp(t)
			r := e.do(request{path: "/next/aal2?amount=10", token: u.token})
			e.oryError(r, 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/next/aal2?amount=10"))
			if strings.Contains(string(r.body), `\u0026`) || r.header.Get("WWW-Authenticate") != challengeAAL2 {
				t.Fatalf("not the core's answer: %s, WWW-Authenticate %q", r.body, r.header.Get("WWW-Authenticate"))
			}
			e.redirect(e.do(request{path: "/next/aal2", browser: browser}), e.loginURL("login", "", "/next/aal2"))
			e.oryError(e.do(request{path: "/next/aal2"}), 401, "session_inactive", e.loginURL("login", "", "/next/aal2"))
			if errs := e.appErrors(); len(errs) != 0 {
				t.Fatalf("WriteDecision's answer went through the error handler too: %v", errs[0].err)
			}
		}},
		scenario{name: "X-Session-Token wins over the cookie, the cookie over Bearer, as in Kratos", kind: totp, run: func(t *testing.T, e *env) {
			// Kratos v1.3.1 reads X-Session-Token, then its cookie, then Bearer (internal/faithful
			// compares it): the guard must verify the session Ory itself would pick.
			u := e.ory.signUp(t)
			e.ory.enroll(t, u, u.token) // aal2
			id := e.ory.session(t, u.token).Identity.ID
			aal1 := e.ory.newBrowser(t).cookie(t) // another user, aal1 without a second factor
			e.allowed(e.do(request{path: "/aal2", token: u.token, cookie: aal1}), id, "aal2")
			if got := e.whoami.lastCookie(); got != "" {
				t.Fatalf("Ory received the cookie %q beside the token", got)
			}
			r := e.do(request{path: "/session", bearer: u.token, cookie: aal1})
			if r.status != 200 || r.handler.AAL != "aal1" || r.handler.IdentityID == id {
				t.Fatalf("Bearer of %s and another user's aal1 cookie: %d %s, want the cookie's user", id, r.status, r.body)
			}
			if got := e.whoami.lastCookie(); got != aal1 {
				t.Fatalf("Ory received Cookie %q, want the Ory cookie %q", got, aal1)
			}
			e.ran.Store(0)
			e.oryError(e.do(request{path: "/aal2", bearer: u.token, cookie: aal1}), 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
			// The bearer token still says an API client is asking: JSON, whatever it accepts.
			e.oryError(e.do(request{path: "/aal2", bearer: u.token, cookie: aal1, browser: browser}), 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
			// Without an Ory cookie (the app's own cookies only), Bearer is the credential.
			e.allowed(e.do(request{path: "/aal2", bearer: u.token, cookie: "theme=dark"}), id, "aal2")
		}},
		scenario{name: "a stale Ory cookie before the valid one: both go to Ory, which reads the valid one", kind: totp, run: func(t *testing.T, e *env) {
			// A browser may hold two cookies of the name (another path or domain); the guard
			// cannot decode them and forwards both, in order, as Kratos wants them.
			c := e.ory.newBrowser(t).cookie(t)
			for _, r := range []request{
				{path: "/session", browser: browser, cookie: "ory_kratos_session=garbage; theme=dark; " + c},
				{path: "/session", browser: browser, cookies: []string{"ory_kratos_session=garbage", c}},
			} {
				if got := e.do(r); got.status != 200 || got.handler.AAL != "aal1" {
					t.Fatalf("%q: %d %s, want the valid cookie's session", r.cookie+strings.Join(r.cookies, " | "), got.status, got.body)
				}
				if got := e.whoami.lastCookie(); got != "ory_kratos_session=garbage; "+c {
					t.Fatalf("Ory received Cookie %q, want both Ory cookies", got)
				}
			}
		}},
		scenario{name: "a form's POST that must step up comes back to the form's page, not to the POST's URL", kind: codeMFA, run: func(t *testing.T, e *env) {
			// The browser comes back from Ory with a GET, which the POST-only route would answer
			// with 405 or 404 (and the POST is not replayed): return_to is the page the form was
			// on (a same-origin Referer), else the app's root, never a foreign page.
			b := e.ory.newBrowser(t)
			aal1 := b.cookie(t)
			form := http.Header{"Referer": {e.base + "/form?to=bob"}}
			post := request{method: http.MethodPost, path: "/aal2?amount=10", browser: browser, cookie: aal1, header: form}
			e.redirect(e.do(post), e.loginURL("login", "aal=aal2", "/form?to=bob"))
			post.header = nil
			e.redirect(e.do(post), e.loginURL("login", "aal=aal2", "/"))
			post.header = http.Header{"Referer": {"http://evil.example/form"}}
			e.redirect(e.do(post), e.loginURL("login", "aal=aal2", "/"))
			// A front end's fetch (JSON) gets the same place to send the browser.
			u := e.ory.signUp(t)
			e.oryError(e.do(request{method: http.MethodPost, path: "/aal2", token: u.token, header: form}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/form?to=bob"))
			// A GET still comes back to itself.
			e.redirect(e.do(request{path: "/aal2?amount=10", browser: browser, cookie: aal1, header: form}), e.loginURL("login", "aal=aal2", "/aal2?amount=10"))
			// Once stepped up, the form's POST goes through.
			b.stepUp(t)
			post = request{method: http.MethodPost, path: "/aal2", browser: browser, cookie: b.cookie(t), header: form}
			if r := e.do(post); r.status != 200 || r.handler.AAL != "aal2" {
				t.Fatalf("POST after the step-up: %d %s", r.status, r.body)
			}
		}},
		scenario{name: "a denial's headers replace what earlier middleware set", kind: codeMFA, run: func(t *testing.T, e *env) {
			// A denial must not go out cacheable, whatever the app marked before the guard.
			cacheable := http.Header{"X-Cacheable": {"1"}}
			r := e.do(request{path: "/session", header: cacheable})
			e.oryError(r, 401, "session_inactive", e.loginURL("login", "", "/session"))
			if got := r.header.Values("Cache-Control"); len(got) != 1 {
				t.Fatalf("Cache-Control %q, want only no-store", got)
			}
			r = e.do(request{path: "/session", browser: browser, header: cacheable})
			e.redirect(r, e.loginURL("login", "", "/session"))
			if got := r.header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
				t.Fatalf("redirect with Cache-Control %q, want only no-store", got)
			}
		}},
		// For the frameworks whose middleware take a skip function (echo's Skipper, fiber's Next).
		scenario{name: "a skipped request is not guarded, the others are", kind: codeMFA, needs: func(a Adapter) bool { return a.Skips }, run: func(t *testing.T, e *env) {
			skip, noSkip := http.Header{"X-Skip": {"1"}}, http.Header{"X-Skip": {"0"}}
			u := e.ory.signUp(t) // aal1: a guard would refuse it
			for _, path := range []string{"/skip/aal2", "/skip/custom/aal2"} {
				if r := e.do(request{path: path, token: u.token, header: skip}); r.status != 200 || r.handler.Handler != "ran" || r.handler.IdentityID != "" {
					t.Fatalf("%s skipped: %d %s, want the handler without a session", path, r.status, r.body)
				}
				e.calls(0, "a skipped request")
				e.ran.Store(0)
			}
			e.oryError(e.do(request{path: "/skip/aal2", token: u.token, header: noSkip}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/skip/aal2"))
			if r := e.do(request{path: "/skip/custom/aal2", header: noSkip}); r.status != http.StatusTeapot || !strings.Contains(string(r.body), `"custom":"login"`) {
				t.Fatalf("deny handler beside the skipper: %d %s", r.status, r.body)
			}
			e.handlerDidNotRun()
		}},
		// For the frameworks whose API denials flow through a central error handler (echo).
		scenario{name: "API denials reach the app's error handler with the decision, browser answers do not", kind: totp, kitOnly: true,
			needs: func(a Adapter) bool { return a.DeniesWithErrors }, run: errorHandlerScenario},
		// For the frameworks with a central error handler (echo's, fiber's).
		scenario{name: "a deny handler's error reaches the framework's error handler", kind: codeMFA,
			needs: func(a Adapter) bool { return a.ErrorHandler }, run: func(t *testing.T, e *env) {
				r := e.do(request{path: "/errors/custom/aal2", token: "ory_st_unknown"})
				errs := e.appErrors()
				e.handlerDidNotRun()
				if r.status != http.StatusUnavailableForLegalReasons || string(r.body) != "handled" || len(errs) != 1 {
					t.Fatalf("%d %s with %d errors, want the error handler's 451", r.status, r.body, len(errs))
				}
				if !errors.Is(errs[0].err, errDeniedByApp) || !errors.Is(errs[0].err, core.ErrNoSession) {
					t.Fatalf("the error handler got %v, want the deny handler's error wrapping ErrNoSession", errs[0].err)
				}
			}},
		// For the frameworks that run net/http middleware inside (echo.WrapMiddleware) or
		// behind one around the app.
		scenario{name: "a session a net/http guard verified is reused by the framework's guard", kind: codeMFA, cfg: core.Config{Cache: core.CacheConfig{Disabled: true}},
			needs: func(a Adapter) bool { return a.WrapsNetHTTP }, run: func(t *testing.T, e *env) {
				u := e.ory.signUp(t)
				e.ory.stepUp(t, u, u.token)
				id := e.ory.session(t, u.token).Identity.ID
				for _, path := range []string{"/outer/session", "/around/session"} {
					e.allowed(e.do(request{path: path, token: u.token}), id, "aal2")
					e.calls(1, path) // without a cache: only the net/http guard asked
				}
			}},
		forwardedScenario(false),
		forwardedScenario(true),
		scenario{name: "a deadline on the request's context ends the wait for Ory: 504", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.kit().SetFault(orymfatest.Slow(time.Minute))
			start := time.Now()
			e.unavailable(e.do(request{path: "/aal2", token: u.token, header: http.Header{"X-Deadline": {"20ms"}}}), 504)
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v: the deadline did not end the wait", d)
			}
		}},
		concurrentScenario(core.CacheConfig{}),
		concurrentScenario(core.CacheConfig{Disabled: true}),
	)
}

// forwardedScenario: X-Forwarded-Host and -Proto make return_to's origin only when the
// verifier trusts them, with and without a Cookie header (fiber reads the headers differently
// with one).
func forwardedScenario(trusted bool) scenario {
	return scenario{name: fmt.Sprintf("X-Forwarded-* with TrustForwardedHeaders %v", trusted), kind: codeMFA, cfg: core.Config{TrustForwardedHeaders: trusted}, run: func(t *testing.T, e *env) {
		fwd := http.Header{"X-Forwarded-Host": {"app.example"}, "X-Forwarded-Proto": {"https"}}
		want := e.loginURL("login", "", "/session?q=1")
		if trusted {
			want = flowURL(e.ory.url(), "login", "", "https://app.example/session?q=1")
		}
		e.redirect(e.do(request{path: "/session?q=1", browser: browser, header: fwd}), want)
		e.redirect(e.do(request{path: "/session?q=1", browser: browser, header: fwd, cookie: "theme=dark"}), want)
	}}
}

// concurrentScenario: many users at once, by session token, bearer and cookie, each see their
// own identity, and requests that no guard checks see none (echo v5 and fiber pool their
// contexts, fasthttp its buffers: nothing of one request may reach another).
func concurrentScenario(cache core.CacheConfig) scenario {
	return scenario{name: fmt.Sprintf("concurrent users each see their own identity (cache disabled %v)", cache.Disabled), kind: codeMFA, kitOnly: true, cfg: core.Config{Cache: cache}, run: func(t *testing.T, e *env) {
		type user struct {
			id  string
			req request
		}
		var users []user
		for i := range 16 {
			u := e.ory.signUp(t)
			e.ory.stepUp(t, u, u.token)
			r := request{path: "/group/aal2", token: u.token}
			switch i % 3 {
			case 1:
				r = request{path: "/group/aal2", bearer: u.token}
			case 2:
				c := e.kit().Cookie(u.token)
				r = request{path: "/group/aal2", browser: browser, cookie: "theme=dark; " + c.Name + "=" + c.Value}
			}
			users = append(users, user{u.kit.ID, r})
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for _, u := range users {
			for range 3 {
				wg.Go(func() {
					for j := range 12 {
						req, want := u.req, u.id
						if j%3 == 0 {
							req.path, want = "/public", ""
						}
						r, err := e.get(req)
						if err == nil && (r.status != 200 || r.handler.IdentityID != want || want != "" && !r.handler.SameContext) {
							err = fmt.Errorf("%s as %s: %d %s", req.path, u.id, r.status, r.body)
						}
						if err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
							return
						}
					}
				})
			}
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}}
}

// errorHandlerScenario: where API denials flow through the framework's central error handler
// (echo's HTTPErrorHandler), the app's handler gets an error with the decision's status,
// recognisable by the sentinels (errors.Is) and carrying the decision (errors.As on the
// adapter's DeniedError), and renders it its own way (here HTML) with the denial's other
// headers set beforehand. A browser's answer (a redirect, the error page) is written by the
// guard itself and never reaches the handler.
func errorHandlerScenario(t *testing.T, e *env) {
	kit := e.kit()
	for _, tt := range []struct {
		name     string
		req      func() request
		down     bool
		status   int
		sentinel error // nil: a browser answer that must not reach the error handler
		outcome  core.Outcome
	}{
		{name: "no session", req: func() request { return request{path: "/errors/session"} },
			status: 401, sentinel: core.ErrNoSession, outcome: core.Login},
		{name: "step-up", req: func() request {
			return request{path: "/errors/aal2", token: kit.SignIn(kit.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)}
		}, status: 403, sentinel: core.ErrAAL2Required, outcome: core.StepUp},
		{name: "enroll", req: func() request {
			return request{path: "/errors/aal2", token: kit.SignIn(kit.NewIdentity(), orymfatest.AAL1)}
		},
			status: 403, sentinel: core.ErrNoSecondFactor, outcome: core.Enroll},
		{name: "Ory down", down: true, req: func() request {
			return request{path: "/errors/session", token: kit.SignIn(kit.NewIdentity(), orymfatest.AAL1)}
		},
			status: 503, sentinel: core.ErrUnavailable, outcome: core.Unavailable},
		{name: "browser redirect", req: func() request { return request{path: "/errors/session", browser: browser} }, status: 303},
		{name: "browser error page", down: true, req: func() request {
			c := kit.Cookie(kit.SignIn(kit.NewIdentity(), orymfatest.AAL1))
			return request{path: "/errors/session", browser: browser, cookie: c.Name + "=" + c.Value}
		}, status: 503},
	} {
		req := tt.req()
		kit.ClearFault()
		if tt.down {
			kit.SetFault(orymfatest.Down)
		}
		r := e.do(req)
		errs := e.appErrors()
		e.handlerDidNotRun()
		if r.status != tt.status {
			t.Fatalf("%s: status %d, want %d; body %s", tt.name, r.status, tt.status, r.body)
		}
		if tt.sentinel == nil {
			if len(errs) != 0 {
				t.Fatalf("%s: the error handler got %v", tt.name, errs[0].err)
			}
			if r.status == http.StatusSeeOther {
				if !strings.Contains(r.location, "/self-service/login/browser?return_to=") {
					t.Errorf("%s: Location %q", tt.name, r.location)
				}
				continue
			}
			e.unavailablePage(r, 503)
			continue
		}
		if len(errs) != 1 {
			t.Fatalf("%s: the error handler got %d errors, want 1", tt.name, len(errs))
		}
		got := errs[0]
		if got.status != tt.status || !errors.Is(got.err, tt.sentinel) || got.d == nil || got.d.Outcome != tt.outcome {
			t.Fatalf("%s: the error handler got %v with status %d and decision %+v; want %d, %v, outcome %v", tt.name, got.err, got.status, got.d, tt.status, tt.sentinel, tt.outcome)
		}
		if strings.Contains(got.err.Error(), "[123") {
			t.Errorf("%s: Error() prints the body as bytes: %s", tt.name, got.err)
		}
		// The app rendered HTML: the core's JSON Content-Type must not have been preset, but
		// the other headers are.
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.body), "continue") {
			t.Errorf("%s: Content-Type %q, body %s; want the error handler's page", tt.name, ct, r.body)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.name, r.header.Get("Cache-Control"))
		}
		if tt.outcome == core.Unavailable {
			if r.header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", tt.name)
			}
			continue
		}
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tt.name)
		}
		if !strings.Contains(string(r.body), "/self-service/") {
			t.Errorf("%s: body %s", tt.name, r.body)
		}
	}
}
